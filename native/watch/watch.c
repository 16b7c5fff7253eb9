// The native half of mirrorlog's watcher: the fanotify and inotify syscalls, file handles,
// and reading an event fd from the event loop (uv_poll, so the main loop never blocks).
// Nothing here decides anything: every record read is handed to JavaScript as raw bytes,
// where services/producer/watch/ parses and interprets it.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <uv.h>

#define READ_BUFFER_BYTES (256 * 1024)
/* Reads per readiness callback: a busy stream still lets the loop run other work. */
#define READS_PER_WAKEUP 8
#define MAX_HANDLE_BYTES 128

#define CHECK(env, call)                                                                   \
  do {                                                                                     \
    if ((call) != napi_ok) {                                                               \
      napi_throw_error((env), NULL, "N-API call failed: " #call);                          \
      return NULL;                                                                         \
    }                                                                                      \
  } while (0)

static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", syscall, strerror(err));
  napi_value code, msg, error;
  const char *name = NULL;
  switch (err) {
    case EPERM: name = "EPERM"; break;
    case EACCES: name = "EACCES"; break;
    case EINVAL: name = "EINVAL"; break;
    case ENOSPC: name = "ENOSPC"; break;
    case ENOENT: name = "ENOENT"; break;
    case ENOTDIR: name = "ENOTDIR"; break;
    case ESTALE: name = "ESTALE"; break;
    case EXDEV: name = "EXDEV"; break;
    case ENODEV: name = "ENODEV"; break;
    case EOPNOTSUPP: name = "EOPNOTSUPP"; break;
    case ENOSYS: name = "ENOSYS"; break;
    case EMFILE: name = "EMFILE"; break;
    case ENOMEM: name = "ENOMEM"; break;
    case EBADF: name = "EBADF"; break;
    case ELOOP: name = "ELOOP"; break;
    case EOVERFLOW: name = "EOVERFLOW"; break;
    default: name = "EUNKNOWN";
  }
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_value errno_value;
  napi_create_int32(env, err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_throw(env, error);
  return NULL;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, NULL, "missing arguments");
    return 0;
  }
  return 1;
}

/* A path argument as a NUL-terminated string (paths are passed as Buffers: any bytes). */
static int get_path(napi_env env, napi_value value, char *out, size_t size) {
  void *data;
  size_t length;
  if (napi_get_buffer_info(env, value, &data, &length) != napi_ok || length + 1 > size) {
    napi_throw_type_error(env, NULL, "path must be a Buffer shorter than PATH_MAX");
    return 0;
  }
  memcpy(out, data, length);
  out[length] = '\0';
  return 1;
}

static napi_value int_result(napi_env env, int64_t value) {
  napi_value result;
  CHECK(env, napi_create_int64(env, value, &result));
  return result;
}

/* fanotifyInit(flags, eventFFlags) -> fd */
static napi_value fanotify_init_js(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  uint32_t flags, event_f_flags;
  CHECK(env, napi_get_value_uint32(env, argv[0], &flags));
  CHECK(env, napi_get_value_uint32(env, argv[1], &event_f_flags));
  int fd = fanotify_init(flags, event_f_flags);
  if (fd < 0) return throw_errno(env, "fanotify_init", errno);
  return int_result(env, fd);
}

/* fanotifyMark(fd, flags, mask, path): mask is a number below 2^53. */
static napi_value fanotify_mark_js(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  int32_t fd;
  uint32_t flags;
  int64_t mask;
  char path[PATH_MAX];
  CHECK(env, napi_get_value_int32(env, argv[0], &fd));
  CHECK(env, napi_get_value_uint32(env, argv[1], &flags));
  CHECK(env, napi_get_value_int64(env, argv[2], &mask));
  if (!get_path(env, argv[3], path, sizeof path)) return NULL;
  if (fanotify_mark(fd, flags, (uint64_t)mask, AT_FDCWD, path) < 0) return throw_errno(env, "fanotify_mark", errno);
  return NULL;
}

/* inotifyInit() -> fd (non-blocking, close-on-exec) */
static napi_value inotify_init_js(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return throw_errno(env, "inotify_init1", errno);
  return int_result(env, fd);
}

