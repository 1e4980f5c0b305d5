/* fsx: the few Linux file-system calls Node lacks (xattrs on links, mknod, utimensat with
 * nanoseconds, flock, mount and umount). Synchronous on purpose: tsbuild calls them from worker threads. Errors are thrown
 * as Error objects carrying `code` (the errno name, like Node's own fs errors), `errno` and `syscall`. */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define PATH_BUF 4096
#define NAME_BUF 256

static const char *errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case EROFS: return "EROFS";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ELOOP: return "ELOOP";
    case ENODATA: return "ENODATA";
    case ENOTSUP: return "ENOTSUP";
    case ERANGE: return "ERANGE";
    case E2BIG: return "E2BIG";
    case EDQUOT: return "EDQUOT";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case EWOULDBLOCK: return "EWOULDBLOCK";
    case EINTR: return "EINTR";
    case EBUSY: return "EBUSY";
    case ENODEV: return "ENODEV";
    case ENOTBLK: return "ENOTBLK";
    case ENOMEM: return "ENOMEM";
    case EOVERFLOW: return "EOVERFLOW";
    default: return "EUNKNOWN";
  }
}

static napi_value throw_errno(napi_env env, const char *syscall, const char *path) {
  int e = errno;
  char msg[PATH_BUF + 128];
  snprintf(msg, sizeof msg, "%s: %s, %s '%s'", errno_name(e), strerror(e), syscall, path ? path : "");
  napi_value m, err, v;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, NULL, m, &err);
  napi_create_string_utf8(env, errno_name(e), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, err, "code", v);
  napi_create_int32(env, -e, &v);
  napi_set_named_property(env, err, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, err, "syscall", v);
  if (path) {
    napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, err, "path", v);
  }
  napi_throw(env, err);
  return NULL;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t cap, const char *what) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, what);
    return 0;
  }
  if (len + 1 > cap) {
    errno = ENAMETOOLONG;
    throw_errno(env, "fsx", NULL);
    return 0;
  }
  napi_get_value_string_utf8(env, v, buf, cap, &len);
  if (strlen(buf) != len) { /* embedded NUL: never let it truncate a path */
    napi_throw_type_error(env, NULL, "string contains a NUL byte");
    return 0;
  }
  return 1;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < want) {
    napi_throw_type_error(env, NULL, "not enough arguments");
    return 0;
  }
  return 1;
}

/* lgetxattr(path, name) -> Buffer | undefined (when the attribute is absent) */
static napi_value js_lgetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char path[PATH_BUF], name[NAME_BUF];
  if (!get_args(env, info, 2, argv)) return NULL;
  if (!get_string(env, argv[0], path, sizeof path, "path must be a string")) return NULL;
  if (!get_string(env, argv[1], name, sizeof name, "name must be a string")) return NULL;
  for (;;) {
    ssize_t n = lgetxattr(path, name, NULL, 0);
    if (n < 0) {
      if (errno == ENODATA) {
        napi_value u;
        napi_get_undefined(env, &u);
        return u;
      }
      return throw_errno(env, "lgetxattr", path);
    }
    void *data = NULL;
    napi_value buf;
    napi_create_buffer(env, (size_t)n, &data, &buf);
    ssize_t m = n == 0 ? 0 : lgetxattr(path, name, data, (size_t)n);
    if (m < 0) {
      if (errno == ERANGE) continue; /* grew between the two calls */
      if (errno == ENODATA) {
        napi_value u;
        napi_get_undefined(env, &u);
        return u;
      }
      return throw_errno(env, "lgetxattr", path);
    }
    if (m != n) {
      napi_value out;
      napi_create_buffer_copy(env, (size_t)m, data, NULL, &out);
      return out;
    }
    return buf;
  }
}

