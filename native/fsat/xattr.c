// Extended attributes by path, for both sides: the producer lists a source entry's
// (follow 0: a final symlink is the entry itself), the applier lists and sets a replica
// entry's through /proc/self/fd/N of the fd it holds (follow 1: that magic link leads to
// exactly the inode of the fd, O_PATH fds and symlinks included). Which names travel and
// what a refusal means is decided in TypeScript.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "../shared/napi-args.h"
#include "xattr.h"

/* Most entries have few, short attributes: a stack buffer first, the kernel's maximum on ERANGE. */
#define SMALL_BUFFER 1024
#define LARGE_BUFFER (XATTR_SIZE_MAX > XATTR_LIST_MAX ? XATTR_SIZE_MAX : XATTR_LIST_MAX)

/* Fills *out (the stack buffer, or a heap one the caller frees) by `read`; returns the length or -1. */
static ssize_t read_sized(char *small, char **out, ssize_t (*read)(void *ctx, char *, size_t), void *ctx) {
  *out = small;
  ssize_t got = read(ctx, small, SMALL_BUFFER);
  if (got >= 0 || errno != ERANGE) return got;
  char *big = malloc(LARGE_BUFFER);
  if (big == NULL) {
    errno = ENOMEM;
    return -1;
  }
  *out = big;
  return read(ctx, big, LARGE_BUFFER);
}

typedef struct {
  const char *path;
  const char *name;
  int follow;
} target;

static ssize_t list_into(void *ctx, char *buffer, size_t size) {
  target *t = ctx;
  return t->follow ? listxattr(t->path, buffer, size) : llistxattr(t->path, buffer, size);
}

static ssize_t get_into(void *ctx, char *buffer, size_t size) {
  target *t = ctx;
  return t->follow ? getxattr(t->path, t->name, buffer, size) : lgetxattr(t->path, t->name, buffer, size);
}

static void release(char *buffer, char *small) {
  if (buffer != small) free(buffer);
}

// xattrs(path, follow) -> [[name: Buffer, value: Buffer], ...]: every attribute the caller may list.
// An attribute removed between the listing and its read is left out.
napi_value js_xattrs(napi_env env, napi_callback_info info) {
  char path[NAME_CAP];
  int32_t follow;
  if (!get_args(env, info, "ni", path, &follow)) return NULL;
  target t = {path, NULL, follow};
  char small_list[SMALL_BUFFER], small_value[SMALL_BUFFER];
  char *names;
  ssize_t length = read_sized(small_list, &names, list_into, &t);
  if (length < 0) return throw_errno(env, errno, "listxattr", path);
  napi_value list;
  if (napi_create_array(env, &list) != napi_ok) {
    release(names, small_list);
    return NULL;
  }
  uint32_t count = 0;
  for (ssize_t at = 0; at < length; at += (ssize_t)strlen(names + at) + 1) {
    t.name = names + at;
    char *value;
    ssize_t size = read_sized(small_value, &value, get_into, &t);
    if (size < 0) {
      int err = errno;
      release(value, small_value);
      if (err == ENODATA) continue;
      release(names, small_list);
      return throw_errno(env, err, "getxattr", path);
    }
    napi_value pair, name_buffer, value_buffer;
    napi_create_array_with_length(env, 2, &pair);
    napi_create_buffer_copy(env, strlen(t.name), t.name, NULL, &name_buffer);
    napi_create_buffer_copy(env, (size_t)size, value, NULL, &value_buffer);
    release(value, small_value);
    napi_set_element(env, pair, 0, name_buffer);
    napi_set_element(env, pair, 1, value_buffer);
    napi_set_element(env, list, count++, pair);
  }
  release(names, small_list);
  return list;
}

// setxattr(path, name, value: Buffer, follow)
napi_value js_setxattr(napi_env env, napi_callback_info info) {
  char path[NAME_CAP], name[NAME_CAP];
  napi_value value;
  int32_t follow;
  if (!get_args(env, info, "nnvi", path, name, &value, &follow)) return NULL;
  void *data;
  size_t size;
  if (napi_get_buffer_info(env, value, &data, &size) != napi_ok) return throw_type(env, "expected a Buffer");
  int rc = follow ? setxattr(path, name, data, size, 0) : lsetxattr(path, name, data, size, 0);
  if (rc != 0) return throw_errno(env, errno, "setxattr", path);
  return undefined_value(env);
}

// removexattr(path, name, follow)
napi_value js_removexattr(napi_env env, napi_callback_info info) {
  char path[NAME_CAP], name[NAME_CAP];
  int32_t follow;
  if (!get_args(env, info, "nni", path, name, &follow)) return NULL;
  int rc = follow ? removexattr(path, name) : lremovexattr(path, name);
  if (rc != 0) return throw_errno(env, errno, "removexattr", path);
  return undefined_value(env);
}
