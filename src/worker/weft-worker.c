/* weft-worker.c: the helper process of the processes backend: sandbox itself, then serve jobs. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "weft-backend.h"
#include "weft-ipc.h"
#include "weft-ipc-control.h"
#include "weft-job.h"
#include "weft-sandbox.h"
#include "weft-spell-job.h"

/* The last job input this worker mapped, kept for the next job: the jobs
 * of one sort send the same memfds (its runs, then its buckets or merges,
 * and a retry), and mapping 63 MB again cost ~13 ms of page-table work and
 * unmapping it ~5 ms, each time. The parent names each input's memfds by a
 * serial of its own (it is trusted; this process is not); the memfds are
 * sealed against writes, so the same input holds the same bytes. */
typedef struct
{
  guint64     serial;
  size_t      len;
  const void *map;   /* NULL: none kept */
} InputCache;

/* How long a kept input may outlive its last job. The mapping pins the
 * text's pages, which the editor may have let go of since. */
#define INPUT_CACHE_IDLE_MS 1000

typedef struct
{
  int                   sock;
  const WeftIpcControl *control;
  guint8               *buf;
  WeftSpellWorker      *spell;  /* dictionaries loaded before the sandbox closed */
  InputCache            input;
} Worker;

typedef struct
{
  const WeftIpcControl *control;
  guint64               job_id;
} CancelCheck;

static void G_GNUC_NORETURN G_GNUC_PRINTF (1, 2)
die (const char *format,
     ...)
{
  va_list args;

  fputs ("weft-worker: ", stderr);
  va_start (args, format);
  vfprintf (stderr, format, args);
  va_end (args);
  fputc ('\n', stderr);
  /* _exit: nothing at exit could do good in a sandboxed process. */
  _exit (2);
}

/* The most descriptors a message carries: a job's input memfds, its aux
 * input's and its output file or memfd. */
#define MAX_FDS (WEFT_IPC_MAX_INPUT_PIECES + 2)

/* Receives one datagram and at most MAX_FDS descriptors, in one SCM_RIGHTS
 * block; *out_n_fds says how many came. Returns the length, or 0 once the
 * parent hung up. */
static size_t
recv_message (Worker *w,
              int     out_fds[MAX_FDS],
              size_t *out_n_fds)
{
  union {
    char buf[CMSG_SPACE (MAX_FDS * sizeof (int))];
    struct cmsghdr align;
  } control;
  struct iovec iov = { w->buf, WEFT_IPC_MAX_MESSAGE + 1 };
  struct msghdr msg = { 0 };
  gboolean seen = FALSE;
  ssize_t n;

  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;

  do
    n = recvmsg (w->sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    die ("receive failed: %s", g_strerror (errno));

  *out_n_fds = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR (&msg); c != NULL; c = CMSG_NXTHDR (&msg, c))
    {
      size_t n_fds;

      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
          c->cmsg_len < CMSG_LEN (sizeof (int)) || seen)
        die ("unexpected control data");
      n_fds = (c->cmsg_len - CMSG_LEN (0)) / sizeof (int);
      if (n_fds > MAX_FDS || c->cmsg_len != CMSG_LEN (n_fds * sizeof (int)))
        die ("unexpected control data");
      memcpy (out_fds, CMSG_DATA (c), n_fds * sizeof (int));
      *out_n_fds = n_fds;
      seen = TRUE;
    }
  if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0)
    die ("message too long");
  return n;
}

static void
send_message (Worker           *w,
              const GByteArray *msg)
{
  ssize_t n;

  do
    n = send (w->sock, msg->data, msg->len, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    {
      /* The parent went away or stopped listening: nothing left to do. */
      if (errno == EPIPE || errno == ECONNRESET)
        _exit (0);
      die ("send failed: %s", g_strerror (errno));
    }
}

static gboolean
job_is_cancelled (gpointer data)
{
  CancelCheck *check = data;

  return atomic_load_explicit (&check->control->cancel_job_id, memory_order_acquire) == check->job_id;
}

/* The parent must have sealed the input: an unsealed file could shrink
 * under a mapping and SIGBUS us, or change while a SAVE copies it. */
static void
check_input (int    fd,
             size_t len)
{
  struct stat st;
  int seals;

  if (fstat (fd, &st) < 0 || st.st_size < 0 || (guint64) st.st_size < len)
    die ("input memfd shorter than announced");
  seals = fcntl (fd, F_GET_SEALS);
  if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_WRITE)) != (F_SEAL_SHRINK | F_SEAL_WRITE))
    die ("input memfd is not sealed");
}