/* inotifyAddWatch(fd, path, mask) -> wd */
static napi_value inotify_add_watch_js(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  int32_t fd;
  uint32_t mask;
  char path[PATH_MAX];
  CHECK(env, napi_get_value_int32(env, argv[0], &fd));
  if (!get_path(env, argv[1], path, sizeof path)) return NULL;
  CHECK(env, napi_get_value_uint32(env, argv[2], &mask));
  int wd = inotify_add_watch(fd, path, mask);
  if (wd < 0) return throw_errno(env, "inotify_add_watch", errno);
  return int_result(env, wd);
}

/* inotifyRmWatch(fd, wd) -> 0 or errno (a watch of a removed directory is already gone) */
static napi_value inotify_rm_watch_js(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  int32_t fd, wd;
  CHECK(env, napi_get_value_int32(env, argv[0], &fd));
  CHECK(env, napi_get_value_int32(env, argv[1], &wd));
  return int_result(env, inotify_rm_watch(fd, wd) < 0 ? errno : 0);
}

/*
 * nameToHandle(path) -> Buffer holding a struct file_handle (handle_bytes, handle_type,
 * f_handle), the layout fanotify reports in its fid records, so both compare bytewise.
 * The symlink is not followed.
 */
static napi_value name_to_handle_js(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  char path[PATH_MAX];
  if (!get_path(env, argv[0], path, sizeof path)) return NULL;
  union {
    struct file_handle handle;
    char bytes[sizeof(struct file_handle) + MAX_HANDLE_BYTES];
  } storage;
  storage.handle.handle_bytes = MAX_HANDLE_BYTES;
  int mount_id;
  if (name_to_handle_at(AT_FDCWD, path, &storage.handle, &mount_id, 0) < 0) {
    return throw_errno(env, "name_to_handle_at", errno);
  }
  size_t length = sizeof(struct file_handle) + storage.handle.handle_bytes;
  napi_value result;
  void *copy;
  CHECK(env, napi_create_buffer_copy(env, length, storage.bytes, &copy, &result));
  return result;
}

/*
 * openByHandle(mountFd, handle) -> the path the kernel knows for it now (readlink of
 * /proc/self/fd), as a Buffer. Throws ESTALE when the object is gone.
 */
static napi_value open_by_handle_js(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  int32_t mount_fd;
  void *data;
  size_t length;
  CHECK(env, napi_get_value_int32(env, argv[0], &mount_fd));
  CHECK(env, napi_get_buffer_info(env, argv[1], &data, &length));
  if (length < sizeof(struct file_handle) || length > sizeof(struct file_handle) + MAX_HANDLE_BYTES) {
    napi_throw_type_error(env, NULL, "not a file handle");
    return NULL;
  }
  union {
    struct file_handle handle;
    char bytes[sizeof(struct file_handle) + MAX_HANDLE_BYTES];
  } storage;
  memcpy(storage.bytes, data, length);
  if (sizeof(struct file_handle) + storage.handle.handle_bytes != length) {
    napi_throw_type_error(env, NULL, "file handle length mismatch");
    return NULL;
  }
  int fd = open_by_handle_at(mount_fd, &storage.handle, O_PATH | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, "open_by_handle_at", errno);
  char link[64], target[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target);
  int err = errno;
  close(fd);
  if (n < 0) return throw_errno(env, "readlink", err);
  napi_value result;
  void *copy;
  CHECK(env, napi_create_buffer_copy(env, (size_t)n, target, &copy, &result));
  return result;
}

/* Reading an event fd: one uv_poll per fd; each read's bytes go to a JS callback. */
typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  int fd;
  int closed;
  char *buffer;
} reader_t;

