/*
 * The producer's walk, per directory: its names and one lstat (fstatat, no follow) of each,
 * relative to the directory's fd, so JavaScript makes no readdir, path join or Stats object
 * per child. On the calling thread (scanDirectory) or on libuv's pool (scanDirectoryAsync),
 * so the walk's syscalls run beside its index comparison on the main thread.
 *
 * Result: { names: Buffer (NUL-separated bytes), stats: Float64Array } or null when the
 * path is not a directory (or a symlink to one) any more. Per entry SCAN_FIELDS numbers:
 * kind (0 gone since the listing, 1 file, 2 dir, 3 symlink, 4 other, 5 refused: errno in
 * the mode field), mode, size, mtime s, mtime ns, ctime s, ctime ns, ino, uid, gid, nlink,
 * 0. Times stay split so that JavaScript builds exact nanoseconds from them.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../shared/napi-args.h"
#include "scan.h"

#define SCAN_FIELDS 12

typedef struct {
  char path[NAME_CAP];
  char *names;
  size_t names_len;
  double *stats;
  size_t count;
  int missing;
  int failure;
  const char *failed_call;
  napi_async_work work;
  napi_deferred deferred;
} scan_t;

static void record(double *out, int dfd, const char *name) {
  struct stat st;
  memset(out, 0, SCAN_FIELDS * sizeof(double));
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno != ENOENT) {
      out[0] = 5;
      out[1] = (double)errno;
    }
    return;
  }
  out[0] = S_ISREG(st.st_mode) ? 1 : S_ISDIR(st.st_mode) ? 2 : S_ISLNK(st.st_mode) ? 3 : 4;
  out[1] = (double)st.st_mode;
  out[2] = (double)st.st_size;
  out[3] = (double)st.st_mtim.tv_sec;
  out[4] = (double)st.st_mtim.tv_nsec;
  out[5] = (double)st.st_ctim.tv_sec;
  out[6] = (double)st.st_ctim.tv_nsec;
  out[7] = (double)st.st_ino;
  out[8] = (double)st.st_uid;
  out[9] = (double)st.st_gid;
  out[10] = (double)st.st_nlink;
}

/* The scan itself: no N-API call, so it may run on any thread. */
static void scan_run(scan_t *scan) {
  int dfd = open(scan->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (dfd < 0) {
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) scan->missing = 1;
    else scan->failure = errno, scan->failed_call = "open";
    return;
  }
  DIR *dir = fdopendir(dfd);
  if (dir == NULL) {
    scan->failure = errno, scan->failed_call = "fdopendir";
    close(dfd);
    return;
  }
  size_t names_cap = 4096, stats_cap = 64;
  scan->names = malloc(names_cap);
  scan->stats = malloc(stats_cap * SCAN_FIELDS * sizeof(double));
  if (scan->names == NULL || scan->stats == NULL) scan->failure = ENOMEM;
  while (scan->failure == 0) {
    errno = 0;
    struct dirent *entry = readdir(dir);
    if (entry == NULL) {
      scan->failure = errno;
      break;
    }
    const char *name = entry->d_name;
    if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
    size_t len = strlen(name);
    if (scan->names_len + len + 1 > names_cap) {
      while (scan->names_len + len + 1 > names_cap) names_cap *= 2;
      char *grown = realloc(scan->names, names_cap);
      if (grown == NULL) { scan->failure = ENOMEM; break; }
      scan->names = grown;
    }
    if (scan->count == stats_cap) {
      stats_cap *= 2;
      double *grown = realloc(scan->stats, stats_cap * SCAN_FIELDS * sizeof(double));
      if (grown == NULL) { scan->failure = ENOMEM; break; }
      scan->stats = grown;
    }
    memcpy(scan->names + scan->names_len, name, len + 1);
    scan->names_len += len + 1;
    record(scan->stats + scan->count * SCAN_FIELDS, dfd, name);
    scan->count++;
  }
  if (scan->failure != 0 && scan->failed_call == NULL) scan->failed_call = "readdir";
  closedir(dir);
}

/* The result (or NULL with the error pending); frees what the scan held. */
static napi_value scan_result(napi_env env, scan_t *scan) {
  napi_value result = NULL;
  if (scan->failure != 0) {
    throw_errno(env, scan->failure, scan->failed_call, NULL);
  } else if (scan->missing) {
    result = null_value(env);
  } else {
    napi_value names, buffer, stats;
    void *copy;
    size_t bytes = scan->count * SCAN_FIELDS * sizeof(double);
    if (napi_create_object(env, &result) != napi_ok ||
        napi_create_buffer_copy(env, scan->names_len, scan->names_len > 0 ? scan->names : "", &copy, &names) !=
            napi_ok ||
        napi_create_arraybuffer(env, bytes, &copy, &buffer) != napi_ok) {
      napi_throw_error(env, NULL, "scanDirectory: out of memory");
      result = NULL;
    } else {
      if (bytes > 0) memcpy(copy, scan->stats, bytes);
      napi_create_typedarray(env, napi_float64_array, scan->count * SCAN_FIELDS, buffer, 0, &stats);
      napi_set_named_property(env, result, "names", names);
      napi_set_named_property(env, result, "stats", stats);
    }
  }
  free(scan->names);
  free(scan->stats);
  scan->names = NULL;
  scan->stats = NULL;
  return result;
}

/* scanDirectory(path) -> result, on the calling thread */
napi_value scan_directory_js(napi_env env, napi_callback_info info) {
  scan_t scan = {0};
  if (!get_args(env, info, "p", scan.path)) return NULL;
  scan_run(&scan);
  return scan_result(env, &scan);
}

static void scan_execute(napi_env env, void *data) {
  (void)env;
  scan_run((scan_t *)data);
}

static void scan_complete(napi_env env, napi_status status, void *data) {
  scan_t *scan = (scan_t *)data;
  napi_value result = status == napi_ok ? scan_result(env, scan) : NULL;
  if (result != NULL) {
    napi_resolve_deferred(env, scan->deferred, result);
  } else {
    napi_value error;
    if (status != napi_ok) napi_throw_error(env, NULL, "scanDirectoryAsync: cancelled");
    napi_get_and_clear_last_exception(env, &error);
    napi_reject_deferred(env, scan->deferred, error);
  }
  napi_delete_async_work(env, scan->work);
  free(scan->names);
  free(scan->stats);
  free(scan);
}

/* scanDirectoryAsync(path) -> Promise of the result, scanned on libuv's pool */
napi_value scan_directory_async_js(napi_env env, napi_callback_info info) {
  scan_t *scan = calloc(1, sizeof *scan);
  if (scan == NULL) return throw_errno(env, ENOMEM, "calloc", NULL);
  if (!get_args(env, info, "p", scan->path)) {
    free(scan);
    return NULL;
  }
  napi_value promise, name;
  if (napi_create_promise(env, &scan->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "mirrorlog:scan", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, scan_execute, scan_complete, scan, &scan->work) != napi_ok ||
      napi_queue_async_work(env, scan->work) != napi_ok) {
    free(scan);
    napi_throw_error(env, NULL, "scanDirectoryAsync: could not queue the scan");
    return NULL;
  }
  return promise;
}
