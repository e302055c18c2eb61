/* bench-save.c: `weft-bench save`, the main-thread cost and end-to-end time of an autosave beside a plain write+fsync+rename. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench-common.h"
#include "weft-backend.h"
#include "weft-text.h"

typedef struct
{
  const char *label;
  size_t      n_lines;
  int         runs;     /* default sample count */
} Payload;

/* ~1 MB and the 63 MB reference document (63-byte lines). */
static const Payload payloads[] = {
  { "1 MB", 16644, 40 },
  { "63 MB", 1000000, 10 },
};

/* The bars of DESIGN.md §4 and issue 4. */
#define MAX_SUBMIT_RATIO 2.0      /* 63 MB vs 1 MB main-thread cost */
#define MAX_PLAIN_WRITE_RATIO 1.3 /* 63 MB autosave vs plain write+fsync+rename */

#define N_MODES 3  /* plain-write, threads, processes */

typedef struct
{
  const char  *name;          /* "plain-write", "threads" or "processes" */
  WeftBackend *backend;       /* NULL for the plain write */
  double      *submit_ms;     /* main-thread cost per run (backends only) */
  double      *submit_cpu_ms; /* the same in the main thread's CPU time, which a
                               * loaded machine's preemption does not inflate */
  double      *total_ms;      /* end to end per run */
} Mode;

typedef struct
{
  gboolean done;
  gboolean failed;
} Waiter;

static void
on_done (const WeftJobResult *result,
         gpointer             user_data)
{
  Waiter *waiter = user_data;

  if (result->error != NULL)
    {
      g_printerr ("weft-bench save: save failed: %s\n", result->error->message);
      waiter->failed = TRUE;
    }
  waiter->done = TRUE;
}

static gboolean
write_all (int         fd,
           const char *data,
           size_t      len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= (size_t) n;
    }
  return TRUE;
}

/* The reference: what any careful program does to replace a file, with the
 * bytes already in one flat buffer. */
static gboolean
plain_write (const char *dir,
             const char *path,
             const char *data,
             size_t      len)
{
  g_autofree char *tmp = g_strconcat (path, ".plain-tmp", NULL);
  int fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  int dfd;
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = write_all (fd, data, len) && fsync (fd) == 0;
  ok = close (fd) == 0 && ok;
  ok = ok && rename (tmp, path) == 0;
  if (!ok)
    {
      unlink (tmp);
      return FALSE;
    }
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0)
    {
      (void) fsync (dfd);
      close (dfd);
    }
  return TRUE;
}

static gint64
thread_cpu_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

/* One autosave as the editor does it: the main thread snapshots and submits
 * (timed alone in *out_submit_ms), a worker writes, the callback ends it. */
static gboolean
autosave (WeftBackend  *backend,
          GMainContext *ctx,
          WeftText     *text,
          GBytes       *options,
          double       *out_submit_ms,
          double       *out_submit_cpu_ms,
          double       *out_total_ms)
{
  Waiter waiter = { FALSE, FALSE };
  gint64 t0, t1, cpu0, cpu1;

  cpu0 = thread_cpu_ns ();
  t0 = weft_bench_now_ns ();
  {
    WeftSnapshot *snap = weft_text_snapshot (text);
    WeftJobInput *input = weft_job_input_new_snapshot (snap);
    WeftJobSpec spec = { .kind = WEFT_JOB_SAVE, .input = input, .options = options };

    weft_backend_submit (backend, &spec, on_done, &waiter);
    weft_job_input_unref (input);
    weft_snapshot_unref (snap);
  }
  t1 = weft_bench_now_ns ();
  cpu1 = thread_cpu_ns ();
  while (!waiter.done)
    g_main_context_iteration (ctx, TRUE);
  *out_submit_ms = weft_bench_elapsed_ms (t0, t1);
  *out_submit_cpu_ms = weft_bench_elapsed_ms (cpu0, cpu1);
  *out_total_ms = weft_bench_elapsed_ms (t0, weft_bench_now_ns ());
  return !waiter.failed;
}

static void
closed_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
}

