// What both native targets (fsat, watch) need around their syscalls: reading a call's
// arguments by a format, and throwing errors shaped like Node's own (code 'ENOENT',
// errno, syscall, path), so TypeScript handles ours and Node's alike.
#ifndef MIRRORLOG_NAPI_ARGS_H
#define MIRRORLOG_NAPI_ARGS_H

#include <limits.h>
#include <node_api.h>
#include <stdint.h>

/* Room for a name or path read by get_args ('n' and 'p'), with its NUL. */
#define NAME_CAP (PATH_MAX + 1)

/* An N-API call that cannot fail on well-formed input; if it does, throw and return NULL. */
#define CHECK(env, call)                                                                           \
  do {                                                                                             \
    if ((call) != napi_ok) {                                                                       \
      napi_throw_error((env), NULL, "N-API call failed: " #call);                                  \
      return NULL;                                                                                 \
    }                                                                                              \
  } while (0)

/* One exported function, for napi_define_properties. */
#define METHOD(name, fn) {(name), NULL, (fn), NULL, NULL, NULL, napi_enumerable, NULL}

/* Throws an Error like Node's for `err` from `syscall` (path may be NULL); returns NULL. */
napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path);

/* Throws a TypeError; returns NULL. */
napi_value throw_type(napi_env env, const char *message);

/*
 * Reads the call's arguments, one format letter per argument, each into the next pointer:
 *   i int32_t *    u uint32_t *    l int64_t *
 *   t struct timespec *: nanoseconds as a bigint
 *   n char[NAME_CAP]: a name as a string (UTF-8) or a Buffer (any bytes), no NUL inside
 *   p char[NAME_CAP]: a path as a Buffer (any bytes)
 *   x void **: an external
 *   v napi_value *: as given
 * Returns 1, or 0 with an exception pending (too few arguments, a wrong type).
 */
int get_args(napi_env env, napi_callback_info info, const char *format, ...);

napi_value undefined_value(napi_env env);
napi_value null_value(napi_env env);
napi_value int_value(napi_env env, int64_t number);

#endif
