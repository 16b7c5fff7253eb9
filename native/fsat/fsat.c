// fsat: fd-relative file operations for the applier (openat, openat2, mkdirat, renameat2,
// unlinkat, symlinkat, linkat, statx, fchmod, fchown, futimens, utimensat, getdents,
// copy_file_range; extended attributes in xattr.c; a whole small-file write on libuv's
// pool in write-async.c). Node's fs resolves every path string from scratch and follows
// intermediate symlinks; these calls resolve a name relative to a directory fd the caller
// holds, so nothing in between can be swapped. Only syscalls live here: which flags, which
// checks and what to do about an error is decided in TypeScript (services/shared/native/fsat.ts).
//
// Every function is synchronous and throws an Error shaped like Node's own
// (code 'ENOENT', errno, syscall, path) so callers handle both alike.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../shared/napi-args.h"
#include "write-async.h"
#include "xattr.h"

/* undefined, or the error of the call that returned `rc` (nonzero: failed, errno set). */
static napi_value void_result(napi_env env, long rc, const char *syscall, const char *name) {
  if (rc != 0) return throw_errno(env, errno, syscall, name);
  return undefined_value(env);
}

// openat(dirfd, name, flags, mode) -> fd
static napi_value js_openat(napi_env env, napi_callback_info info) {
  int32_t dirfd, flags, mode;
  char name[NAME_CAP];
  if (!get_args(env, info, "inii", &dirfd, name, &flags, &mode)) return NULL;
  int fd = openat(dirfd, name, flags | O_CLOEXEC, (mode_t)mode);
  if (fd < 0) return throw_errno(env, errno, "openat", name);
  return int_value(env, fd);
}

// openat2(dirfd, path, flags, mode, resolve) -> fd
static napi_value js_openat2(napi_env env, napi_callback_info info) {
  int32_t dirfd, flags, mode, resolve;
  char name[NAME_CAP];
  if (!get_args(env, info, "iniii", &dirfd, name, &flags, &mode, &resolve)) return NULL;
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)(uint32_t)(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | __O_TMPFILE)) ? (uint64_t)mode : 0;
  how.resolve = (uint64_t)(uint32_t)resolve;
  long fd;
  do fd = syscall(SYS_openat2, dirfd, name, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  if (fd < 0) return throw_errno(env, errno, "openat2", name);
  return int_value(env, fd);
}

// mkdirat(dirfd, name, mode)
static napi_value js_mkdirat(napi_env env, napi_callback_info info) {
  int32_t dirfd, mode;
  char name[NAME_CAP];
  if (!get_args(env, info, "ini", &dirfd, name, &mode)) return NULL;
  return void_result(env, mkdirat(dirfd, name, (mode_t)mode), "mkdirat", name);
}

// unlinkat(dirfd, name, flags)
static napi_value js_unlinkat(napi_env env, napi_callback_info info) {
  int32_t dirfd, flags;
  char name[NAME_CAP];
  if (!get_args(env, info, "ini", &dirfd, name, &flags)) return NULL;
  return void_result(env, unlinkat(dirfd, name, flags), "unlinkat", name);
}

// renameat2(olddirfd, oldname, newdirfd, newname, flags)
static napi_value js_renameat(napi_env env, napi_callback_info info) {
  int32_t olddir, newdir, flags;
  char oldname[NAME_CAP], newname[NAME_CAP];
  if (!get_args(env, info, "inini", &olddir, oldname, &newdir, newname, &flags)) return NULL;
  long rc = flags == 0 ? renameat(olddir, oldname, newdir, newname)
                       : syscall(SYS_renameat2, olddir, oldname, newdir, newname, (unsigned)flags);
  return void_result(env, rc, "renameat", newname);
}

// symlinkat(target, dirfd, name)
static napi_value js_symlinkat(napi_env env, napi_callback_info info) {
  int32_t dirfd;
  char target[NAME_CAP], name[NAME_CAP];
  if (!get_args(env, info, "nin", target, &dirfd, name)) return NULL;
  return void_result(env, symlinkat(target, dirfd, name), "symlinkat", name);
}

// linkat(olddirfd, oldname, newdirfd, newname, flags)
static napi_value js_linkat(napi_env env, napi_callback_info info) {
  int32_t olddir, newdir, flags;
  char oldname[NAME_CAP], newname[NAME_CAP];
  if (!get_args(env, info, "inini", &olddir, oldname, &newdir, newname, &flags)) return NULL;
  return void_result(env, linkat(olddir, oldname, newdir, newname, flags), "linkat", newname);
}

static void set_number(napi_env env, napi_value object, const char *key, double number) {
  napi_value value;
  napi_create_double(env, number, &value);
  napi_set_named_property(env, object, key, value);
}

