/* weft-fault.c: an LD_PRELOAD shim that makes open, write, fsync and rename fail for chosen paths (see weft-fault.h). */
/* Every entry point is defined under its own name: with 64-bit offsets
 * forced, the headers would rename open() to open64() under us. */
#undef _FILE_OFFSET_BITS

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "weft-fault.h"

/* Exported so that an in-process test can tell the shim is there. */
__attribute__ ((visibility ("default"))) const int weft_fault_shim_loaded = 1;

typedef enum
{
  OP_OPEN = 1 << 0,
  OP_WRITE = 1 << 1,
  OP_FSYNC = 1 << 2,
  OP_RENAME = 1 << 3,
} Op;

typedef struct
{
  unsigned ops;
  int      errsv;
  uint32_t after;
  char     pattern[WEFT_FAULT_CONFIG_MAX];
} Config;

/* Set once by the constructor, before any thread of the process exists;
 * read-only afterwards. */
static WeftFaultControl *control;
static char static_config[WEFT_FAULT_CONFIG_MAX];

__attribute__ ((constructor)) static void
weft_fault_init (void)
{
  const char *path = getenv ("WEFT_FAULT_CONTROL");
  const char *config = getenv ("WEFT_FAULT");
  void *map;
  int fd;

  if (path != NULL && path[0] != '\0')
    {
      /* Mapped now: a sandboxed worker could not open it later. */
      fd = open (path, O_RDWR | O_CLOEXEC);
      if (fd < 0)
        {
          fprintf (stderr, "weft-fault: cannot open %s: %s\n", path, strerror (errno));
          abort ();
        }
      map = mmap (NULL, sizeof (WeftFaultControl), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      close (fd);
      if (map == MAP_FAILED)
        {
          fprintf (stderr, "weft-fault: cannot map %s: %s\n", path, strerror (errno));
          abort ();
        }
      control = map;
    }
  else if (config != NULL)
    snprintf (static_config, sizeof static_config, "%s", config);
}

static int
parse_errno (const char *name)
{
  static const struct { const char *name; int value; } names[] = {
    { "ENOSPC", ENOSPC }, { "EIO", EIO }, { "EACCES", EACCES }, { "EROFS", EROFS },
    { "EPERM", EPERM }, { "EDQUOT", EDQUOT }, { "EFBIG", EFBIG },
  };

  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp (name, names[i].name) == 0)
      return names[i].value;
  return atoi (name);
}

static unsigned
parse_ops (char *list)
{
  unsigned ops = 0;

  for (char *save = NULL, *op = strtok_r (list, ",", &save); op != NULL; op = strtok_r (NULL, ",", &save))
    {
      if (strcmp (op, "open") == 0)
        ops |= OP_OPEN;
      else if (strcmp (op, "write") == 0)
        ops |= OP_WRITE;
      else if (strcmp (op, "fsync") == 0)
        ops |= OP_FSYNC;
      else if (strcmp (op, "rename") == 0)
        ops |= OP_RENAME;
    }
  return ops;
}

/* Copies the configuration out of the shared block and parses it; false when
 * it injects nothing. */
static bool
read_config (Config *config)
{
  char text[WEFT_FAULT_CONFIG_MAX];
  char *save = NULL;

  if (control != NULL)
    {
      for (;;)
        {
          uint32_t seq = __atomic_load_n (&control->seq, __ATOMIC_ACQUIRE);

          if (seq & 1)
            continue;
          /* Acquire loads rather than relaxed ones and a fence (which
           * ThreadSanitizer does not support): the second read of seq
           * cannot move before any of them. */
          for (size_t i = 0; i < sizeof text; i++)
            text[i] = __atomic_load_n (&control->config[i], __ATOMIC_ACQUIRE);
          if (__atomic_load_n (&control->seq, __ATOMIC_RELAXED) == seq)
            break;
        }
      text[sizeof text - 1] = '\0';
    }
  else
    memcpy (text, static_config, sizeof text);

  memset (config, 0, sizeof *config);
  for (char *word = strtok_r (text, " \t\n", &save); word != NULL; word = strtok_r (NULL, " \t\n", &save))
    {
      char *value = strchr (word, '=');

      if (value == NULL)
        continue;
      *value++ = '\0';
      if (strcmp (word, "ops") == 0)
        config->ops = parse_ops (value);
      else if (strcmp (word, "errno") == 0)
        config->errsv = parse_errno (value);
      else if (strcmp (word, "path") == 0)
        snprintf (config->pattern, sizeof config->pattern, "%s", value);
      else if (strcmp (word, "after") == 0)
        config->after = (uint32_t) strtoul (value, NULL, 10);
    }
  return config->ops != 0 && config->errsv != 0 && config->pattern[0] != '\0';
}

