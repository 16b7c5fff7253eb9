// The native half of mirrorlog's watcher: the fanotify and inotify syscalls, file handles,
// and reading an event fd on a thread of its own (so the main loop never blocks, and a
// busy main loop does not let the kernel queue overflow).
// Nothing here decides anything: every record read is handed to JavaScript as raw bytes,
// where services/producer/watch/ parses and interprets it.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "../shared/napi-args.h"
#include "scan.h"

#define READ_BUFFER_BYTES (256 * 1024)
#define MAX_HANDLE_BYTES 128

/* fanotifyInit(flags, eventFFlags) -> fd */
static napi_value fanotify_init_js(napi_env env, napi_callback_info info) {
  uint32_t flags, event_f_flags;
  if (!get_args(env, info, "uu", &flags, &event_f_flags)) return NULL;
  int fd = fanotify_init(flags, event_f_flags);
  if (fd < 0) return throw_errno(env, errno, "fanotify_init", NULL);
  return int_value(env, fd);
}

/* fanotifyMark(fd, flags, mask, path): mask is a number below 2^53. */
static napi_value fanotify_mark_js(napi_env env, napi_callback_info info) {
  int32_t fd;
  uint32_t flags;
  int64_t mask;
  char path[NAME_CAP];
  if (!get_args(env, info, "iulp", &fd, &flags, &mask, path)) return NULL;
  if (fanotify_mark(fd, flags, (uint64_t)mask, AT_FDCWD, path) < 0) return throw_errno(env, errno, "fanotify_mark", NULL);
  return NULL;
}

/* inotifyInit() -> fd (non-blocking, close-on-exec) */
static napi_value inotify_init_js(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "inotify_init1", NULL);
  return int_value(env, fd);
}

/* inotifyAddWatch(fd, path, mask) -> wd */
static napi_value inotify_add_watch_js(napi_env env, napi_callback_info info) {
  int32_t fd;
  uint32_t mask;
  char path[NAME_CAP];
  if (!get_args(env, info, "ipu", &fd, path, &mask)) return NULL;
  int wd = inotify_add_watch(fd, path, mask);
  if (wd < 0) return throw_errno(env, errno, "inotify_add_watch", NULL);
  return int_value(env, wd);
}

/* inotifyRmWatch(fd, wd) -> 0 or errno (a watch of a removed directory is already gone) */
static napi_value inotify_rm_watch_js(napi_env env, napi_callback_info info) {
  int32_t fd, wd;
  if (!get_args(env, info, "ii", &fd, &wd)) return NULL;
  return int_value(env, inotify_rm_watch(fd, wd) < 0 ? errno : 0);
}

/*
 * nameToHandle(path) -> Buffer holding a struct file_handle (handle_bytes, handle_type,
 * f_handle), the layout fanotify reports in its fid records, so both compare bytewise.
 * The symlink is not followed.
 */
