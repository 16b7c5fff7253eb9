// See napi-args.h. Compiled into each native target (binding.gyp).
#define _GNU_SOURCE
#include "napi-args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *errno_code(int err) {
  switch (err) {
#define E(x)                                                                                       \
  case x:                                                                                          \
    return #x;
    E(EPERM) E(ENOENT) E(EIO) E(EBADF) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY)
    E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ETXTBSY)
    E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK) E(ENAMETOOLONG) E(ENOSYS) E(ENOTEMPTY)
    E(ELOOP) E(EOVERFLOW) E(EOPNOTSUPP) E(EDQUOT) E(ESTALE) E(EINTR) E(ENXIO) E(E2BIG)
    E(ENODATA) E(ERANGE)
#undef E
  default:
    return "EUNKNOWN";
  }
}

napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path) {
  char message[512];
  if (path != NULL)
    snprintf(message, sizeof message, "%s: %s, %s '%.300s'", errno_code(err), strerror(err), syscall, path);
  else
    snprintf(message, sizeof message, "%s: %s, %s", errno_code(err), strerror(err), syscall);
  napi_value code, msg, error, number, call;
  if (napi_create_string_utf8(env, errno_code(err), NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg) != napi_ok ||
      napi_create_error(env, code, msg, &error) != napi_ok) {
    napi_throw_error(env, errno_code(err), message);
    return NULL;
  }
  napi_create_int32(env, -err, &number);
  napi_set_named_property(env, error, "errno", number);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &call);
  napi_set_named_property(env, error, "syscall", call);
  napi_set_named_property(env, error, "code", code);
  if (path != NULL) {
    napi_value p;
    napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &p);
    napi_set_named_property(env, error, "path", p);
  }
  napi_throw(env, error);
  return NULL;
}

napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

static int get_name(napi_env env, napi_value value, char *out) {
  bool is_buffer = false;
  napi_is_buffer(env, value, &is_buffer);
  size_t length = 0;
  if (is_buffer) {
    void *data;
    if (napi_get_buffer_info(env, value, &data, &length) != napi_ok) return 0;
    if (length >= NAME_CAP) {
      throw_errno(env, ENAMETOOLONG, "fsat", NULL);
      return 0;
    }
    memcpy(out, data, length);
    out[length] = '\0';
  } else {
    if (napi_get_value_string_utf8(env, value, out, NAME_CAP, &length) != napi_ok) {
      throw_type(env, "expected a string or Buffer name");
      return 0;
    }
    if (length >= NAME_CAP - 1) {
      throw_errno(env, ENAMETOOLONG, "fsat", NULL);
      return 0;
    }
  }
  if (strlen(out) != length) {
    throw_errno(env, EINVAL, "fsat", "(name holds NUL)");
    return 0;
  }
  return 1;
}

static int get_path(napi_env env, napi_value value, char *out) {
  void *data;
  size_t length;
  if (napi_get_buffer_info(env, value, &data, &length) != napi_ok || length + 1 > NAME_CAP) {
    throw_type(env, "path must be a Buffer shorter than PATH_MAX");
    return 0;
  }
  memcpy(out, data, length);
  out[length] = '\0';
  return 1;
}

static int get_ns(napi_env env, napi_value value, struct timespec *out) {
  int64_t ns;
  bool lossless;
  if (napi_get_value_bigint_int64(env, value, &ns, &lossless) != napi_ok || !lossless) {
    throw_type(env, "expected nanoseconds as a bigint");
    return 0;
  }
  int64_t sec = ns / 1000000000, rem = ns % 1000000000;
  if (rem < 0) {
    rem += 1000000000;
    sec -= 1;
  }
  out->tv_sec = sec;
  out->tv_nsec = rem;
  return 1;
}

static int get_one(napi_env env, char kind, napi_value value, va_list *rest) {
  switch (kind) {
    case 'i':
      if (napi_get_value_int32(env, value, va_arg(*rest, int32_t *)) == napi_ok) return 1;
      break;
    case 'u':
      if (napi_get_value_uint32(env, value, va_arg(*rest, uint32_t *)) == napi_ok) return 1;
      break;
    case 'l':
      if (napi_get_value_int64(env, value, va_arg(*rest, int64_t *)) == napi_ok) return 1;
      break;
    case 't':
      return get_ns(env, value, va_arg(*rest, struct timespec *));
    case 'n':
      return get_name(env, value, va_arg(*rest, char *));
    case 'p':
      return get_path(env, value, va_arg(*rest, char *));
    case 'x':
      if (napi_get_value_external(env, value, va_arg(*rest, void **)) == napi_ok) return 1;
      throw_type(env, "expected an external");
      return 0;
    case 'v':
      *va_arg(*rest, napi_value *) = value;
      return 1;
    default:
      napi_throw_error(env, NULL, "get_args: unknown format letter");
      return 0;
  }
  throw_type(env, "expected an integer");
  return 0;
}

#define MAX_ARGS 12

int get_args(napi_env env, napi_callback_info info, const char *format, ...) {
  size_t want = strlen(format), argc = MAX_ARGS;
  napi_value argv[MAX_ARGS];
  if (want > MAX_ARGS || napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    throw_type(env, "too few arguments");
    return 0;
  }
  va_list rest;
  va_start(rest, format);
  int ok = 1;
  for (size_t i = 0; ok && i < want; i++) ok = get_one(env, format[i], argv[i], &rest);
  va_end(rest);
  return ok;
}

napi_value undefined_value(napi_env env) {
  napi_value result;
  napi_get_undefined(env, &result);
  return result;
}

napi_value null_value(napi_env env) {
  napi_value result;
  napi_get_null(env, &result);
  return result;
}

napi_value int_value(napi_env env, int64_t number) {
  napi_value result;
  CHECK(env, napi_create_int64(env, number, &result));
  return result;
}
