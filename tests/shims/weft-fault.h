/* weft-fault.h: the control file of libweft-fault, the LD_PRELOAD shim that makes file calls fail on demand. */
#pragma once

#include <stdint.h>

/* A process started with LD_PRELOAD=libweft-fault.so and
 * WEFT_FAULT_CONTROL=FILE maps FILE (at least sizeof (WeftFaultControl)
 * bytes) shared, at start-up, before a worker sandboxes itself; every process
 * of a test (the test, its worker processes) then sees the same control
 * block, and a test changes the faults of all of them at once by rewriting
 * it.
 *
 * The configuration is text: space-separated key=value words.
 *   ops=open,write,fsync,rename  the calls that fail: open = open*()/creat();
 *                                write = write(), pwrite*(), writev(),
 *                                pwritev*(), sendfile*(), copy_file_range(),
 *                                splice() into the descriptor;
 *                                fsync = fsync(), fdatasync(); rename =
 *                                rename*(), on either path
 *   errno=ENOSPC|EIO|EACCES|EROFS|<number>
 *   path=GLOB                    fnmatch() pattern over the whole path, '*'
 *                                crossing '/'; for descriptors the path
 *                                /proc/self/fd names
 *   after=N                      the first N matching calls (counted over all
 *                                processes since the configuration was set)
 *                                succeed
 * An empty configuration injects nothing. Without WEFT_FAULT_CONTROL the
 * configuration is taken from $WEFT_FAULT once, at start-up.
 *
 * Writers (the test) bump @seq to odd, write @config, reset the counters
 * and bump @seq to even again; readers (the shim) retry while @seq is odd or
 * changed under them. Every field is accessed with __atomic builtins, so the
 * header serves C and C++ alike. */

#define WEFT_FAULT_CONFIG_MAX 512

typedef struct
{
  uint32_t seq;        /* odd while a writer changes @config */
  uint32_t calls;      /* matching calls since @config was set, all processes */
  uint32_t injected;   /* failures injected since @config was set */
  uint32_t reserved;
  char     config[WEFT_FAULT_CONFIG_MAX];  /* NUL-terminated */
} WeftFaultControl;

/* For a test running in the same process: present (non-NULL through
 * dlsym (RTLD_DEFAULT, ...)) only when the shim is loaded. */
#define WEFT_FAULT_LOADED_SYMBOL "weft_fault_shim_loaded"

static inline void
weft_fault_control_set (WeftFaultControl *control,
                        const char       *config)
{
  uint32_t seq = __atomic_load_n (&control->seq, __ATOMIC_RELAXED);
  unsigned i = 0;

  /* Release stores rather than a fence (which ThreadSanitizer does not
   * support): a reader that sees any new byte also sees the odd seq. */
  __atomic_store_n (&control->seq, seq + 1, __ATOMIC_RELAXED);
  for (; config[i] != '\0' && i + 1 < WEFT_FAULT_CONFIG_MAX; i++)
    __atomic_store_n (&control->config[i], config[i], __ATOMIC_RELEASE);
  for (; i < WEFT_FAULT_CONFIG_MAX; i++)
    __atomic_store_n (&control->config[i], '\0', __ATOMIC_RELEASE);
  __atomic_store_n (&control->calls, 0, __ATOMIC_RELAXED);
  __atomic_store_n (&control->injected, 0, __ATOMIC_RELAXED);
  __atomic_store_n (&control->seq, seq + 2, __ATOMIC_RELEASE);
}

static inline uint32_t
weft_fault_control_get_injected (const WeftFaultControl *control)
{
  return __atomic_load_n (&control->injected, __ATOMIC_ACQUIRE);
}

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static inline void
weft_fault_remove_control (void)
{
  const char *path = getenv ("WEFT_FAULT_CONTROL");

  if (path != NULL)
    unlink (path);
}

/* For a test program's main(): unless the shim is loaded already, creates a
 * control file in @dir, points WEFT_FAULT_CONTROL at it and runs the program
 * again with @shim_path preloaded (sanitizer runtimes allowed to come
 * second). Returns only when the shim is loaded, with the control block
 * mapped; on any failure prints why and exits with status 1, so that a test
 * meant to inject faults never passes without them. */
static inline WeftFaultControl *
weft_fault_preload_or_die (char       **argv,
                           const char  *shim_path,
                           const char  *dir)
{
  const char *control_path = getenv ("WEFT_FAULT_CONTROL");
  void *map;
  int fd;

  if (dlsym (RTLD_DEFAULT, WEFT_FAULT_LOADED_SYMBOL) == NULL)
    {
      static char path[4096];
      const char *asan = getenv ("ASAN_OPTIONS");
      char *asan_options;

      if (getenv ("WEFT_FAULT_REEXEC") != NULL)
        {
          fprintf (stderr, "%s: %s did not load\n", argv[0], shim_path);
          exit (1);
        }
      snprintf (path, sizeof path, "%s/weft-fault-control-XXXXXX", dir);
      fd = mkstemp (path);
      if (fd < 0 || ftruncate (fd, sizeof (WeftFaultControl)) != 0)
        {
          fprintf (stderr, "%s: cannot create %s\n", argv[0], path);
          exit (1);
        }
      close (fd);
      asan_options = (char *) malloc (strlen (asan != NULL ? asan : "") + 64);
      sprintf (asan_options, "%s%sverify_asan_link_order=0", asan != NULL ? asan : "",
               asan != NULL && asan[0] != '\0' ? ":" : "");
      setenv ("ASAN_OPTIONS", asan_options, 1);
      setenv ("WEFT_FAULT_CONTROL", path, 1);
      setenv ("WEFT_FAULT_REEXEC", "1", 1);
      setenv ("LD_PRELOAD", shim_path, 1);
      execv ("/proc/self/exe", argv);
      fprintf (stderr, "%s: cannot run again with %s preloaded\n", argv[0], shim_path);
      exit (1);
    }

  /* The re-run. Worker processes started later map the file too, so it
   * stays until this process exits. */
  fd = control_path != NULL ? open (control_path, O_RDWR | O_CLOEXEC) : -1;
  map = fd >= 0 ? mmap (NULL, sizeof (WeftFaultControl), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                : MAP_FAILED;
  if (fd >= 0)
    close (fd);
  if (map == MAP_FAILED)
    {
      fprintf (stderr, "%s: cannot map the fault control file\n", argv[0]);
      exit (1);
    }
  atexit (weft_fault_remove_control);
  return (WeftFaultControl *) map;
}