static void set_bigint(napi_env env, napi_value object, const char *key, uint64_t number) {
  napi_value value;
  napi_create_bigint_uint64(env, number, &value);
  napi_set_named_property(env, object, key, value);
}

static void set_time(napi_env env, napi_value object, const char *key, struct statx_timestamp ts) {
  napi_value value;
  napi_create_bigint_int64(env, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, &value);
  napi_set_named_property(env, object, key, value);
}

// statx(dirfd, name, flags) -> { mode, nlink, uid, gid, size, dev, ino, mntId, atimeNs, mtimeNs, ctimeNs }
static napi_value js_stat(napi_env env, napi_callback_info info) {
  int32_t dirfd, flags;
  char name[NAME_CAP];
  if (!get_args(env, info, "ini", &dirfd, name, &flags)) return NULL;
  struct statx st;
  if (statx(dirfd, name, flags, STATX_BASIC_STATS | STATX_MNT_ID, &st) != 0)
    return throw_errno(env, errno, "statx", name);
  napi_value result;
  CHECK(env, napi_create_object(env, &result));
  set_number(env, result, "mode", st.stx_mode);
  set_number(env, result, "nlink", st.stx_nlink);
  set_number(env, result, "uid", st.stx_uid);
  set_number(env, result, "gid", st.stx_gid);
  set_number(env, result, "size", (double)st.stx_size);
  set_number(env, result, "dev", (double)st.stx_dev_major * 1048576.0 + st.stx_dev_minor);
  set_bigint(env, result, "ino", st.stx_ino);
  set_bigint(env, result, "mntId", (st.stx_mask & STATX_MNT_ID) ? st.stx_mnt_id : 0);
  set_time(env, result, "atimeNs", st.stx_atime);
  set_time(env, result, "mtimeNs", st.stx_mtime);
  set_time(env, result, "ctimeNs", st.stx_ctime);
  return result;
}

/** "/proc/self/fd/N": reaches exactly the inode an O_PATH fd holds (fchmod/futimens refuse those fds). */
static void proc_fd_path(char *out, size_t size, int fd) { snprintf(out, size, "/proc/self/fd/%d", fd); }

// fchmod(fd, mode); also for O_PATH fds (through /proc/self/fd)
static napi_value js_fchmod(napi_env env, napi_callback_info info) {
  int32_t fd, mode;
  if (!get_args(env, info, "ii", &fd, &mode)) return NULL;
  if (fchmod(fd, (mode_t)mode) == 0) return undefined_value(env);
  if (errno != EBADF) return throw_errno(env, errno, "fchmod", NULL);
  char path[64];
  proc_fd_path(path, sizeof path, fd);
  return void_result(env, chmod(path, (mode_t)mode), "fchmod", NULL);
}

// fchown(fd, uid, gid); O_PATH fds too (AT_EMPTY_PATH)
static napi_value js_fchown(napi_env env, napi_callback_info info) {
  int32_t fd, uid, gid;
  if (!get_args(env, info, "iii", &fd, &uid, &gid)) return NULL;
  return void_result(env, fchownat(fd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW), "fchown",
                     NULL);
}

// futimens(fd, atimeNs, mtimeNs) with bigint nanoseconds; O_PATH fds too (through /proc/self/fd)
static napi_value js_futimens(napi_env env, napi_callback_info info) {
  int32_t fd;
  struct timespec times[2];
  if (!get_args(env, info, "itt", &fd, &times[0], &times[1])) return NULL;
  if (futimens(fd, times) == 0) return undefined_value(env);
  if (errno != EBADF) return throw_errno(env, errno, "futimens", NULL);
  char path[64];
  proc_fd_path(path, sizeof path, fd);
  return void_result(env, utimensat(AT_FDCWD, path, times, 0), "futimens", NULL);
}

// utimensat(dirfd, name, atimeNs, mtimeNs, flags): for symlinks (AT_SYMLINK_NOFOLLOW)
static napi_value js_utimensat(napi_env env, napi_callback_info info) {
  int32_t dirfd, flags;
  char name[NAME_CAP];
  struct timespec times[2];
  if (!get_args(env, info, "intti", &dirfd, name, &times[0], &times[1], &flags)) return NULL;
  return void_result(env, utimensat(dirfd, name, times, flags), "utimensat", name);
}