static napi_value name_to_handle_js(napi_env env, napi_callback_info info) {
  char path[NAME_CAP];
  if (!get_args(env, info, "p", path)) return NULL;
  union {
    struct file_handle handle;
    char bytes[sizeof(struct file_handle) + MAX_HANDLE_BYTES];
  } storage;
  storage.handle.handle_bytes = MAX_HANDLE_BYTES;
  int mount_id;
  if (name_to_handle_at(AT_FDCWD, path, &storage.handle, &mount_id, 0) < 0) {
    return throw_errno(env, errno, "name_to_handle_at", NULL);
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
  int32_t mount_fd;
  napi_value handle;
  void *data;
  size_t length;
  if (!get_args(env, info, "iv", &mount_fd, &handle)) return NULL;
  CHECK(env, napi_get_buffer_info(env, handle, &data, &length));
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
  if (fd < 0) return throw_errno(env, errno, "open_by_handle_at", NULL);
  char link[64], target[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target);
  int err = errno;
  close(fd);
  if (n < 0) return throw_errno(env, err, "readlink", NULL);
  napi_value result;
  void *copy;
  CHECK(env, napi_create_buffer_copy(env, (size_t)n, target, &copy, &result));
  return result;
}

/*
 * fanotifyIgnore(fanotifyFd, mountFd, handle, flags, mask): adds an ignore mask to the
 * directory a handle names, marked through an fd opened from the handle (never by a path,
 * which could name another directory by then). Throws ESTALE when it is gone.
 */
static napi_value fanotify_ignore_js(napi_env env, napi_callback_info info) {
  int32_t fan_fd, mount_fd;
  uint32_t flags;
  int64_t mask;
  napi_value handle;
  void *data;
  size_t length;
  if (!get_args(env, info, "iivul", &fan_fd, &mount_fd, &handle, &flags, &mask)) return NULL;
  CHECK(env, napi_get_buffer_info(env, handle, &data, &length));
  union {
    struct file_handle handle;
    char bytes[sizeof(struct file_handle) + MAX_HANDLE_BYTES];
  } storage;
  if (length < sizeof(struct file_handle) || length > sizeof storage.bytes) {
    napi_throw_type_error(env, NULL, "not a file handle");
    return NULL;
  }
  memcpy(storage.bytes, data, length);
  if (sizeof(struct file_handle) + storage.handle.handle_bytes != length) {
    napi_throw_type_error(env, NULL, "file handle length mismatch");
    return NULL;
  }
  int fd = open_by_handle_at(mount_fd, &storage.handle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "open_by_handle_at", NULL);
  int failed = fanotify_mark(fan_fd, flags, (uint64_t)mask, fd, NULL);
  int err = errno;
  close(fd);
  if (failed < 0) return throw_errno(env, err, "fanotify_mark", NULL);
  return NULL;
}

/* fanotifyFlushInodeMarks(fanotifyFd): removes every mark but the filesystem's (the ignore marks). */
static napi_value fanotify_flush_js(napi_env env, napi_callback_info info) {
  int32_t fan_fd;
  if (!get_args(env, info, "i", &fan_fd)) return NULL;
  if (fanotify_mark(fan_fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL) < 0) return throw_errno(env, errno, "fanotify_mark", NULL);
  return NULL;
}

/*
 * Reading an event fd: a thread per fd drains the kernel queue as fast as events come
 * (blocking in poll, never in the event loop), queues what it read, bounded, and wakes
 * the loop with uv_async; the loop hands each read's bytes to a JS callback. So a busy
 * JavaScript side does not let the kernel queue overflow; when the bound is reached the
 * thread stops reading and the kernel reports its overflow as usual.
 */
typedef struct chunk {
  struct chunk *next;
  size_t length;
  char data[];
} chunk_t;

typedef struct {
  uv_async_t async;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  int fd;
  int wake[2];
  pthread_t thread;
  pthread_mutex_t lock;
  chunk_t *head, *tail;
  size_t queued;
  size_t max_queued;
  int failure; /* errno of a failed read, -1 at end of stream */
  int stopping;
  int closed;
} reader_t;

static void *read_loop(void *arg) {
  reader_t *reader = (reader_t *)arg;
  for (;;) {
    pthread_mutex_lock(&reader->lock);
    int full = reader->queued >= reader->max_queued;
    int stopping = reader->stopping;
    pthread_mutex_unlock(&reader->lock);
    if (stopping) return NULL;
    struct pollfd fds[2] = {{.fd = reader->fd, .events = full ? 0 : POLLIN}, {.fd = reader->wake[0], .events = POLLIN}};
    /* While the queue is full, wake up now and then to see whether the loop caught up. */
    if (poll(fds, 2, full ? 5 : -1) < 0) {
      if (errno == EINTR) continue;
      pthread_mutex_lock(&reader->lock);
      reader->failure = errno;
      pthread_mutex_unlock(&reader->lock);
      uv_async_send(&reader->async);
      return NULL;
    }
    if (fds[1].revents) return NULL;
    if (!(fds[0].revents & (POLLIN | POLLERR | POLLHUP))) continue;
    chunk_t *chunk = malloc(sizeof(chunk_t) + READ_BUFFER_BYTES);
    if (chunk == NULL) continue;
    ssize_t n = read(reader->fd, chunk->data, READ_BUFFER_BYTES);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      free(chunk);
      continue;
    }
    pthread_mutex_lock(&reader->lock);
    if (n <= 0) {
      reader->failure = n == 0 ? -1 : errno;
      free(chunk);
    } else {
      /* Keep only what was read: most reads are far below the buffer size. */
      chunk_t *fitted = realloc(chunk, sizeof(chunk_t) + (size_t)n);
      if (fitted != NULL) chunk = fitted;
      chunk->length = (size_t)n;
      chunk->next = NULL;
      if (reader->tail != NULL) reader->tail->next = chunk;
      else reader->head = chunk;
      reader->tail = chunk;
      reader->queued += (size_t)n;
    }
    int failed = reader->failure != 0;
    pthread_mutex_unlock(&reader->lock);
    uv_async_send(&reader->async);
    if (failed) return NULL;
  }
}

static void call_back(reader_t *reader, napi_value *argv, size_t argc) {
  napi_env env = reader->env;
  napi_value callback, recv, result;
  if (napi_get_reference_value(env, reader->callback, &callback) != napi_ok || napi_get_global(env, &recv) != napi_ok) return;
  /* make_callback drains microtasks, as any libuv callback into JS must. */
  if (napi_make_callback(env, reader->context, recv, callback, argc, argv, &result) == napi_pending_exception) {
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception);
  }
}