int
weft_bench_save (int    argc,
                 char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *worker_path = NULL;
  g_autofree char *parent_dir = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(GMainContext) ctx = g_main_context_new ();
  const GOptionEntry extra[] = {
    { "worker", 0, 0, G_OPTION_ARG_FILENAME, &worker_path,
      "The weft-worker program (default: $WEFT_WORKER_PATH, the build tree, libexecdir)", "PATH" },
    { "dir", 0, 0, G_OPTION_ARG_FILENAME, &parent_dir,
      "Where to write (default: the current directory, which is on disk, unlike a tmpfs /tmp)", "DIR" },
    G_OPTION_ENTRY_NULL
  };
  Mode modes[N_MODES] = { { "plain-write" }, { "threads" }, { "processes" } };
  double submit_median[N_MODES][G_N_ELEMENTS (payloads)] = { { 0 } };
  double submit_cpu_median[N_MODES][G_N_ELEMENTS (payloads)] = { { 0 } };
  WeftBenchOptions opts;
  guint workers;
  gboolean ok = TRUE;
  gboolean missed = FALSE;
  gboolean check;

  if (!weft_bench_parse_options ("save",
                                 "main-thread cost and end-to-end time of an autosave, 1 MB and 63 MB, "
                                 "beside a plain write+fsync+rename",
                                 argc, argv, extra, &opts, &error))
    {
      g_printerr ("weft-bench save: %s\n", error->message);
      return 2;
    }
  if (opts.backend != NULL && !g_str_equal (opts.backend, "both") &&
      !g_str_equal (opts.backend, "threads") && !g_str_equal (opts.backend, "processes"))
    {
      g_printerr ("weft-bench save: unknown backend “%s”\n", opts.backend);
      weft_bench_options_clear (&opts);
      return 2;
    }
  if (opts.input != NULL)
    weft_bench_print_note (&opts, "save generates its own documents; --input is ignored");
  if (worker_path == NULL)
    worker_path = weft_bench_worker_path ();
  workers = opts.workers > 0 ? (guint) opts.workers : weft_backend_default_workers ();

  {
    g_autofree char *template = g_build_filename (parent_dir != NULL ? parent_dir : ".",
                                                  "weft-bench-save-XXXXXX", NULL);

    if (g_mkdtemp (template) == NULL)
      {
        g_printerr ("weft-bench save: cannot create a directory to write in: %s\n", g_strerror (errno));
        weft_bench_options_clear (&opts);
        return 2;
      }
    /* A SAVE takes an absolute path only. */
    dir = g_canonicalize_filename (template, NULL);
  }

  for (size_t m = 1; ok && m < N_MODES; m++)
    {
      if (opts.backend != NULL && !g_str_equal (opts.backend, "both") &&
          !g_str_equal (opts.backend, modes[m].name))
        continue;
      if (m == 1)
        modes[m].backend = weft_thread_backend_new (workers, ctx);
      else
        modes[m].backend = weft_process_backend_new (workers, worker_path, ctx, &error);
      if (modes[m].backend == NULL)
        {
          g_printerr ("weft-bench save: %s\n", error->message);
          ok = FALSE;
        }
    }

  weft_bench_print_header (&opts);

  for (size_t p = 0; ok && p < G_N_ELEMENTS (payloads); p++)
    {
      size_t runs = opts.runs > 0 ? (size_t) opts.runs : (size_t) payloads[p].runs;
      size_t len = 0;
      g_autofree char *flat = weft_bench_make_lines (payloads[p].n_lines, &len);
      g_autoptr(WeftText) text = weft_text_new_from_utf8 (flat, len);
      g_autofree char *path = g_build_filename (dir, "document.txt", NULL);
      g_autoptr(GBytes) options = weft_job_save_options (path, 0600);
      double plain_median = 0;

      for (size_t m = 0; m < N_MODES; m++)
        {
          modes[m].submit_ms = g_new0 (double, runs);
          modes[m].submit_cpu_ms = g_new0 (double, runs);
          modes[m].total_ms = g_new0 (double, runs);
        }

      /* One untimed round first: workers start, the file exists. Then the
       * modes take turns within each run, so that drift in the machine's
       * state (page cache, writeback) lands on all of them alike. */
      for (size_t i = 0; ok && i <= runs; i++)
        for (size_t m = 0; ok && m < N_MODES; m++)
          {
            double submit_ms = 0, submit_cpu_ms = 0, total_ms = 0;

            if (m == 0)
              {
                gint64 t0 = weft_bench_now_ns ();

                ok = plain_write (dir, path, flat, len);
                if (!ok)
                  g_printerr ("weft-bench save: plain write failed: %s\n", g_strerror (errno));
                total_ms = weft_bench_elapsed_ms (t0, weft_bench_now_ns ());
              }
            else if (modes[m].backend != NULL)
              ok = autosave (modes[m].backend, ctx, text, options, &submit_ms, &submit_cpu_ms, &total_ms);
            else
              continue;
            if (i > 0)
              {
                modes[m].submit_ms[i - 1] = submit_ms;
                modes[m].submit_cpu_ms[i - 1] = submit_cpu_ms;
                modes[m].total_ms[i - 1] = total_ms;
              }
          }

      for (size_t m = 0; ok && m < N_MODES; m++)
        {
          g_autofree char *extra_json = NULL;
          WeftBenchRow row = { .bench = "save", .backend = modes[m].name,
                               .workers = m == 0 ? 0 : (int) workers,
                               .input_bytes = len };

          if (m > 0 && modes[m].backend == NULL)
            continue;

          if (m > 0)
            {
              WeftBenchRow submit = row, cpu = row;
              g_autofree char *cpu_json = NULL;

              /* The CPU-time median first: set_samples() sorts in place. */
              weft_bench_row_set_samples (&cpu, modes[m].submit_cpu_ms, runs);
              submit_cpu_median[m][p] = cpu.median_ms;
              cpu_json = g_strdup_printf ("\"cpu_median_ms\": %.6g", cpu.median_ms);
              submit.bench = "save-submit";
              submit.extra_json = cpu_json;
              weft_bench_row_set_samples (&submit, modes[m].submit_ms, runs);
              submit_median[m][p] = submit.median_ms;
              weft_bench_print_row (&opts, &submit);
            }

          weft_bench_row_set_samples (&row, modes[m].total_ms, runs);
          if (m == 0)
            plain_median = row.median_ms;
          else
            {
              double ratio = row.median_ms / plain_median;

              extra_json = g_strdup_printf ("\"ratio_to_plain_write\": %.4g", ratio);
              row.extra_json = extra_json;
              if (payloads[p].n_lines >= 1000000 && ratio > MAX_PLAIN_WRITE_RATIO)
                {
                  weft_bench_print_note (&opts, "%s: a 63 MB autosave takes %.2f × the plain write (bar %.1f)",
                                         modes[m].name, ratio, MAX_PLAIN_WRITE_RATIO);
                  missed = TRUE;
                }
            }
          weft_bench_print_row (&opts, &row);
        }

      for (size_t m = 0; m < N_MODES; m++)
        {
          g_clear_pointer (&modes[m].submit_ms, g_free);
          g_clear_pointer (&modes[m].submit_cpu_ms, g_free);
          g_clear_pointer (&modes[m].total_ms, g_free);
        }
      unlink (path);
    }

  for (size_t m = 1; ok && m < N_MODES; m++)
    {
      double small = submit_median[m][0], large = submit_median[m][G_N_ELEMENTS (payloads) - 1];

      if (modes[m].backend == NULL || small <= 0)
        continue;
      weft_bench_print_note (&opts, "%s: main-thread cost 63 MB / 1 MB = %.2f (bar %.1f); in CPU time %.2f",
                             modes[m].name, large / small, MAX_SUBMIT_RATIO,
                             submit_cpu_median[m][G_N_ELEMENTS (payloads) - 1] /
                             MAX (submit_cpu_median[m][0], 1e-6));
      if (large / small > MAX_SUBMIT_RATIO)
        missed = TRUE;
    }

  for (size_t m = 1; m < N_MODES; m++)
    if (modes[m].backend != NULL)
      {
        gboolean closed = FALSE;

        weft_backend_shutdown (modes[m].backend, WEFT_SHUTDOWN_CANCEL, closed_cb, &closed);
        while (!closed)
          g_main_context_iteration (ctx, TRUE);
      }
  rmdir (dir);

  check = opts.check;
  weft_bench_options_clear (&opts);
  if (!ok)
    return 1;
  return check && missed ? 1 : 0;
}