/* Whether a call of kind @op on @path (and @path2, for a rename) must fail;
 * counts it when it matches. */
static bool
should_fail (Op          op,
             const char *path,
             const char *path2)
{
  Config config;
  uint32_t n;

  if (!read_config (&config) || (config.ops & op) == 0)
    return false;
  if ((path == NULL || fnmatch (config.pattern, path, 0) != 0) &&
      (path2 == NULL || fnmatch (config.pattern, path2, 0) != 0))
    return false;

  if (control != NULL)
    n = __atomic_fetch_add (&control->calls, 1, __ATOMIC_ACQ_REL);
  else
    {
      static uint32_t calls;

      n = __atomic_fetch_add (&calls, 1, __ATOMIC_RELAXED);
    }
  if (n < config.after)
    return false;
  if (control != NULL)
    __atomic_fetch_add (&control->injected, 1, __ATOMIC_RELEASE);
  errno = config.errsv;
  return true;
}

static bool
should_fail_fd (Op  op,
                int fd)
{
  char link[64], path[4096];
  ssize_t n;

  /* Cheap first: most writes of a GUI process go to sockets and pipes, and
   * the configuration decides whether descriptors matter at all. */
  {
    Config config;

    if (!read_config (&config) || (config.ops & op) == 0)
      return false;
  }
  snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
  n = readlink (link, path, sizeof path - 1);
  if (n <= 0)
    return false;
  path[n] = '\0';
  return should_fail (op, path, NULL);
}

/* @path as seen from @dirfd, absolute where the descriptor can be named. */
static const char *
resolve_at (int         dirfd,
            const char *path,
            char       *buf,
            size_t      size)
{
  char link[64], dir[4096];
  ssize_t n;

  if (path == NULL || path[0] == '/' || dirfd == AT_FDCWD)
    return path;
  snprintf (link, sizeof link, "/proc/self/fd/%d", dirfd);
  n = readlink (link, dir, sizeof dir - 1);
  if (n <= 0)
    return path;
  dir[n] = '\0';
  snprintf (buf, size, "%s/%s", dir, path);
  return buf;
}

static bool
should_fail_at (Op          op,
                int         dirfd,
                const char *path)
{
  char full[8192];

  return should_fail (op, resolve_at (dirfd, path, full, sizeof full), NULL);
}

/* The next definition of @name (libc's, or a sanitizer's interceptor),
 * looked up once; threads racing to look it up find the same value. */