// readdir(dirfd) -> [{ name: Buffer, type: d_type }], '.' and '..' left out. dirfd may be O_PATH.
static napi_value js_readdir(napi_env env, napi_callback_info info) {
  int32_t dirfd;
  if (!get_args(env, info, "i", &dirfd)) return NULL;
  int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "readdir", NULL);
  DIR *dir = fdopendir(fd);
  if (dir == NULL) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "readdir", NULL);
  }
  napi_value list;
  if (napi_create_array(env, &list) != napi_ok) {
    closedir(dir);
    return NULL;
  }
  uint32_t count = 0;
  for (;;) {
    errno = 0;
    struct dirent *entry = readdir(dir);
    if (entry == NULL) break;
    const char *n = entry->d_name;
    if (n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'))) continue;
    napi_value item, name, type;
    napi_create_object(env, &item);
    napi_create_buffer_copy(env, strlen(n), n, NULL, &name);
    napi_create_uint32(env, entry->d_type, &type);
    napi_set_named_property(env, item, "name", name);
    napi_set_named_property(env, item, "type", type);
    napi_set_element(env, list, count++, item);
  }
  int err = errno;
  closedir(dir);
  if (err != 0) return throw_errno(env, err, "readdir", NULL);
  return list;
}

// copyFileRange(fdIn, fdOut, length) -> bytes copied (stops early at end of input).
// copy_file_range first (may reflink), read/write where the kernel cannot.
static napi_value js_copy_file_range(napi_env env, napi_callback_info info) {
  int32_t in, out;
  int64_t length;
  if (!get_args(env, info, "iil", &in, &out, &length)) return NULL;
  if (length < 0) return throw_type(env, "fsat: bad length");
  int64_t done = 0;
  int fallback = 0;
  while (done < length && !fallback) {
    ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)(length - done), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP || errno == EPERM) {
        fallback = 1;
        break;
      }
      return throw_errno(env, errno, "copy_file_range", NULL);
    }
    if (n == 0) return int_value(env, done);
    done += n;
  }
  if (fallback) {
    static char buffer[1 << 16];
    while (done < length) {
      size_t want = (size_t)(length - done) < sizeof buffer ? (size_t)(length - done) : sizeof buffer;
      ssize_t n = read(in, buffer, want);
      if (n < 0) {
        if (errno == EINTR) continue;
        return throw_errno(env, errno, "read", NULL);
      }
      if (n == 0) break;
      for (ssize_t off = 0; off < n;) {
        ssize_t w = write(out, buffer + off, (size_t)(n - off));
        if (w < 0) {
          if (errno == EINTR) continue;
          return throw_errno(env, errno, "write", NULL);
        }
        off += w;
      }
      done += n;
    }
  }
  return int_value(env, done);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      METHOD("openat", js_openat),
      METHOD("openat2", js_openat2),
      METHOD("mkdirat", js_mkdirat),
      METHOD("unlinkat", js_unlinkat),
      METHOD("renameat", js_renameat),
      METHOD("symlinkat", js_symlinkat),
      METHOD("linkat", js_linkat),
      METHOD("stat", js_stat),
      METHOD("fchmod", js_fchmod),
      METHOD("fchown", js_fchown),
      METHOD("futimens", js_futimens),
      METHOD("utimensat", js_utimensat),
      METHOD("readdir", js_readdir),
      METHOD("copyFileRange", js_copy_file_range),
      METHOD("xattrs", js_xattrs),
      METHOD("setxattr", js_setxattr),
      METHOD("removexattr", js_removexattr),
      METHOD("writeFileAsync", js_write_file_async),
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties) != napi_ok)
    return NULL;
  napi_value constants;
  napi_create_object(env, &constants);
  set_number(env, constants, "O_PATH", O_PATH);
  set_number(env, constants, "O_TMPFILE", __O_TMPFILE | O_DIRECTORY);
  set_number(env, constants, "AT_EMPTY_PATH", AT_EMPTY_PATH);
  set_number(env, constants, "AT_REMOVEDIR", AT_REMOVEDIR);
  set_number(env, constants, "AT_SYMLINK_NOFOLLOW", AT_SYMLINK_NOFOLLOW);
  set_number(env, constants, "AT_SYMLINK_FOLLOW", AT_SYMLINK_FOLLOW);
  set_number(env, constants, "RENAME_NOREPLACE", 1);
  set_number(env, constants, "RESOLVE_NO_XDEV", RESOLVE_NO_XDEV);
  set_number(env, constants, "RESOLVE_NO_MAGICLINKS", RESOLVE_NO_MAGICLINKS);
  set_number(env, constants, "RESOLVE_NO_SYMLINKS", RESOLVE_NO_SYMLINKS);
  set_number(env, constants, "RESOLVE_BENEATH", RESOLVE_BENEATH);
  set_number(env, constants, "DT_DIR", DT_DIR);
  set_number(env, constants, "DT_LNK", DT_LNK);
  set_number(env, constants, "DT_REG", DT_REG);
  set_number(env, constants, "DT_UNKNOWN", DT_UNKNOWN);
  napi_set_named_property(env, exports, "constants", constants);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
