// fsat: fd-relative file operations for the applier (openat, openat2, mkdirat, renameat2,
// unlinkat, symlinkat, linkat, statx, fchmod, fchown, futimens, utimensat, getdents,
// copy_file_range). Node's fs resolves every path string from scratch and follows
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
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NAME_CAP 4097

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) {                                                                       \
      napi_throw_error(env, NULL, "fsat: N-API call failed: " #call);                              \
      return NULL;                                                                                 \
    }                                                                                              \
  } while (0)

static const char *errno_code(int err) {
  switch (err) {
#define E(x)                                                                                       \
  case x:                                                                                          \
    return #x;
    E(EPERM) E(ENOENT) E(EIO) E(EBADF) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY)
    E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ETXTBSY)
    E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK) E(ENAMETOOLONG) E(ENOSYS) E(ENOTEMPTY)
    E(ELOOP) E(EOVERFLOW) E(EOPNOTSUPP) E(EDQUOT) E(ESTALE) E(EINTR) E(ENXIO) E(E2BIG)
#undef E
  default:
    return "EUNKNOWN";
  }
}

static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path) {
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

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, NULL, "fsat: too few arguments");
    return 0;
  }
  return 1;
}

static int get_int(napi_env env, napi_value value, int32_t *out) {
  if (napi_get_value_int32(env, value, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "fsat: expected an integer");
    return 0;
  }
  return 1;
}

/** A name (string as UTF-8, or the bytes of a Buffer), NUL-terminated into `out`. */
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
      napi_throw_type_error(env, NULL, "fsat: expected a string or Buffer name");
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

static int get_ns(napi_env env, napi_value value, struct timespec *out) {
  int64_t ns;
  bool lossless;
  if (napi_get_value_bigint_int64(env, value, &ns, &lossless) != napi_ok || !lossless) {
    napi_throw_type_error(env, NULL, "fsat: expected nanoseconds as a bigint");
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

static napi_value undefined(napi_env env) {
  napi_value result;
  napi_get_undefined(env, &result);
  return result;
}

static napi_value int_value(napi_env env, int64_t number) {
  napi_value result;
  napi_create_int64(env, number, &result);
  return result;
}

// openat(dirfd, name, flags, mode) -> fd
static napi_value js_openat(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t dirfd, flags, mode;
  char name[NAME_CAP];
  if (!get_args(env, info, 4, argv) || !get_int(env, argv[0], &dirfd) || !get_name(env, argv[1], name) ||
      !get_int(env, argv[2], &flags) || !get_int(env, argv[3], &mode))
    return NULL;
  int fd = openat(dirfd, name, flags | O_CLOEXEC, (mode_t)mode);
  if (fd < 0) return throw_errno(env, errno, "openat", name);
  return int_value(env, fd);
}

// openat2(dirfd, path, flags, mode, resolve) -> fd
static napi_value js_openat2(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t dirfd, flags, mode, resolve;
  char name[NAME_CAP];
  if (!get_args(env, info, 5, argv) || !get_int(env, argv[0], &dirfd) || !get_name(env, argv[1], name) ||
      !get_int(env, argv[2], &flags) || !get_int(env, argv[3], &mode) || !get_int(env, argv[4], &resolve))
    return NULL;
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
  napi_value argv[3];
  int32_t dirfd, mode;
  char name[NAME_CAP];
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[0], &dirfd) || !get_name(env, argv[1], name) ||
      !get_int(env, argv[2], &mode))
    return NULL;
  if (mkdirat(dirfd, name, (mode_t)mode) != 0) return throw_errno(env, errno, "mkdirat", name);
  return undefined(env);
}

// unlinkat(dirfd, name, flags)
static napi_value js_unlinkat(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t dirfd, flags;
  char name[NAME_CAP];
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[0], &dirfd) || !get_name(env, argv[1], name) ||
      !get_int(env, argv[2], &flags))
    return NULL;
  if (unlinkat(dirfd, name, flags) != 0) return throw_errno(env, errno, "unlinkat", name);
  return undefined(env);
}

// renameat2(olddirfd, oldname, newdirfd, newname, flags)
static napi_value js_renameat(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t olddir, newdir, flags;
  char oldname[NAME_CAP], newname[NAME_CAP];
  if (!get_args(env, info, 5, argv) || !get_int(env, argv[0], &olddir) || !get_name(env, argv[1], oldname) ||
      !get_int(env, argv[2], &newdir) || !get_name(env, argv[3], newname) || !get_int(env, argv[4], &flags))
    return NULL;
  long rc = flags == 0 ? renameat(olddir, oldname, newdir, newname)
                       : syscall(SYS_renameat2, olddir, oldname, newdir, newname, (unsigned)flags);
  if (rc != 0) return throw_errno(env, errno, "renameat", newname);
  return undefined(env);
}

// symlinkat(target, dirfd, name)
static napi_value js_symlinkat(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t dirfd;
  char target[NAME_CAP], name[NAME_CAP];
  if (!get_args(env, info, 3, argv) || !get_name(env, argv[0], target) || !get_int(env, argv[1], &dirfd) ||
      !get_name(env, argv[2], name))
    return NULL;
  if (symlinkat(target, dirfd, name) != 0) return throw_errno(env, errno, "symlinkat", name);
  return undefined(env);
}

