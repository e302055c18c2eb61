/* weft-process-backend.c: the processes backend, each pool slot driving one sandboxed weft-worker. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft-backend-private.h"
#include "weft-job-private.h"
#include "weft-file.h"
#include "weft-ipc.h"
#include "weft-ipc-control.h"
#include "weft-parallel.h"

extern char **environ;

/* The descriptor number the worker finds its socket on. */
#define WORKER_SOCKET_FD 3
/* How long a new worker may take to map its control page and sandbox
 * itself; generous because sanitizer builds start slowly. */
#define READY_TIMEOUT_MS 30000
/* How long a worker may take to notice a cancelled job before it is killed
 * and replaced: a closing document's jobs must end within 50 ms (DESIGN §3)
 * even when the worker is stuck. A healthy worker checks every 64 KiB, far
 * more often; killing a merely slow one costs only a respawn. */
#define CANCEL_GRACE_MS 40

/* A SAVE's input pipe is widened to this (the unprivileged maximum by
 * default), so that fewer wake-ups pass between feeder and worker. */
#define SAVE_PIPE_BYTES (1024 * 1024)
/* How many pieces one vmsplice() hands over at most (IOV_MAX is 1024). */
#define SAVE_PIPE_PIECES 256

/* How much of a job's input one pwritev() into its memfd takes at most. */
#define MEMFD_BATCH_PIECES 512
#define MEMFD_BATCH_BYTES (8 * 1024 * 1024)

typedef struct
{
  char *worker_path;     /* immutable */
  char *spell_language;  /* immutable, nullable: the dictionary workers preload */
} ProcessConfig;

typedef struct
{
  const ProcessConfig *config;    /* immutable */
  /* The control page lives as long as this struct, across worker restarts,
   * so that worker_interrupt() never races with an unmap. */
  int                  control_fd;
  WeftIpcControl      *control;
  /* An eventfd that worker_interrupt() bumps so that the slot thread,
   * waiting on the socket, starts the cancel grace period. Same lifetime. */
  int                  wake_fd;
  /* Owned by the slot thread. */
  pid_t                pid;       /* 0 when no worker is running */
  int                  sock;
  guint8              *buf;       /* receive buffer, WEFT_IPC_MAX_MESSAGE + 1 bytes */
} ProcessWorker;

/* A sealed memfd of @len bytes: @input's bytes from @input_offset on, or
 * zeros when @input is NULL. */