/* llistxattr(path) -> string[] (in kernel order; callers sort) */
static napi_value js_llistxattr(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char path[PATH_BUF];
  if (!get_args(env, info, 1, argv)) return NULL;
  if (!get_string(env, argv[0], path, sizeof path, "path must be a string")) return NULL;
  char stackbuf[1024];
  char *list = stackbuf;
  ssize_t n = llistxattr(path, list, sizeof stackbuf);
  while (n < 0 && errno == ERANGE) {
    ssize_t need = llistxattr(path, NULL, 0);
    if (need < 0) break;
    if (list != stackbuf) free(list);
    list = malloc((size_t)need + 1);
    if (!list) {
      errno = ENOMEM;
      return throw_errno(env, "llistxattr", path);
    }
    n = llistxattr(path, list, (size_t)need + 1);
  }
  if (n < 0) {
    int e = errno;
    if (list != stackbuf) free(list);
    napi_value arr;
    if (e == ENOTSUP) { /* file system without xattrs: nothing to list */
      napi_create_array_with_length(env, 0, &arr);
      return arr;
    }
    errno = e;
    return throw_errno(env, "llistxattr", path);
  }
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t i = 0;
  for (ssize_t off = 0; off < n;) {
    size_t len = strnlen(list + off, (size_t)(n - off));
    if (len > 0) {
      napi_value s;
      napi_create_string_utf8(env, list + off, len, &s);
      napi_set_element(env, arr, i++, s);
    }
    off += (ssize_t)len + 1;
  }
  if (list != stackbuf) free(list);
  return arr;
}

/* lsetxattr(path, name, value: Buffer) */
static napi_value js_lsetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char path[PATH_BUF], name[NAME_BUF];
  if (!get_args(env, info, 3, argv)) return NULL;
  if (!get_string(env, argv[0], path, sizeof path, "path must be a string")) return NULL;
  if (!get_string(env, argv[1], name, sizeof name, "name must be a string")) return NULL;
  void *data = NULL;
  size_t len = 0;
  bool isbuf = false;
  napi_is_buffer(env, argv[2], &isbuf);
  if (!isbuf) {
    napi_throw_type_error(env, NULL, "value must be a Buffer");
    return NULL;
  }
  napi_get_buffer_info(env, argv[2], &data, &len);
  if (lsetxattr(path, name, len ? data : "", len, 0) != 0) return throw_errno(env, "lsetxattr", path);
  return NULL;
}

/* lremovexattr(path, name); absent attributes are not an error */
static napi_value js_lremovexattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char path[PATH_BUF], name[NAME_BUF];
  if (!get_args(env, info, 2, argv)) return NULL;
  if (!get_string(env, argv[0], path, sizeof path, "path must be a string")) return NULL;
  if (!get_string(env, argv[1], name, sizeof name, "name must be a string")) return NULL;
  if (lremovexattr(path, name) != 0 && errno != ENODATA) return throw_errno(env, "lremovexattr", path);
  return NULL;
}

/* mknod(path, mode (type and permission bits), major, minor) */
static napi_value js_mknod(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  char path[PATH_BUF];
  uint32_t mode = 0, major = 0, minor = 0;
  if (!get_args(env, info, 4, argv)) return NULL;
  if (!get_string(env, argv[0], path, sizeof path, "path must be a string")) return NULL;
  napi_get_value_uint32(env, argv[1], &mode);
  napi_get_value_uint32(env, argv[2], &major);
  napi_get_value_uint32(env, argv[3], &minor);
  /* The system call rather than glibc's mknod: glibc >= 2.33 versions that symbol (mknod@GLIBC_2.33),
   * which would keep the prebuilt binary from loading on older glibc (Node 20 runs on 2.28).
   * The kernel takes the device number as 32 bits, as glibc's own wrapper checks. */
  dev_t dev = makedev(major, minor);
  if ((dev_t)(unsigned int)dev != dev) {
    errno = EOVERFLOW;
    return throw_errno(env, "mknod", path);
  }
  if (syscall(SYS_mknodat, AT_FDCWD, path, (mode_t)mode, (unsigned int)dev) != 0) return throw_errno(env, "mknod", path);
  return NULL;
}