static void call_back(reader_t *reader, napi_value *argv, size_t argc) {
  napi_env env = reader->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, resource, result;
  if (napi_get_reference_value(env, reader->callback, &callback) == napi_ok && napi_get_global(env, &resource) == napi_ok) {
    napi_value args[2];
    for (size_t i = 0; i < argc; i++) args[i] = argv[i];
    /* make_callback drains microtasks, as any libuv callback into JS must. */
    if (napi_make_callback(env, reader->context, resource, callback, argc, args, &result) == napi_pending_exception) {
      napi_value exception;
      napi_get_and_clear_last_exception(env, &exception);
      napi_fatal_exception(env, exception);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  (void)events;
  reader_t *reader = (reader_t *)poll->data;
  napi_env env = reader->env;
  if (reader->closed) return;
  if (status < 0) {
    napi_handle_scope scope;
    napi_open_handle_scope(env, &scope);
    napi_value argv[2];
    napi_get_null(env, &argv[0]);
    napi_create_string_utf8(env, uv_strerror(status), NAPI_AUTO_LENGTH, &argv[1]);
    call_back(reader, argv, 2);
    napi_close_handle_scope(env, scope);
    return;
  }
  for (int i = 0; i < READS_PER_WAKEUP && !reader->closed; i++) {
    ssize_t n = read(reader->fd, reader->buffer, READ_BUFFER_BYTES);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value argv[2];
    if (n <= 0) {
      napi_get_null(env, &argv[0]);
      napi_create_string_utf8(env, n == 0 ? "end of stream" : strerror(errno), NAPI_AUTO_LENGTH, &argv[1]);
      call_back(reader, argv, 2);
      napi_close_handle_scope(env, scope);
      return;
    }
    void *copy;
    napi_create_buffer_copy(env, (size_t)n, reader->buffer, &copy, &argv[0]);
    call_back(reader, argv, 1);
    napi_close_handle_scope(env, scope);
  }
}

static void on_closed(uv_handle_t *handle) {
  reader_t *reader = (reader_t *)handle->data;
  free(reader->buffer);
  free(reader);
}

static void release_reader(napi_env env, reader_t *reader) {
  if (reader->closed) return;
  reader->closed = 1;
  uv_poll_stop(&reader->poll);
  napi_delete_reference(env, reader->callback);
  napi_async_destroy(env, reader->context);
  uv_close((uv_handle_t *)&reader->poll, on_closed);
}

/* startReading(fd, callback(buffer | null, error?)) -> reader; the fd must be non-blocking. */
static napi_value start_reading_js(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  int32_t fd;
  CHECK(env, napi_get_value_int32(env, argv[0], &fd));
  uv_loop_t *loop;
  CHECK(env, napi_get_uv_event_loop(env, &loop));
  reader_t *reader = calloc(1, sizeof *reader);
  char *buffer = malloc(READ_BUFFER_BYTES);
  if (reader == NULL || buffer == NULL) {
    free(reader);
    free(buffer);
    return throw_errno(env, "malloc", ENOMEM);
  }
  reader->env = env;
  reader->fd = fd;
  reader->buffer = buffer;
  reader->poll.data = reader;
  napi_value name;
  CHECK(env, napi_create_string_utf8(env, "mirrorlog.watch", NAPI_AUTO_LENGTH, &name));
  CHECK(env, napi_async_init(env, NULL, name, &reader->context));
  CHECK(env, napi_create_reference(env, argv[1], 1, &reader->callback));
  int rc = uv_poll_init(loop, &reader->poll, fd);
  if (rc == 0) rc = uv_poll_start(&reader->poll, UV_READABLE, on_readable);
  if (rc != 0) {
    napi_delete_reference(env, reader->callback);
    napi_async_destroy(env, reader->context);
    free(buffer);
    free(reader);
    napi_throw_error(env, NULL, uv_strerror(rc));
    return NULL;
  }
  napi_value external;
  CHECK(env, napi_create_external(env, reader, NULL, NULL, &external));
  return external;
}

/* stopReading(reader): stops polling; the caller closes the fd afterwards. */
static napi_value stop_reading_js(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  void *data;
  CHECK(env, napi_get_value_external(env, argv[0], &data));
  release_reader(env, (reader_t *)data);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"fanotifyInit", NULL, fanotify_init_js, NULL, NULL, NULL, napi_default, NULL},
      {"fanotifyMark", NULL, fanotify_mark_js, NULL, NULL, NULL, napi_default, NULL},
      {"inotifyInit", NULL, inotify_init_js, NULL, NULL, NULL, napi_default, NULL},
      {"inotifyAddWatch", NULL, inotify_add_watch_js, NULL, NULL, NULL, napi_default, NULL},
      {"inotifyRmWatch", NULL, inotify_rm_watch_js, NULL, NULL, NULL, napi_default, NULL},
      {"nameToHandle", NULL, name_to_handle_js, NULL, NULL, NULL, napi_default, NULL},
      {"openByHandle", NULL, open_by_handle_js, NULL, NULL, NULL, napi_default, NULL},
      {"startReading", NULL, start_reading_js, NULL, NULL, NULL, napi_default, NULL},
      {"stopReading", NULL, stop_reading_js, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