#define REAL(name, type)                                                   \
  typedef __typeof__ (type) name##_fn;                                                  \
  static name##_fn real_##name##_cache;                                    \
  name##_fn real_##name = __atomic_load_n (&real_##name##_cache, __ATOMIC_RELAXED); \
  if (real_##name == NULL)                                                 \
    {                                                                      \
      real_##name = (name##_fn) dlsym (RTLD_NEXT, #name);                  \
      __atomic_store_n (&real_##name##_cache, real_##name, __ATOMIC_RELAXED); \
    }

static mode_t
mode_arg (int     flags,
          va_list args)
{
  return (flags & (O_CREAT | O_TMPFILE)) != 0 ? (mode_t) va_arg (args, int) : 0;
}

#define DEFINE_OPEN(name)                                                  \
  __attribute__ ((visibility ("default"))) int                            \
  name (const char *path, int flags, ...)                                  \
  {                                                                        \
    va_list args;                                                          \
    mode_t mode;                                                           \
    REAL (name, int (*) (const char *, int, ...));                         \
    va_start (args, flags);                                                \
    mode = mode_arg (flags, args);                                         \
    va_end (args);                                                         \
    if (should_fail (OP_OPEN, path, NULL))                                 \
      return -1;                                                           \
    return real_##name (path, flags, mode);                                \
  }

#define DEFINE_OPENAT(name)                                                \
  __attribute__ ((visibility ("default"))) int                            \
  name (int dirfd, const char *path, int flags, ...)                       \
  {                                                                        \
    va_list args;                                                          \
    mode_t mode;                                                           \
    REAL (name, int (*) (int, const char *, int, ...));                    \
    va_start (args, flags);                                                \
    mode = mode_arg (flags, args);                                         \
    va_end (args);                                                         \
    if (should_fail_at (OP_OPEN, dirfd, path))                             \
      return -1;                                                           \
    return real_##name (dirfd, path, flags, mode);                         \
  }

DEFINE_OPEN (open)
DEFINE_OPEN (open64)
DEFINE_OPENAT (openat)
DEFINE_OPENAT (openat64)

/* The _FORTIFY_SOURCE entry points, which take no mode. */
int __open_2 (const char *path, int flags);
int __open64_2 (const char *path, int flags);
int __openat_2 (int dirfd, const char *path, int flags);
int __openat64_2 (int dirfd, const char *path, int flags);

#define DEFINE_OPEN_2(name)                                                \
  __attribute__ ((visibility ("default"))) int                            \
  name (const char *path, int flags)                                       \
  {                                                                        \
    REAL (name, int (*) (const char *, int));                              \
    if (should_fail (OP_OPEN, path, NULL))                                 \
      return -1;                                                           \
    return real_##name (path, flags);                                      \
  }

#define DEFINE_OPENAT_2(name)                                              \
  __attribute__ ((visibility ("default"))) int                            \
  name (int dirfd, const char *path, int flags)                            \
  {                                                                        \
    REAL (name, int (*) (int, const char *, int));                         \
    if (should_fail_at (OP_OPEN, dirfd, path))                             \
      return -1;                                                           \
    return real_##name (dirfd, path, flags);                               \
  }

DEFINE_OPEN_2 (__open_2)
DEFINE_OPEN_2 (__open64_2)
DEFINE_OPENAT_2 (__openat_2)
DEFINE_OPENAT_2 (__openat64_2)

__attribute__ ((visibility ("default"))) int
creat (const char *path, mode_t mode)
{
  REAL (creat, int (*) (const char *, mode_t));
  if (should_fail (OP_OPEN, path, NULL))
    return -1;
  return real_creat (path, mode);
}

__attribute__ ((visibility ("default"))) int
creat64 (const char *path, mode_t mode)
{
  REAL (creat64, int (*) (const char *, mode_t));
  if (should_fail (OP_OPEN, path, NULL))
    return -1;
  return real_creat64 (path, mode);
}

__attribute__ ((visibility ("default"))) ssize_t
write (int fd, const void *buf, size_t len)
{
  REAL (write, ssize_t (*) (int, const void *, size_t));
  if (should_fail_fd (OP_WRITE, fd))
    return -1;
  return real_write (fd, buf, len);
}

#define DEFINE_PWRITE(name)                                                \
  __attribute__ ((visibility ("default"))) ssize_t                        \
  name (int fd, const void *buf, size_t len, off_t off)                    \
  {                                                                        \
    REAL (name, ssize_t (*) (int, const void *, size_t, off_t));           \
    if (should_fail_fd (OP_WRITE, fd))                                     \
      return -1;                                                           \
    return real_##name (fd, buf, len, off);                                \
  }

DEFINE_PWRITE (pwrite)
DEFINE_PWRITE (pwrite64)

__attribute__ ((visibility ("default"))) ssize_t
writev (int fd, const struct iovec *iov, int n_iov)
{
  REAL (writev, ssize_t (*) (int, const struct iovec *, int));
  if (should_fail_fd (OP_WRITE, fd))
    return -1;
  return real_writev (fd, iov, n_iov);
}

#define DEFINE_PWRITEV(name)                                               \
  __attribute__ ((visibility ("default"))) ssize_t                        \
  name (int fd, const struct iovec *iov, int n_iov, off_t off)             \
  {                                                                        \
    REAL (name, ssize_t (*) (int, const struct iovec *, int, off_t));      \
    if (should_fail_fd (OP_WRITE, fd))                                     \
      return -1;                                                           \
    return real_##name (fd, iov, n_iov, off);                              \
  }

DEFINE_PWRITEV (pwritev)
DEFINE_PWRITEV (pwritev64)

#define DEFINE_SENDFILE(name)                                              \
  __attribute__ ((visibility ("default"))) ssize_t                        \
  name (int out_fd, int in_fd, off_t *off, size_t len)                     \
  {                                                                        \
    REAL (name, ssize_t (*) (int, int, off_t *, size_t));                  \
    if (should_fail_fd (OP_WRITE, out_fd))                                 \
      return -1;                                                           \
    return real_##name (out_fd, in_fd, off, len);                          \
  }

DEFINE_SENDFILE (sendfile)
DEFINE_SENDFILE (sendfile64)

__attribute__ ((visibility ("default"))) ssize_t
copy_file_range (int in_fd, off_t *in_off, int out_fd, off_t *out_off, size_t len, unsigned int flags)
{
  REAL (copy_file_range, ssize_t (*) (int, off_t *, int, off_t *, size_t, unsigned int));
  if (should_fail_fd (OP_WRITE, out_fd))
    return -1;
  return real_copy_file_range (in_fd, in_off, out_fd, out_off, len, flags);
}

__attribute__ ((visibility ("default"))) ssize_t
splice (int in_fd, loff_t *in_off, int out_fd, loff_t *out_off, size_t len, unsigned int flags)
{
  REAL (splice, ssize_t (*) (int, loff_t *, int, loff_t *, size_t, unsigned int));
  if (should_fail_fd (OP_WRITE, out_fd))
    return -1;
  return real_splice (in_fd, in_off, out_fd, out_off, len, flags);
}

__attribute__ ((visibility ("default"))) int
fsync (int fd)
{
  REAL (fsync, int (*) (int));
  if (should_fail_fd (OP_FSYNC, fd))
    return -1;
  return real_fsync (fd);
}

__attribute__ ((visibility ("default"))) int
fdatasync (int fd)
{
  REAL (fdatasync, int (*) (int));
  if (should_fail_fd (OP_FSYNC, fd))
    return -1;
  return real_fdatasync (fd);
}

__attribute__ ((visibility ("default"))) int
rename (const char *from, const char *to)
{
  REAL (rename, int (*) (const char *, const char *));
  if (should_fail (OP_RENAME, from, to))
    return -1;
  return real_rename (from, to);
}

static bool
should_fail_renameat (int         from_dirfd,
                      const char *from,
                      int         to_dirfd,
                      const char *to)
{
  char from_buf[8192], to_buf[8192];

  return should_fail (OP_RENAME, resolve_at (from_dirfd, from, from_buf, sizeof from_buf),
                      resolve_at (to_dirfd, to, to_buf, sizeof to_buf));
}

__attribute__ ((visibility ("default"))) int
renameat (int from_dirfd, const char *from, int to_dirfd, const char *to)
{
  REAL (renameat, int (*) (int, const char *, int, const char *));
  if (should_fail_renameat (from_dirfd, from, to_dirfd, to))
    return -1;
  return real_renameat (from_dirfd, from, to_dirfd, to);
}

__attribute__ ((visibility ("default"))) int
renameat2 (int from_dirfd, const char *from, int to_dirfd, const char *to, unsigned int flags)
{
  REAL (renameat2, int (*) (int, const char *, int, const char *, unsigned int));
  if (should_fail_renameat (from_dirfd, from, to_dirfd, to))
    return -1;
  return real_renameat2 (from_dirfd, from, to_dirfd, to, flags);
}