static int
make_sealed_memfd (const char    *name,
                   size_t         len,
                   WeftJobInput  *input,
                   size_t         input_offset,
                   unsigned int   seals,
                   void         **out_map,
                   GError       **error)
{
  int fd = memfd_create (name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  void *map = MAP_FAILED;
  int errsv;

  if (fd < 0)
    goto fail;
  if (input != NULL)
    {
      /* pwritev() fills the file inside the kernel; copying through a fresh
       * mapping took a page fault per 4 KiB instead (a 63 MB round trip
       * measured 201 ms that way, 139 ms this way, on the reference VM).
       * A snapshot's chunks are rope leaves of about 2 KiB: gathering many
       * per call keeps that from costing a system call per leaf. */
      for (size_t off = 0; off < len;)
        {
          struct iovec iov[MEMFD_BATCH_PIECES];
          int n_iov = 0;
          size_t batch = 0;
          ssize_t n;

          while (n_iov < MEMFD_BATCH_PIECES && off + batch < len && batch < MEMFD_BATCH_BYTES)
            {
              size_t chunk_len;
              const void *chunk = weft_job_input_get_chunk (input, input_offset + off + batch, &chunk_len);

              chunk_len = MIN (chunk_len, MIN ((size_t) MEMFD_BATCH_BYTES, len - off - batch));
              iov[n_iov].iov_base = (void *) chunk;
              iov[n_iov].iov_len = chunk_len;
              n_iov++;
              batch += chunk_len;
            }
          n = pwritev (fd, iov, n_iov, (off_t) off);
          if (n < 0 && errno == EINTR)
            continue;
          if (n == 0)
            errno = EIO;
          if (n <= 0)
            goto fail;
          /* A short write resumes from the next byte; the chunks are looked
           * up again, which costs little. */
          off += n;
        }
    }
  else if (ftruncate (fd, (off_t) len) < 0)
    goto fail;
  if (out_map != NULL && len > 0)
    {
      map = mmap (NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (map == MAP_FAILED)
        goto fail;
    }
  /* Sealing against writes waits for short-lived kernel references to the
   * pages (per-CPU LRU batches, page sampling) to go, and fails with EBUSY
   * if one outlasts that wait (about 0.15 s): seen once, in a CI run under
   * ThreadSanitizer. Two more tries, then the error stands. */
  for (int tries = 1; fcntl (fd, F_ADD_SEALS, seals) < 0; tries++)
    if (errno != EBUSY || tries == 3)
      goto fail;
  if (out_map != NULL)
    *out_map = map;
  return fd;

fail:
  errsv = errno;
  if (map != MAP_FAILED)
    munmap (map, len);
  if (fd >= 0)
    close (fd);
  g_set_error (error, WEFT_ERROR, weft_error_from_errno (errsv),
               _("Could not prepare memory for a worker: %s"), g_strerror (errsv));
  return -1;
}

/* The most descriptors one message carries: a job's input memfds (or a
 * SAVE's input pipe), its aux input's, and the file a SAVE writes or the
 * memfd a large result goes to. */
#define MAX_SEND_FDS (WEFT_JOB_INPUT_MAX_MEMFDS + 2)
G_STATIC_ASSERT (WEFT_JOB_INPUT_MAX_MEMFDS == WEFT_IPC_MAX_INPUT_PIECES);

/* Sends one datagram with @n_fds descriptors attached. Returns 0 or an
 * errno. */
static int
send_message_fds (int           sock,
                  const guint8 *data,
                  size_t        len,
                  const int    *fds,
                  size_t        n_fds)
{
  struct iovec iov = { (void *) data, len };
  union {
    char buf[CMSG_SPACE (MAX_SEND_FDS * sizeof (int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = { 0 };
  ssize_t n;

  g_assert (n_fds <= MAX_SEND_FDS);

  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (n_fds > 0)
    {
      struct cmsghdr *cmsg;

      memset (&control, 0, sizeof control);
      msg.msg_control = control.buf;
      msg.msg_controllen = CMSG_SPACE (n_fds * sizeof (int));
      cmsg = CMSG_FIRSTHDR (&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN (n_fds * sizeof (int));
      memcpy (CMSG_DATA (cmsg), fds, n_fds * sizeof (int));
    }

  do
    n = sendmsg (sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return errno;
  return (size_t) n == len ? 0 : EMSGSIZE;
}

/* Sends one datagram, with @fd attached when >= 0. */
static int
send_message (int           sock,
              const guint8 *data,
              size_t        len,
              int           fd)
{
  return send_message_fds (sock, data, len, &fd, fd >= 0 ? 1 : 0);
}

/* Receives one datagram from the worker into w->buf. Returns its length, 0
 * when the worker hung up, or -1 when what arrived breaks the protocol (too
 * long, or carrying descriptors, which the worker never sends). */
static ssize_t
recv_message (ProcessWorker *w)
{
  union {
    char buf[CMSG_SPACE (4 * sizeof (int))];
    struct cmsghdr align;
  } control;
  struct iovec iov = { w->buf, WEFT_IPC_MAX_MESSAGE + 1 };
  struct msghdr msg = { 0 };
  gboolean bad = FALSE;
  ssize_t n;

  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;

  do
    n = recvmsg (w->sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return errno == ECONNRESET ? 0 : -1;

  for (struct cmsghdr *c = CMSG_FIRSTHDR (&msg); c != NULL; c = CMSG_NXTHDR (&msg, c))
    {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
        {
          size_t n_fds = (c->cmsg_len - CMSG_LEN (0)) / sizeof (int);

          for (size_t i = 0; i < n_fds; i++)
            {
              int fd;

              memcpy (&fd, CMSG_DATA (c) + i * sizeof (int), sizeof fd);
              close (fd);
            }
        }
      bad = TRUE;
    }
  if (bad || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || n > (ssize_t) WEFT_IPC_MAX_MESSAGE)
    return -1;
  return n;
}

static void
stop_worker (ProcessWorker *w)
{
  int status;

  if (w->pid == 0)
    return;

  /* The worker keeps no state worth a graceful exit, and a stuck or hostile
   * one must not be able to delay us. */
  kill (w->pid, SIGKILL);
  while (waitpid (w->pid, &status, 0) < 0 && errno == EINTR)
    ;
  close (w->sock);
  w->sock = -1;
  w->pid = 0;
}

typedef enum
{
  SPAWN_OK,
  SPAWN_CANNOT_RUN,    /* the executable could not be started at all */
  SPAWN_DIED,          /* it started but did not complete the handshake */
} SpawnStatus;

static SpawnStatus
spawn_worker (ProcessWorker  *w,
              GError        **error)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();
  WeftIpcHello hello = { WEFT_IPC_VERSION };
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  sigset_t sigs;
  g_autofree char *spell_arg = NULL;
  char *argv[4];
  int sv[2];
  int child_fd;
  int rc;
  struct pollfd pfd;
  ssize_t n;

  g_assert (w->pid == 0);

  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    {
      int errsv = errno;
      g_set_error (error, WEFT_ERROR, weft_error_from_errno (errsv),
                   _("Could not start a worker process: %s"), g_strerror (errsv));
      return SPAWN_CANNOT_RUN;
    }

  /* dup2() onto the same number would leave close-on-exec set. */
  child_fd = sv[1];
  if (child_fd == WORKER_SOCKET_FD)
    {
      child_fd = fcntl (sv[1], F_DUPFD_CLOEXEC, WORKER_SOCKET_FD + 1);
      close (sv[1]);
    }

  posix_spawn_file_actions_init (&actions);
  posix_spawn_file_actions_addopen (&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2 (&actions, child_fd, WORKER_SOCKET_FD);
  /* Only stdio and the socket reach the worker, whatever other code in
   * this process forgot to mark close-on-exec. */
  posix_spawn_file_actions_addclosefrom_np (&actions, WORKER_SOCKET_FD + 1);

  posix_spawnattr_init (&attr);
  sigemptyset (&sigs);
  posix_spawnattr_setsigmask (&attr, &sigs);
  sigaddset (&sigs, SIGPIPE);
  sigaddset (&sigs, SIGCHLD);
  sigaddset (&sigs, SIGINT);
  sigaddset (&sigs, SIGTERM);
  sigaddset (&sigs, SIGHUP);
  posix_spawnattr_setsigdefault (&attr, &sigs);
  posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  argv[0] = w->config->worker_path;
  argv[1] = (char *) "--ipc-fd=3";
  argv[2] = NULL;
  if (w->config->spell_language != NULL)
    {
      spell_arg = g_strconcat ("--spell-language=", w->config->spell_language, NULL);
      argv[2] = spell_arg;
      argv[3] = NULL;
    }
  rc = posix_spawn (&w->pid, w->config->worker_path, &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy (&actions);
  posix_spawnattr_destroy (&attr);
  close (child_fd);

  if (rc != 0)
    {
      close (sv[0]);
      w->pid = 0;
      g_set_error (error, WEFT_ERROR, weft_error_from_errno (rc),
                   _("Could not start the worker “%s”: %s"),
                   w->config->worker_path, g_strerror (rc));
      return SPAWN_CANNOT_RUN;
    }
  w->sock = sv[0];

  weft_ipc_encode_hello (msg, WEFT_IPC_INIT, &hello);
  if (send_message (w->sock, msg->data, msg->len, w->control_fd) != 0)
    goto died;

  pfd.fd = w->sock;
  pfd.events = POLLIN;
  do
    rc = poll (&pfd, 1, READY_TIMEOUT_MS);
  while (rc < 0 && errno == EINTR);
  if (rc <= 0)
    goto died;

  n = recv_message (w);
  if (n <= 0 || !weft_ipc_decode_hello (w->buf, n, WEFT_IPC_READY, &hello, NULL))
    goto died;

  return SPAWN_OK;

died:
  stop_worker (w);
  g_set_error (error, WEFT_ERROR, WEFT_ERROR_WORKER_CRASHED,
               _("The worker process “%s” failed to start up"), w->config->worker_path);
  return SPAWN_DIED;
}

/* Inputs smaller than this are copied into one memfd, by one thread. */
#define MEMFD_PARALLEL_MIN_BYTES (4 * 1024 * 1024)

#define INPUT_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

typedef struct
{
  WeftJobInput *input;
  size_t        offset;
  size_t        len;
  int           fd;      /* the result, or -1 */
  GError       *error;
} PieceFill;

static void *
fill_piece (void *data)
{
  PieceFill *piece = data;

  piece->fd = make_sealed_memfd ("weft-job", piece->len, piece->input, piece->offset,
                                 INPUT_SEALS, NULL, &piece->error);
  return NULL;
}

/* An input's sealed copy for the workers, in at most @max_pieces memfds,
 * each from a thread of its own: made once per input (on a slot thread,
 * never the main one) and shared by every job reading it, so the K jobs
 * of a sort send the same memfds, and a retry reuses them. */
static gboolean
fill_memfds (WeftJobInput        *input,
             guint32              max_pieces,
             WeftJobInputMemfds  *out,
             GError             **error)
{
  static atomic_uint_fast64_t last_serial;
  size_t len = weft_job_input_get_size (input);
  guint64 piece_len;
  guint n_pieces;
  PieceFill pieces[WEFT_JOB_INPUT_MAX_MEMFDS] = { 0 };
  gboolean ok = TRUE;

  n_pieces = weft_ipc_cut_input (len, max_pieces, (guint64) sysconf (_SC_PAGESIZE), &piece_len);
  g_assert (n_pieces >= 1 && n_pieces <= max_pieces);

  for (guint i = 0; i < n_pieces; i++)
    {
      pieces[i].input = input;
      pieces[i].offset = i * piece_len;
      pieces[i].len = i + 1 < n_pieces ? piece_len : len - pieces[i].offset;
      pieces[i].fd = -1;
    }
  weft_run_parallel (fill_piece, pieces, sizeof (PieceFill), n_pieces);

  for (guint i = 0; i < n_pieces; i++)
    if (pieces[i].fd < 0)
      {
        if (ok)
          g_propagate_error (error, g_steal_pointer (&pieces[i].error));
        g_clear_error (&pieces[i].error);
        ok = FALSE;
      }
  for (guint i = 0; i < n_pieces; i++)
    {
      if (!ok && pieces[i].fd >= 0)
        close (pieces[i].fd);
      out->fds[i] = ok ? pieces[i].fd : -1;
    }
  out->n_fds = ok ? n_pieces : 0;
  out->piece_len = piece_len;
  if (ok)
    out->serial = atomic_fetch_add_explicit (&last_serial, 1, memory_order_relaxed) + 1;
  return ok;
}

/* A job's input. The copy allocates a page of shared memory per 4 KiB,
 * which costs more than the copying: 63 MB took 45-55 ms into one memfd.
 * Writers of one memfd queue on its lock, but each memfd has its own, so
 * a large input is cut into one memfd per core, filled side by side (63 MB:
 * ~30 ms on two cores), and a worker maps them end to end. */
static gboolean
make_input_memfds (WeftJobInput        *input,
                   WeftJobInputMemfds  *out,
                   GError             **error)
{
  guint32 max_pieces = 1;

  if (weft_job_input_get_size (input) >= MEMFD_PARALLEL_MIN_BYTES)
    max_pieces = CLAMP (g_get_num_processors (), 1, WEFT_JOB_INPUT_MAX_MEMFDS);
  return fill_memfds (input, max_pieces, out, error);
}

/* An aux input (a sort's runs, a few MB at most): the protocol takes it in
 * one memfd. */
static gboolean
make_aux_memfd (WeftJobInput        *input,
                WeftJobInputMemfds  *out,
                GError             **error)
{
  return fill_memfds (input, 1, out, error);
}

/* The memfd a large result is written to: sparse, so its generous fixed
 * size costs nothing until written, and sealed at that size, so the worker
 * can neither grow it nor shrink it under our mapping. */
static int
make_output_memfd (size_t   cap,
                   GError **error)
{
  return make_sealed_memfd ("weft-result", cap, NULL, 0,
                            F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL, NULL, error);
}

/* The most a large result may take: a permutation of the input's lines
 * (one u32 per line, and a line takes at least one byte) or its text. */
static size_t
large_output_cap (size_t input_len)
{
  return 4 * (input_len + 1) + 64;
}

typedef struct
{
  void   *map;
  size_t  len;
} OutputMap;

static void
output_map_free (gpointer data)
{
  OutputMap *m = data;

  munmap (m->map, m->len);
  g_free (m);
}

/* The result the worker wrote into @fd, mapped rather than copied. Its size
 * is sealed, so the mapping cannot fault; what the worker may still write
 * there is its own output, which consumers check as they would any. */
static GBytes *
map_output (int      fd,
            size_t   len,
            GError **error)
{
  OutputMap *m;
  void *map;

  if (len == 0)
    return g_bytes_new (NULL, 0);
  map = mmap (NULL, len, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED)
    {
      int errsv = errno;
      g_set_error (error, WEFT_ERROR, weft_error_from_errno (errsv),
                   _("Could not read a worker’s result: %s"), g_strerror (errsv));
      return NULL;
    }
  m = g_new (OutputMap, 1);
  m->map = map;
  m->len = len;
  return g_bytes_new_with_free_func (map, len, output_map_free, m);
}

static gpointer
process_worker_new (gpointer backend_data)
{
  ProcessWorker *w = g_new0 (ProcessWorker, 1);
  g_autoptr(GError) error = NULL;

  w->config = backend_data;
  w->sock = -1;
  w->buf = g_malloc (WEFT_IPC_MAX_MESSAGE + 1);
  /* The worker maps the page read-only; sealing its size keeps it from
   * becoming a SIGBUS trap for either side. */
  w->control_fd = make_sealed_memfd ("weft-control", sizeof (WeftIpcControl), NULL, 0,
                                     F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL,
                                     (void **) &w->control, &error);
  if (w->control_fd < 0)
    g_error ("%s", error->message);
  atomic_store_explicit (&w->control->cancel_job_id, 0, memory_order_relaxed);
  w->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (w->wake_fd < 0)
    g_error ("Could not create an eventfd: %s", g_strerror (errno));
  return w;
}

/* The wake eventfd only wakes the slot thread up; the job's cancel flag is
 * what counts. */
static void
drain_wake_fd (ProcessWorker *w)
{
  guint64 count;

  if (read (w->wake_fd, &count, sizeof count) < 0 && errno != EAGAIN)
    g_error ("eventfd read failed: %s", g_strerror (errno));
}

typedef enum
{
  WAIT_READABLE,
  WAIT_CANCEL_EXPIRED,  /* cancelled, and the worker did not answer in time */
} WaitStatus;

/* Waits until the worker's reply can be read. Once the job is cancelled the
 * worker gets CANCEL_GRACE_MS to answer. */
static WaitStatus
wait_for_reply (ProcessWorker *w,
                WeftJob       *job)
{
  gint64 deadline_us = -1;

  for (;;)
    {
      struct pollfd pfds[2] = { { w->sock, POLLIN, 0 }, { w->wake_fd, POLLIN, 0 } };
      int timeout_ms = -1;
      int rc;

      if (deadline_us < 0 && weft_job_is_cancelled (job))
        deadline_us = g_get_monotonic_time () + CANCEL_GRACE_MS * 1000;
      if (deadline_us >= 0)
        {
          gint64 left_us = deadline_us - g_get_monotonic_time ();

          if (left_us <= 0)
            return WAIT_CANCEL_EXPIRED;
          timeout_ms = (int) ((left_us + 999) / 1000);
        }

      rc = poll (pfds, 2, timeout_ms);
      if (rc < 0 && errno != EINTR)
        g_error ("poll failed: %s", g_strerror (errno));
      if (rc > 0 && pfds[1].revents != 0)
        drain_wake_fd (w);
      if (rc > 0 && pfds[0].revents != 0)
        return WAIT_READABLE;
    }
}

/* Whether the worker hung up while it had no job: a worker never speaks
 * unasked, so anything readable on an idle socket is its end. */
static gboolean
worker_died_idle (ProcessWorker *w)
{
  struct pollfd pfd = { w->sock, POLLIN, 0 };
  int rc;

  do
    rc = poll (&pfd, 1, 0);
  while (rc < 0 && errno == EINTR);
  return rc > 0;
}

static void
close_pipe (int pipe_fds[2])
{
  for (int i = 0; i < 2; i++)
    if (pipe_fds[i] >= 0)
      {
        close (pipe_fds[i]);
        pipe_fds[i] = -1;
      }
}

/* The worker's own peak memory, in KiB, or -1. Its ru_maxrss cannot say:
 * posix_spawn() runs the child in the editor's address space until exec,
 * and the kernel carries that space's peak over into the new program's
 * ru_maxrss, so every worker would report the editor's size. VmHWM is the
 * peak of the worker's current address space only. Read by the parent:
 * the sandboxed worker cannot open /proc. */
static gint64
worker_peak_rss_kb (pid_t pid)
{
  char path[64];
  char buf[4096];
  const char *line;
  ssize_t n;
  int fd;

  g_snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  line = strstr (buf, "\nVmHWM:");
  return line != NULL ? g_ascii_strtoll (line + strlen ("\nVmHWM:"), NULL, 10) : -1;
}

static WeftRunStatus
lose_worker (ProcessWorker *w)
{
  stop_worker (w);
  return WEFT_RUN_WORKER_LOST;
}

typedef enum
{
  FEED_DONE,        /* all of the input is in the pipe */
  FEED_STOPPED,     /* the worker answered, hung up or stopped reading */
  FEED_CANCELLED,   /* the job was cancelled; the worker has its grace period */
} FeedStatus;

/* Hands @job's input to the worker through @pipe_fd (non-blocking), piece
 * by piece, straight from the snapshot's memory: vmsplice() gives the pipe
 * references to the pages, and the worker's splice() copies them into the
 * file. The snapshot is immutable and the job keeps it alive until the
 * worker has answered, so the pages hold the text for as long as the pipe
 * may read them. SIGPIPE is blocked on this thread while it feeds, and one
 * raised by a worker gone away is taken back. */
static FeedStatus
feed_pipe (ProcessWorker *w,
           WeftJob       *job,
           int            pipe_fd)
{
  size_t len = weft_job_input_get_size (job->input);
  size_t off = 0;
  FeedStatus status = FEED_DONE;
  sigset_t pipe_set, old_set;

  sigemptyset (&pipe_set);
  sigaddset (&pipe_set, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &pipe_set, &old_set);

  while (off < len)
    {
      struct iovec iov[SAVE_PIPE_PIECES];
      int n_iov = 0;
      size_t batch = 0;
      ssize_t n;

      if (weft_job_is_cancelled (job))
        {
          status = FEED_CANCELLED;
          break;
        }
      while (n_iov < SAVE_PIPE_PIECES && off + batch < len && batch < SAVE_PIPE_BYTES)
        {
          size_t chunk_len;
          const void *chunk = weft_job_input_get_chunk (job->input, off + batch, &chunk_len);

          chunk_len = MIN (chunk_len, (size_t) SAVE_PIPE_BYTES);
          iov[n_iov].iov_base = (void *) chunk;
          iov[n_iov].iov_len = chunk_len;
          n_iov++;
          batch += chunk_len;
        }

      n = vmsplice (pipe_fd, iov, n_iov, SPLICE_F_NONBLOCK);
      if (n > 0)
        {
          /* A partial hand-over resumes from the next byte. */
          off += (size_t) n;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        {
          /* The pipe is full: wait for room, an answer (an error, or the
           * worker's end) or a cancel. */
          struct pollfd pfds[3] = {
            { pipe_fd, POLLOUT, 0 }, { w->sock, POLLIN, 0 }, { w->wake_fd, POLLIN, 0 },
          };
          int rc = poll (pfds, 3, -1);

          if (rc < 0 && errno != EINTR)
            g_error ("poll failed: %s", g_strerror (errno));
          if (rc > 0 && pfds[2].revents != 0)
            drain_wake_fd (w);
          if (rc > 0 && (pfds[1].revents != 0 || (pfds[0].revents & (POLLERR | POLLHUP)) != 0))
            {
              status = FEED_STOPPED;
              break;
            }
          continue;
        }
      /* EPIPE: the worker closed its end or died. */
      status = FEED_STOPPED;
      break;
    }

  if (status == FEED_STOPPED)
    {
      struct timespec zero = { 0, 0 };

      while (sigtimedwait (&pipe_set, NULL, &zero) > 0)
        ;
    }
  pthread_sigmask (SIG_SETMASK, &old_set, NULL);
  return status;
}

/* Runs @job; *output_fd receives the memfd lent for a large result, which
 * the caller closes. */
static WeftRunStatus
run_job (ProcessWorker  *w,
         WeftJob        *job,
         int            *output_fd,
         GBytes        **out,
         GError        **error)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();
  size_t input_len = job->input != NULL ? weft_job_input_get_size (job->input) : 0;
  size_t aux_len = job->aux != NULL ? weft_job_input_get_size (job->aux) : 0;
  size_t output_cap = 0;
  WeftJobInputMemfds input_fds = { 0 }, aux_fds = { 0 };
  WeftIpcJob ipc_job = { 0 };
  WeftIpcResult result;
  g_autoptr(GError) local_error = NULL;
  /* A SAVE's temp file, made afresh for every attempt: whatever a worker
   * that died wrote into the last one is removed with it. Any early return
   * removes it; only a successful answer commits it. */
  g_autoptr(WeftFileTemp) temp = NULL;
  int fds[MAX_SEND_FDS];
  size_t n_fds = 0;
  gsize options_len = 0;
  ssize_t n;
  /* A SAVE's input pipe: the worker's end, closed once sent, and ours. */
  int pipe_fds[2] = { -1, -1 };
  gboolean feed_cancelled = FALSE;
  gboolean is_save = job->kind == WEFT_JOB_SAVE;
  WeftThreadCpu prep_before, prep_after;
  gint64 prep_user_us, prep_sys_us;

  /* A worker killed between jobs (by the OOM killer, or a user) is counted
   * and replaced before this job is sent: its death must not use up the
   * retry this job gets if its own worker dies. */
  if (w->pid != 0 && worker_died_idle (w))
    {
      stop_worker (w);
      return WEFT_RUN_WORKER_GONE;
    }

  if (w->pid == 0)
    {
      switch (spawn_worker (w, &local_error))
        {
        case SPAWN_OK:
          break;
        case SPAWN_CANNOT_RUN:
          g_propagate_error (error, g_steal_pointer (&local_error));
          return WEFT_RUN_DONE;
        case SPAWN_DIED:
          return WEFT_RUN_WORKER_LOST;
        }
    }

  /* A SAVE streams its input instead (see feed_pipe()). The copies into
   * memfds are the job's cost too (made by its first job only). */
  weft_thread_cpu_read (&prep_before);
  if (input_len > 0 && !is_save && !weft_job_input_get_memfds (job->input, make_input_memfds, &input_fds, error))
    return WEFT_RUN_DONE;
  if (aux_len > 0 && !weft_job_input_get_memfds (job->aux, make_aux_memfd, &aux_fds, error))
    return WEFT_RUN_DONE;
  weft_thread_cpu_read (&prep_after);
  weft_thread_cpu_since (&prep_before, &prep_after, &prep_user_us, &prep_sys_us);

  ipc_job.job_id = job->id;
  ipc_job.kind = job->kind;
  ipc_job.input_len = input_len;
  if (input_len > 0)
    {
      /* A SAVE's pipe counts as one piece holding all of it. */
      ipc_job.n_input_fds = is_save ? 1 : input_fds.n_fds;
      ipc_job.input_piece_len = is_save ? input_len : input_fds.piece_len;
      ipc_job.input_serial = is_save ? 0 : input_fds.serial;
    }
  ipc_job.aux_len = aux_len;
  ipc_job.options = job->options != NULL ? g_bytes_get_data (job->options, &options_len) : NULL;
  if (options_len > WEFT_IPC_MAX_OPTIONS)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_TOO_LARGE,
                   _("The options of a %s job are too large"), weft_job_kind_name (job->kind));
      return WEFT_RUN_DONE;
    }
  ipc_job.options_len = options_len;

  if (is_save)
    {
      g_autofree char *path = NULL;
      guint32 mode;

      /* The worker cannot open files: the temp file is created here, on
       * this slot's thread (never the main one), and lent to it. */
      if (!weft_job_save_options_parse (job->options, &path, &mode, error))
        return WEFT_RUN_DONE;
      temp = weft_file_temp_new (path, mode, error);
      if (temp == NULL)
        return WEFT_RUN_DONE;
      ipc_job.n_output_fds = 1;
    }
  if (is_save && input_len > 0)
    {
      if (pipe2 (pipe_fds, O_CLOEXEC | O_NONBLOCK) < 0)
        {
          int errsv = errno;

          g_set_error (error, WEFT_ERROR, weft_error_from_errno (errsv),
                       _("Could not prepare memory for a worker: %s"), g_strerror (errsv));
          return WEFT_RUN_DONE;
        }
      /* Too large a size for this system only leaves the default. */
      (void) fcntl (pipe_fds[1], F_SETPIPE_SZ, SAVE_PIPE_BYTES);
      /* The worker's end blocks: it has nothing else to do meanwhile. */
      (void) fcntl (pipe_fds[0], F_SETFL, 0);
    }

  /* The input first (memfds or pipe), the aux input, then the output. */
  for (guint i = 0; i < input_fds.n_fds; i++)
    fds[n_fds++] = input_fds.fds[i];
  if (pipe_fds[0] >= 0)
    fds[n_fds++] = pipe_fds[0];
  if (aux_fds.n_fds == 1)
    fds[n_fds++] = aux_fds.fds[0];
  if (temp != NULL)
    fds[n_fds++] = weft_file_temp_get_fd (temp);
  if (weft_job_kind_has_large_output (job->kind))
    {
      /* Fresh for every attempt: a worker that died may have written
       * into the last one. */
      output_cap = large_output_cap (input_len);
      *output_fd = make_output_memfd (output_cap, error);
      if (*output_fd < 0)
        {
          close_pipe (pipe_fds);
          return WEFT_RUN_DONE;
        }
      fds[n_fds++] = *output_fd;
      ipc_job.n_output_fds = 1;
    }
  weft_ipc_encode_job (msg, &ipc_job);

  if (send_message_fds (w->sock, msg->data, msg->len, fds, n_fds) != 0)
    {
      close_pipe (pipe_fds);
      return lose_worker (w);
    }
  if (pipe_fds[0] >= 0)
    {
      close (pipe_fds[0]);
      pipe_fds[0] = -1;
      /* However feeding ends, the worker then sees the pipe's end: a short
       * input fails its save, and wait_for_reply() takes it from there. */
      feed_cancelled = feed_pipe (w, job, pipe_fds[1]) == FEED_CANCELLED;
      close_pipe (pipe_fds);
    }

  if (wait_for_reply (w, job) == WAIT_CANCEL_EXPIRED)
    {
      /* Not a crash: the worker was told to stop and did not. */
      stop_worker (w);
      g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_CANCELLED, _("The job was cancelled"));
      return WEFT_RUN_DONE;
    }

  n = recv_message (w);
  if (n < 0)
    g_warning ("Stopping worker %d: it sent descriptors or an over-long message", (int) w->pid);
  if (n <= 0)
    return lose_worker (w);
  if (!weft_ipc_decode_result (w->buf, n, &result, &local_error))
    {
      g_warning ("Stopping worker %d: %s", (int) w->pid, local_error->message);
      return lose_worker (w);
    }
  if (result.job_id != job->id)
    {
      g_warning ("Stopping worker %d: it answered for another job", (int) w->pid);
      return lose_worker (w);
    }

  if (result.output_fd_len > output_cap)
    {
      g_warning ("Stopping worker %d: its result overran its memory", (int) w->pid);
      return lose_worker (w);
    }

  job->stats.ipc_bytes += msg->len + input_len + aux_len + n + result.output_fd_len;
  job->stats.cpu_user_us = result.stats.cpu_user_us + prep_user_us;
  job->stats.cpu_sys_us = result.stats.cpu_sys_us + prep_sys_us;
  job->stats.voluntary_switches = result.stats.voluntary_switches;
  job->stats.involuntary_switches = result.stats.involuntary_switches;
  {
    gint64 peak_kb = worker_peak_rss_kb (w->pid);

    job->stats.worker_maxrss_kb = peak_kb >= 0 ? peak_kb : (gint64) result.stats.maxrss_kb;
  }

  switch (result.status)
    {
    case WEFT_IPC_STATUS_OK:
      if (temp != NULL)
        {
          /* A save cancelled before its rename must leave the target alone. */
          if (weft_job_is_cancelled (job))
            {
              g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_CANCELLED,
                                   _("The job was cancelled"));
              break;
            }
          if (!weft_file_temp_commit (g_steal_pointer (&temp), error))
            break;
        }
      if (*output_fd >= 0)
        *out = map_output (*output_fd, result.output_fd_len, error);
      else
        *out = g_bytes_new (result.output, result.output_len);
      break;
    case WEFT_IPC_STATUS_CANCELLED:
      g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_CANCELLED, _("The job was cancelled"));
      break;
    case WEFT_IPC_STATUS_ERROR:
      /* A SAVE whose feeding stopped for a cancel may see its pipe end
       * before it sees the cancel. */
      if (feed_cancelled)
        {
          g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_CANCELLED, _("The job was cancelled"));
          break;
        }
      g_set_error (error, WEFT_ERROR, result.error_code, "%.*s",
                   (int) result.message_len, result.message);
      break;
    }
  return WEFT_RUN_DONE;
}

static WeftRunStatus
process_worker_run (gpointer   worker,
                    WeftJob   *job,
                    GBytes   **out,
                    GError   **error)
{
  int output_fd = -1;
  WeftRunStatus status = run_job (worker, job, &output_fd, out, error);

  if (output_fd >= 0)
    close (output_fd);
  return status;
}

static void
process_worker_interrupt (gpointer  worker,
                          WeftJob  *job)
{
  ProcessWorker *w = worker;

  guint64 one = 1;

  atomic_store_explicit (&w->control->cancel_job_id, job->id, memory_order_release);
  /* A full counter (EAGAIN) already means "wake up". */
  if (write (w->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
    g_warning ("Could not wake a worker's thread: %s", g_strerror (errno));
}

static void
process_worker_free (gpointer worker)
{
  ProcessWorker *w = worker;

  stop_worker (w);
  munmap (w->control, sizeof (WeftIpcControl));
  close (w->control_fd);
  close (w->wake_fd);
  g_free (w->buf);
  g_free (w);
}

static void
process_config_free (gpointer data)
{
  ProcessConfig *config = data;

  g_free (config->worker_path);
  g_free (config->spell_language);
  g_free (config);
}

static const WeftWorkerOps process_ops = {
  .name = "processes",
  .worker_new = process_worker_new,
  .worker_run = process_worker_run,
  .worker_interrupt = process_worker_interrupt,
  .worker_free = process_worker_free,
  .backend_data_free = process_config_free,
};

WeftBackend *
weft_process_backend_new (guint          n_workers,
                          const char    *worker_path,
                          GMainContext  *ctx,
                          GError       **error)
{
  return weft_process_backend_new_full (n_workers, worker_path, NULL, ctx, error);
}

WeftBackend *
weft_process_backend_new_full (guint          n_workers,
                               const char    *worker_path,
                               const char    *spell_language,
                               GMainContext  *ctx,
                               GError       **error)
{
  ProcessConfig *config;

  g_return_val_if_fail (worker_path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (access (worker_path, X_OK) != 0)
    {
      int errsv = errno;
      g_set_error (error, WEFT_ERROR, weft_error_from_errno (errsv),
                   _("The worker program “%s” cannot be run: %s"),
                   worker_path, weft_error_describe_errno (errsv));
      return NULL;
    }

  config = g_new0 (ProcessConfig, 1);
  config->worker_path = g_strdup (worker_path);
  config->spell_language = g_strdup (spell_language);
  return weft_backend_new_with_ops (&process_ops, config, n_workers, ctx);
}