/* lutimes(path, atimeSec, atimeNsec, mtimeSec, mtimeNsec): utimensat without following links.
 * Node's own utimes goes through a double and loses the nanoseconds. Seconds are doubles
 * (exact for |t| < 2^53). */
static napi_value js_lutimes(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  char path[PATH_BUF];
  double as = 0, ms = 0;
  int64_t an = 0, mn = 0;
  if (!get_args(env, info, 5, argv)) return NULL;
  if (!get_string(env, argv[0], path, sizeof path, "path must be a string")) return NULL;
  napi_get_value_double(env, argv[1], &as);
  napi_get_value_int64(env, argv[2], &an);
  napi_get_value_double(env, argv[3], &ms);
  napi_get_value_int64(env, argv[4], &mn);
  struct timespec ts[2];
  ts[0].tv_sec = (time_t)as;
  ts[0].tv_nsec = (long)an;
  ts[1].tv_sec = (time_t)ms;
  ts[1].tv_nsec = (long)mn;
  if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) != 0) return throw_errno(env, "utimensat", path);
  return NULL;
}

/* tryLockExclusive(fd) -> true when this open file now holds flock(LOCK_EX), false when another
 * holds it (never waits). The kernel drops the lock when the file is closed, also when the process dies. */
static napi_value js_try_lock_exclusive(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  int32_t fd = -1;
  if (!get_args(env, info, 1, argv)) return NULL;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "fd must be a file descriptor");
    return NULL;
  }
  int r;
  do r = flock(fd, LOCK_EX | LOCK_NB); while (r != 0 && errno == EINTR);
  if (r != 0 && errno != EWOULDBLOCK) return throw_errno(env, "flock", "");
  napi_get_boolean(env, r == 0, &result);
  return result;
}

/* mount(source, target, fstype, data): mount(2) with no flags, e.g. an overlay with its options in
 * `data` (at most a page, the kernel's limit). */
static napi_value js_mount(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  char source[PATH_BUF], target[PATH_BUF], fstype[NAME_BUF], data[PATH_BUF];
  if (!get_args(env, info, 4, argv)) return NULL;
  if (!get_string(env, argv[0], source, sizeof source, "source must be a string")) return NULL;
  if (!get_string(env, argv[1], target, sizeof target, "target must be a string")) return NULL;
  if (!get_string(env, argv[2], fstype, sizeof fstype, "fstype must be a string")) return NULL;
  if (!get_string(env, argv[3], data, sizeof data, "data must be a string")) return NULL;
  if (mount(source, target, fstype, 0, data) != 0) return throw_errno(env, "mount", target);
  return NULL;
}

/* umount(target): umount2(2) with no flags (EBUSY when the mount is in use). */
static napi_value js_umount(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char target[PATH_BUF];
  if (!get_args(env, info, 1, argv)) return NULL;
  if (!get_string(env, argv[0], target, sizeof target, "target must be a string")) return NULL;
  if (umount2(target, 0) != 0) return throw_errno(env, "umount2", target);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"lgetxattr", NULL, js_lgetxattr, NULL, NULL, NULL, napi_default, NULL},
    {"llistxattr", NULL, js_llistxattr, NULL, NULL, NULL, napi_default, NULL},
    {"lsetxattr", NULL, js_lsetxattr, NULL, NULL, NULL, napi_default, NULL},
    {"lremovexattr", NULL, js_lremovexattr, NULL, NULL, NULL, napi_default, NULL},
    {"mknod", NULL, js_mknod, NULL, NULL, NULL, napi_default, NULL},
    {"lutimes", NULL, js_lutimes, NULL, NULL, NULL, napi_default, NULL},
    {"tryLockExclusive", NULL, js_try_lock_exclusive, NULL, NULL, NULL, napi_default, NULL},
    {"mount", NULL, js_mount, NULL, NULL, NULL, napi_default, NULL},
    {"umount", NULL, js_umount, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