// linkat(olddirfd, oldname, newdirfd, newname, flags)
static napi_value js_linkat(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t olddir, newdir, flags;
  char oldname[NAME_CAP], newname[NAME_CAP];
  if (!get_args(env, info, 5, argv) || !get_int(env, argv[0], &olddir) || !get_name(env, argv[1], oldname) ||
      !get_int(env, argv[2], &newdir) || !get_name(env, argv[3], newname) || !get_int(env, argv[4], &flags))
    return NULL;
  if (linkat(olddir, oldname, newdir, newname, flags) != 0) return throw_errno(env, errno, "linkat", newname);
  return undefined(env);
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
  napi_value argv[3];
  int32_t dirfd, flags;
  char name[NAME_CAP];
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[0], &dirfd) || !get_name(env, argv[1], name) ||
      !get_int(env, argv[2], &flags))
    return NULL;
  struct statx st;
  if (statx(dirfd, name, flags, STATX_BASIC_STATS | STATX_MNT_ID, &st) != 0)
    return throw_errno(env, errno, "statx", name);
  napi_value result;
  CHECK(napi_create_object(env, &result));
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
  napi_value argv[2];
  int32_t fd, mode;
  if (!get_args(env, info, 2, argv) || !get_int(env, argv[0], &fd) || !get_int(env, argv[1], &mode)) return NULL;
  if (fchmod(fd, (mode_t)mode) == 0) return undefined(env);
  if (errno != EBADF) return throw_errno(env, errno, "fchmod", NULL);
  char path[64];
  proc_fd_path(path, sizeof path, fd);
  if (chmod(path, (mode_t)mode) != 0) return throw_errno(env, errno, "fchmod", NULL);
  return undefined(env);
}

// fchown(fd, uid, gid); O_PATH fds too (AT_EMPTY_PATH)
static napi_value js_fchown(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd, uid, gid;
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[0], &fd) || !get_int(env, argv[1], &uid) ||
      !get_int(env, argv[2], &gid))
    return NULL;
  if (fchownat(fd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
    return throw_errno(env, errno, "fchown", NULL);
  return undefined(env);
}

// futimens(fd, atimeNs, mtimeNs) with bigint nanoseconds; O_PATH fds too (through /proc/self/fd)
static napi_value js_futimens(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd;
  struct timespec times[2];
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[0], &fd) || !get_ns(env, argv[1], &times[0]) ||
      !get_ns(env, argv[2], &times[1]))
    return NULL;
  if (futimens(fd, times) == 0) return undefined(env);
  if (errno != EBADF) return throw_errno(env, errno, "futimens", NULL);
  char path[64];
  proc_fd_path(path, sizeof path, fd);
  if (utimensat(AT_FDCWD, path, times, 0) != 0) return throw_errno(env, errno, "futimens", NULL);
  return undefined(env);
}

// utimensat(dirfd, name, atimeNs, mtimeNs, flags): for symlinks (AT_SYMLINK_NOFOLLOW)
static napi_value js_utimensat(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t dirfd, flags;
  char name[NAME_CAP];
  struct timespec times[2];
  if (!get_args(env, info, 5, argv) || !get_int(env, argv[0], &dirfd) || !get_name(env, argv[1], name) ||
      !get_ns(env, argv[2], &times[0]) || !get_ns(env, argv[3], &times[1]) || !get_int(env, argv[4], &flags))
    return NULL;
  if (utimensat(dirfd, name, times, flags) != 0) return throw_errno(env, errno, "utimensat", name);
  return undefined(env);
}

// readdir(dirfd) -> [{ name: Buffer, type: d_type }], '.' and '..' left out. dirfd may be O_PATH.
static napi_value js_readdir(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t dirfd;
  if (!get_args(env, info, 1, argv) || !get_int(env, argv[0], &dirfd)) return NULL;
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
  napi_value argv[3];
  int32_t in, out;
  int64_t length;
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[0], &in) || !get_int(env, argv[1], &out)) return NULL;
  if (napi_get_value_int64(env, argv[2], &length) != napi_ok || length < 0) return throw_type(env, "fsat: bad length");
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
      {"openat", NULL, js_openat, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openat2", NULL, js_openat2, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mkdirat", NULL, js_mkdirat, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unlinkat", NULL, js_unlinkat, NULL, NULL, NULL, napi_enumerable, NULL},
      {"renameat", NULL, js_renameat, NULL, NULL, NULL, napi_enumerable, NULL},
      {"symlinkat", NULL, js_symlinkat, NULL, NULL, NULL, napi_enumerable, NULL},
      {"linkat", NULL, js_linkat, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stat", NULL, js_stat, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fchmod", NULL, js_fchmod, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fchown", NULL, js_fchown, NULL, NULL, NULL, napi_enumerable, NULL},
      {"futimens", NULL, js_futimens, NULL, NULL, NULL, napi_enumerable, NULL},
      {"utimensat", NULL, js_utimensat, NULL, NULL, NULL, napi_enumerable, NULL},
      {"readdir", NULL, js_readdir, NULL, NULL, NULL, napi_enumerable, NULL},
      {"copyFileRange", NULL, js_copy_file_range, NULL, NULL, NULL, napi_enumerable, NULL},
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
