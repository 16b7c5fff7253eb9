// writeFileAsync: one atomic small-file write on libuv's pool, so the applier can have
// dozens in flight while its main thread decides the next records. The parent directory
// is resolved there too, by openat2 from the given directory fd with the caller's resolve
// flags (target-root.ts's confinement: beneath, no symlinks); then the same syscalls as
// atomic-write.ts's buffer path, in the same order (temp created O_EXCL|O_NOFOLLOW, the
// bytes, owner, mode, times, fsync if asked, rename over the destination). On any failure
// the temp file is removed and the promise rejects with the failing call's error, so the
// caller can do the write again on its synchronous path, which handles every special case.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../shared/napi-args.h"
#include "write-async.h"

typedef struct {
  int32_t dirfd, resolve, mode, uid, gid, fsync;
  /* The parent directory, relative to dirfd ("": dirfd itself). */
  char parent[NAME_CAP];
  char temp[NAME_CAP];
  char name[NAME_CAP];
  struct timespec mtime;
  const char *data;
  size_t length;
  napi_ref buffer;
  int failure;
  const char *failed_call;
  napi_async_work work;
  napi_deferred deferred;
} write_job_t;

static int write_all(int fd, const char *data, size_t length) {
  for (size_t offset = 0; offset < length;) {
    ssize_t n = write(fd, data + offset, length - offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    offset += (size_t)n;
  }
  return 0;
}

/* The parent directory as an O_PATH fd (or dirfd itself), or -1 with errno set. */
static int open_parent(write_job_t *job) {
  if (job->parent[0] == '\0') return job->dirfd;
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  how.resolve = (uint64_t)(uint32_t)job->resolve;
  long fd;
  do fd = syscall(SYS_openat2, job->dirfd, job->parent, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  return (int)fd;
}

static void fail(write_job_t *job, const char *call) {
  job->failure = errno;
  job->failed_call = call;
}

static void write_in(write_job_t *job, int dirfd) {
  int fd = openat(dirfd, job->temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return fail(job, "openat");
  struct timespec times[2] = {job->mtime, job->mtime};
  const char *call = NULL;
  if (write_all(fd, job->data, job->length) < 0) call = "write";
  else if ((job->uid != -1 || job->gid != -1) && fchown(fd, (uid_t)job->uid, (gid_t)job->gid) < 0) call = "fchown";
  else if (fchmod(fd, (mode_t)job->mode) < 0) call = "fchmod";
  else if (futimens(fd, times) < 0) call = "futimens";
  else if (job->fsync && fsync(fd) < 0) call = "fsync";
  int failure = call == NULL ? 0 : errno;
  if (close(fd) < 0 && call == NULL) {
    call = "close";
    failure = errno;
  }
  if (call == NULL && renameat(dirfd, job->temp, dirfd, job->name) < 0) {
    call = "renameat";
    failure = errno;
  }
  if (call != NULL) {
    unlinkat(dirfd, job->temp, 0);
    job->failure = failure;
    job->failed_call = call;
  }
}

/* Runs on the pool: the whole write, or the first failing call in job->failed_call. */
static void write_execute(napi_env env, void *data) {
  (void)env;
  write_job_t *job = (write_job_t *)data;
  int dirfd = open_parent(job);
  if (dirfd < 0) return fail(job, "openat2");
  write_in(job, dirfd);
  if (dirfd != job->dirfd) close(dirfd);
}

static void write_complete(napi_env env, napi_status status, void *data) {
  write_job_t *job = (write_job_t *)data;
  if (status == napi_ok && job->failure == 0) {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, job->deferred, undefined);
  } else {
    napi_value error;
    if (status != napi_ok) napi_throw_error(env, NULL, "writeFileAsync: cancelled");
    else throw_errno(env, job->failure, job->failed_call, job->name);
    napi_get_and_clear_last_exception(env, &error);
    napi_reject_deferred(env, job->deferred, error);
  }
  napi_delete_reference(env, job->buffer);
  napi_delete_async_work(env, job->work);
  free(job);
}

/* writeFileAsync(dirfd, parent, resolve, temp, name, data, mode, uid, gid, mtimeNs, fsync) -> Promise<void> */
napi_value js_write_file_async(napi_env env, napi_callback_info info) {
  write_job_t *job = calloc(1, sizeof *job);
  if (job == NULL) return throw_errno(env, ENOMEM, "calloc", NULL);
  napi_value buffer, promise, name;
  void *bytes;
  bool is_buffer = false;
  if (!get_args(env, info, "ininnviiiti", &job->dirfd, job->parent, &job->resolve, job->temp, job->name, &buffer,
                &job->mode, &job->uid, &job->gid, &job->mtime, &job->fsync)) {
    free(job);
    return NULL;
  }
  if (napi_is_buffer(env, buffer, &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, buffer, &bytes, &job->length) != napi_ok) {
    free(job);
    return throw_type(env, "writeFileAsync: expected a Buffer of content");
  }
  job->data = (const char *)bytes;
  // The Buffer stays alive (and its bytes in place) until the write is done.
  if (napi_create_reference(env, buffer, 1, &job->buffer) != napi_ok) {
    free(job);
    return throw_type(env, "writeFileAsync: cannot hold the Buffer");
  }
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "mirrorlog:write", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, write_execute, write_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    napi_delete_reference(env, job->buffer);
    free(job);
    napi_throw_error(env, NULL, "writeFileAsync: could not queue the write");
    return NULL;
  }
  return promise;
}