static void on_chunks(uv_async_t *async) {
  reader_t *reader = (reader_t *)async->data;
  napi_env env = reader->env;
  pthread_mutex_lock(&reader->lock);
  chunk_t *chunk = reader->head;
  reader->head = reader->tail = NULL;
  reader->queued = 0;
  int failure = reader->failure;
  reader->failure = 0;
  pthread_mutex_unlock(&reader->lock);
  while (chunk != NULL) {
    chunk_t *next = chunk->next;
    if (!reader->closed) {
      napi_handle_scope scope;
      if (napi_open_handle_scope(env, &scope) == napi_ok) {
        napi_value argv[1];
        void *copy;
        if (napi_create_buffer_copy(env, chunk->length, chunk->data, &copy, &argv[0]) == napi_ok) call_back(reader, argv, 1);
        napi_close_handle_scope(env, scope);
      }
    }
    free(chunk);
    chunk = next;
  }
  if (failure != 0 && !reader->closed) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value argv[2];
    napi_get_null(env, &argv[0]);
    napi_create_string_utf8(env, failure < 0 ? "end of stream" : strerror(failure), NAPI_AUTO_LENGTH, &argv[1]);
    call_back(reader, argv, 2);
    napi_close_handle_scope(env, scope);
  }
}

static void on_closed(uv_handle_t *handle) {
  reader_t *reader = (reader_t *)handle->data;
  for (chunk_t *chunk = reader->head; chunk != NULL;) {
    chunk_t *next = chunk->next;
    free(chunk);
    chunk = next;
  }
  pthread_mutex_destroy(&reader->lock);
  free(reader);
}

/* startReading(fd, maxQueuedBytes, callback(buffer | null, error?)) -> reader */
static napi_value start_reading_js(napi_env env, napi_callback_info info) {
  int32_t fd;
  int64_t max_queued;
  napi_value callback;
  if (!get_args(env, info, "ilv", &fd, &max_queued, &callback)) return NULL;
  uv_loop_t *loop;
  CHECK(env, napi_get_uv_event_loop(env, &loop));
  reader_t *reader = calloc(1, sizeof *reader);
  if (reader == NULL) return throw_errno(env, ENOMEM, "calloc", NULL);
  if (pipe2(reader->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
    int err = errno;
    free(reader);
    return throw_errno(env, err, "pipe2", NULL);
  }
  reader->env = env;
  reader->fd = fd;
  reader->max_queued = max_queued > 0 ? (size_t)max_queued : READ_BUFFER_BYTES;
  reader->async.data = reader;
  pthread_mutex_init(&reader->lock, NULL);
  napi_value name;
  CHECK(env, napi_create_string_utf8(env, "mirrorlog.watch", NAPI_AUTO_LENGTH, &name));
  CHECK(env, napi_async_init(env, NULL, name, &reader->context));
  CHECK(env, napi_create_reference(env, callback, 1, &reader->callback));
  int rc = uv_async_init(loop, &reader->async, on_chunks);
  if (rc == 0) rc = pthread_create(&reader->thread, NULL, read_loop, reader);
  if (rc != 0) {
    napi_delete_reference(env, reader->callback);
    napi_async_destroy(env, reader->context);
    close(reader->wake[0]);
    close(reader->wake[1]);
    reader->closed = 1;
    uv_close((uv_handle_t *)&reader->async, on_closed);
    napi_throw_error(env, NULL, "could not start the event reader");
    return NULL;
  }
  napi_value external;
  CHECK(env, napi_create_external(env, reader, NULL, NULL, &external));
  return external;
}

/* stopReading(reader): ends the thread; the caller closes the fd afterwards. */
static napi_value stop_reading_js(napi_env env, napi_callback_info info) {
  void *data;
  if (!get_args(env, info, "x", &data)) return NULL;
  reader_t *reader = (reader_t *)data;
  if (reader->closed) return NULL;
  reader->closed = 1;
  pthread_mutex_lock(&reader->lock);
  reader->stopping = 1;
  pthread_mutex_unlock(&reader->lock);
  ssize_t ignored = write(reader->wake[1], "x", 1);
  (void)ignored;
  pthread_join(reader->thread, NULL);
  close(reader->wake[0]);
  close(reader->wake[1]);
  napi_delete_reference(env, reader->callback);
  napi_async_destroy(env, reader->context);
  uv_close((uv_handle_t *)&reader->async, on_closed);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      METHOD("fanotifyInit", fanotify_init_js),
      METHOD("fanotifyMark", fanotify_mark_js),
      METHOD("inotifyInit", inotify_init_js),
      METHOD("inotifyAddWatch", inotify_add_watch_js),
      METHOD("inotifyRmWatch", inotify_rm_watch_js),
      METHOD("nameToHandle", name_to_handle_js),
      METHOD("openByHandle", open_by_handle_js),
      METHOD("fanotifyIgnore", fanotify_ignore_js),
      METHOD("fanotifyFlushInodeMarks", fanotify_flush_js),
      METHOD("startReading", start_reading_js),
      METHOD("stopReading", stop_reading_js),
      METHOD("scanDirectory", scan_directory_js),
      METHOD("scanDirectoryAsync", scan_directory_async_js),
  };
  CHECK(env, napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