/* A SAVE's input comes through a pipe the parent vmsplice()s the text
 * into as this worker splice()s it out: the text is copied once, into the
 * file, as a plain write() would (a memfd cost a second copy, 63 MB in
 * ~60 ms, plus its pages' allocation and release). A pipe cannot shrink
 * under us, so there is nothing to seal; it must be one we may read. */
static void
check_input_pipe (int fd)
{
  struct stat st;
  int flags = fcntl (fd, F_GETFL);

  if (fstat (fd, &st) < 0 || !S_ISFIFO (st.st_mode))
    die ("a save's input is not a pipe");
  if (flags < 0 || (flags & O_ACCMODE) != O_RDONLY)
    die ("a save's input pipe is not open for reading");
}

/* Maps the job's input read-only. The pages are mapped in one go
 * (MAP_POPULATE) rather than faulted one at a time: a 63 MB round trip went
 * from 139 ms to 80 ms. */
static const void *
map_input (int    fd,
           size_t len)
{
  void *map;

  map = mmap (NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (map == MAP_FAILED)
    die ("cannot map the input: %s", g_strerror (errno));
  return map;
}

/* A SAVE's output must be a regular file this worker may write: anything
 * else means the parent is confused, and writing into it would do harm. */
static void
check_output_fd (int fd)
{
  struct stat st;
  int flags = fcntl (fd, F_GETFL);

  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    die ("output descriptor is not a regular file");
  if (flags < 0 || ((flags & O_ACCMODE) != O_WRONLY && (flags & O_ACCMODE) != O_RDWR))
    die ("output descriptor is not open for writing");
}

static void
input_cache_drop (InputCache *cache)
{
  if (cache->map != NULL)
    munmap ((void *) cache->map, cache->len);
  *cache = (InputCache) { 0 };
}

/* Maps the @n_pieces memfds @fds of a job's input end to end (each but
 * the last holds @piece_len bytes, a multiple of the page size), read-only
 * and populated. */
static const void *
map_input_pieces (const int *fds,
                  guint      n_pieces,
                  size_t     piece_len,
                  size_t     len)
{
  size_t page = (size_t) sysconf (_SC_PAGESIZE);
  guint8 *base;

  if (n_pieces == 1)
    return map_input (fds[0], len);
  if (piece_len % page != 0)
    die ("input pieces not page-aligned");
  /* Room for the whole input first, then each piece in its place. */
  base = mmap (NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED)
    die ("cannot reserve room for the input: %s", g_strerror (errno));
  for (guint i = 0; i < n_pieces; i++)
    {
      size_t off = i * piece_len;
      size_t part = i + 1 < n_pieces ? piece_len : len - off;

      if (mmap (base + off, part, PROT_READ, MAP_SHARED | MAP_FIXED | MAP_POPULATE, fds[i], 0) == MAP_FAILED)
        die ("cannot map the input: %s", g_strerror (errno));
    }
  return base;
}

/* The job's input in @fds (checked), mapped, or the mapping kept from the
 * last job when it is the same input. */
static const void *
map_input_cached (InputCache       *cache,
                  const int        *fds,
                  const WeftIpcJob *job)
{
  for (guint i = 0; i < job->n_input_fds; i++)
    {
      size_t off = i * job->input_piece_len;

      check_input (fds[i], i + 1 < job->n_input_fds ? job->input_piece_len : job->input_len - off);
    }
  if (cache->map != NULL && job->input_serial != 0 && cache->serial == job->input_serial &&
      cache->len == job->input_len)
    return cache->map;
  input_cache_drop (cache);
  cache->map = map_input_pieces (fds, job->n_input_fds, job->input_piece_len, job->input_len);
  cache->serial = job->input_serial;
  cache->len = job->input_len;
  return cache->map;
}

/* Waits for the parent's next message; a kept input is let go of once the
 * worker has been idle for INPUT_CACHE_IDLE_MS. */
static void
wait_for_message (Worker *w)
{
  struct pollfd pfd = { w->sock, POLLIN, 0 };
  int rc;

  if (w->input.map == NULL)
    return;
  do
    rc = poll (&pfd, 1, INPUT_CACHE_IDLE_MS);
  while (rc < 0 && errno == EINTR);
  if (rc == 0)
    input_cache_drop (&w->input);
}

static void
serve_job (Worker *w,
           size_t  len,
           int     fds[MAX_FDS],
           size_t  n_fds)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) options = NULL;
  g_autoptr(GBytes) output = NULL;
  /* A large result already copied into the parent's memfd: freeing tens of
   * megabytes takes milliseconds, so that waits until the answer is sent. */
  g_autoptr(GBytes) large = NULL;
  g_autoptr(GByteArray) reply = g_byte_array_new ();
  g_autoptr(WeftJobInput) input = NULL;
  g_autoptr(WeftJobInput) aux = NULL;
  WeftIpcResult result = { 0 };
  struct rusage before, after;
  const void *map = NULL, *aux_map = NULL;
  CancelCheck check;
  WeftIpcJob job;
  gint64 start_us;
  gsize output_len = 0;
  int fd = -1, aux_fd = -1, out_fd = -1;

  if (!weft_ipc_decode_job (w->buf, len, &job, &error))
    die ("%s", error->message);
  /* The decoder has tied n_output_fds to the kind: a SAVE or a job with a
   * large output comes with exactly one output descriptor, any other job
   * with none. */
  if (n_fds != job.n_input_fds + (job.aux_len > 0 ? 1u : 0u) + job.n_output_fds)
    die ("input or output descriptor missing or unexpected");
  if (job.input_len > 0)
    fd = fds[0];
  if (job.aux_len > 0)
    {
      aux_fd = fds[job.n_input_fds];
      check_input (aux_fd, job.aux_len);
      aux_map = map_input (aux_fd, job.aux_len);
      aux = weft_job_input_new_static (aux_map, job.aux_len);
    }
  if (job.n_output_fds == 1)
    {
      out_fd = fds[n_fds - 1];
      check_output_fd (out_fd);
    }

  /* A SAVE's input streams through a pipe into its file and is never
   * mapped. */
  if (job.input_len > 0 && job.kind == WEFT_JOB_SAVE)
    check_input_pipe (fd);
  else if (job.input_len > 0)
    map = map_input_cached (&w->input, fds, &job);
  input = map != NULL ? weft_job_input_new_static (map, job.input_len) : NULL;
  options = g_bytes_new_static (job.options, job.options_len);
  check.control = w->control;
  check.job_id = job.job_id;

  getrusage (RUSAGE_SELF, &before);
  start_us = g_get_monotonic_time ();
  /* A SAVE's file was opened by the parent, which renames it once we
   * answer: this process could not open it under its sandbox anyway. */
  if (job.kind == WEFT_JOB_SAVE)
    weft_job_run_save_to_fd (fd, job.input_len, options, out_fd, job_is_cancelled, &check, &output, &error);
  else if (weft_spell_job_kind_is_spell (job.kind))
    weft_spell_worker_run (w->spell, job.kind, input, options, job_is_cancelled, &check, &output, &error);
  else
    weft_job_run_full (job.kind, input, aux, options, job_is_cancelled, &check, &output, &error);
  /* A large result goes into the memfd the parent lent, which it sealed
   * at a size the result cannot exceed; it reads the length we report. */
  if (output != NULL && weft_job_kind_has_large_output (job.kind))
    {
      const guint8 *data;

      large = g_steal_pointer (&output);
      data = g_bytes_get_data (large, &output_len);

      for (size_t off = 0; off < output_len;)
        {
          ssize_t n = pwrite (out_fd, data + off, output_len - off, (off_t) off);

          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            {
              g_set_error (&error, WEFT_ERROR, WEFT_ERROR_TOO_LARGE,
                           "The result of a %s job does not fit its memory: %s",
                           weft_job_kind_name (job.kind), g_strerror (n < 0 ? errno : ENOSPC));
              break;
            }
          off += n;
        }
      if (error == NULL)
        {
          result.output_fd_len = output_len;
          output = g_bytes_new (NULL, 0);
        }
      output_len = 0;
    }
  result.stats.run_us = g_get_monotonic_time () - start_us;
  getrusage (RUSAGE_SELF, &after);

  result.job_id = job.job_id;
  if (output != NULL && g_bytes_get_size (output) > WEFT_IPC_MAX_OUTPUT)
    {
      g_clear_pointer (&output, g_bytes_unref);
      g_set_error (&error, WEFT_ERROR, WEFT_ERROR_TOO_LARGE,
                   "The result of a %s job is too large to send back",
                   weft_job_kind_name (job.kind));
    }

  if (error == NULL)
    {
      result.status = WEFT_IPC_STATUS_OK;
      result.output = g_bytes_get_data (output, &output_len);
      result.output_len = output_len;
    }
  else if (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_CANCELLED))
    result.status = WEFT_IPC_STATUS_CANCELLED;
  else
    {
      const char *end;

      result.status = WEFT_IPC_STATUS_ERROR;
      result.error_code = error->domain == WEFT_ERROR && error->code <= WEFT_ERROR_TOO_LARGE
                          ? (guint32) error->code : WEFT_ERROR_FAILED;
      /* Cut at a character boundary, within the protocol's limit. */
      g_utf8_validate (error->message, MIN (strlen (error->message), WEFT_IPC_MAX_ERROR_MESSAGE), &end);
      result.message = error->message;
      result.message_len = end - error->message;
    }

  result.stats.cpu_user_us = weft_stats_timeval_us (&after.ru_utime) -
                              weft_stats_timeval_us (&before.ru_utime);
  result.stats.cpu_sys_us = weft_stats_timeval_us (&after.ru_stime) -
                             weft_stats_timeval_us (&before.ru_stime);
  result.stats.voluntary_switches = after.ru_nvcsw - before.ru_nvcsw;
  result.stats.involuntary_switches = after.ru_nivcsw - before.ru_nivcsw;
  result.stats.maxrss_kb = after.ru_maxrss;

  weft_ipc_encode_result (reply, &result);
  send_message (w, reply);

  g_clear_pointer (&input, weft_job_input_unref);
  g_clear_pointer (&aux, weft_job_input_unref);
  /* The input's mapping stays in w->input for the next job. */
  if (aux_map != NULL)
    munmap ((void *) aux_map, job.aux_len);
  for (guint i = 0; i < job.n_input_fds; i++)
    close (fds[i]);
  if (aux_fd >= 0)
    close (aux_fd);
  if (out_fd >= 0)
    close (out_fd);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) ready = g_byte_array_new ();
  WeftIpcHello hello;
  Worker w = { .sock = 3 };
  g_autofree char *spell_lang = NULL;
  size_t len;
  void *control;
  int fds[MAX_FDS];
  size_t n_fds;

  for (int i = 1; i < argc; i++)
    {
      if (g_str_has_prefix (argv[i], "--ipc-fd="))
        w.sock = atoi (argv[i] + strlen ("--ipc-fd="));
      else if (g_str_has_prefix (argv[i], "--spell-language="))
        spell_lang = g_strdup (argv[i] + strlen ("--spell-language="));
      else
        die ("unknown argument %s; this program is started by Weft", argv[i]);
    }

  /* A worker's memory holds the user's text: a crash must not leave it in a
   * core file. */
  setrlimit (RLIMIT_CORE, &(struct rlimit) { 0, 0 });
  /* Background work: the editor's window comes first. */
  weft_backend_lower_priority (getppid ());

  w.buf = g_malloc (WEFT_IPC_MAX_MESSAGE + 1);

  len = recv_message (&w, fds, &n_fds);
  if (len == 0)
    return 0;
  if (!weft_ipc_decode_hello (w.buf, len, WEFT_IPC_INIT, &hello, &error))
    die ("%s", error->message);
  if (n_fds != 1)
    die ("no control page");
  control = mmap (NULL, sizeof (WeftIpcControl), PROT_READ, MAP_SHARED, fds[0], 0);
  if (control == MAP_FAILED)
    die ("cannot map the control page: %s", g_strerror (errno));
  close (fds[0]);
  w.control = control;

  /* Locale data is read from files, which the sandbox forbids: a LOCALE
   * sort's newlocale() must find it loaded. glibc looks in its locale
   * archive first and keeps the whole archive mapped once it has opened
   * it, so after these loads every locale in the archive (all that
   * locale-gen makes) comes without opening a file; the environment's
   * locale is loaded too, wherever it lives. Both are kept, never freed. */
  (void) newlocale (LC_ALL_MASK, "C.UTF-8", (locale_t) 0);
  (void) newlocale (LC_ALL_MASK, "", (locale_t) 0);
  /* Dictionaries are files: they load now or never. The language the
   * editor checks in comes as --spell-language (loading costs ~0.1 s, so a
   * backend that checks no spelling asks for none); a job for another
   * language fails with a message that says so (weft-spell-job.h). A
   * missing dictionary is that job's error, not the worker's. */
  weft_spell_process_init ();
  w.spell = weft_spell_worker_new ();
  if (spell_lang != NULL && !weft_spell_worker_preload (w.spell, spell_lang, &error))
    g_clear_error (&error);
  weft_spell_worker_seal (w.spell);

  if (!weft_sandbox_enter (&error))
    die ("%s", error->message);

  hello.version = WEFT_IPC_VERSION;
  weft_ipc_encode_hello (ready, WEFT_IPC_READY, &hello);
  send_message (&w, ready);

  for (;;)
    {
      wait_for_message (&w);
      len = recv_message (&w, fds, &n_fds);
      if (len == 0)
        _exit (0);
      serve_job (&w, len, fds, n_fds);
    }
}
