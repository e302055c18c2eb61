/* bench-roundtrip.c: `weft-bench roundtrip`, the latency and throughput of a job's trip through each backend. */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "bench-common.h"
#include "weft-backend.h"

#define BATCH_JOBS 1000

typedef struct
{
  const char *label;
  size_t      n_lines;   /* 0: an empty job */
  int         runs;      /* default sample count */
} Payload;

/* Empty, ~1 MiB and the 63 MB reference document (63-byte lines). */
static const Payload payloads[] = {
  { "empty", 0, 2000 },
  { "1 MB", 16644, 200 },
  { "63 MB", 1000000, 10 },
};

typedef struct
{
  guint    pending;
  gboolean failed;
} Waiter;

static void
on_done (const WeftJobResult *result,
         gpointer             user_data)
{
  Waiter *waiter = user_data;

  if (result->error != NULL)
    {
      g_printerr ("weft-bench roundtrip: job failed: %s\n", result->error->message);
      waiter->failed = TRUE;
    }
  waiter->pending--;
}

static void
wait_all (GMainContext *ctx,
          Waiter       *waiter)
{
  while (waiter->pending > 0)
    g_main_context_iteration (ctx, TRUE);
}

/* Runs @n jobs over @input at once and waits for all of them. The bench job
 * with zero rounds reads one byte per page: the cost is moving the input. */
static gboolean
run_jobs (WeftBackend  *backend,
          GMainContext *ctx,
          WeftJobInput *input,
          GBytes       *options,
          guint         n)
{
  WeftJobSpec spec = { .kind = WEFT_JOB_BENCH, .input = input, .options = options };
  Waiter waiter = { n, FALSE };

  for (guint i = 0; i < n; i++)
    weft_backend_submit (backend, &spec, on_done, &waiter);
  wait_all (ctx, &waiter);
  return !waiter.failed;
}

static void
closed_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
}

static gboolean
bench_backend (const WeftBenchOptions *opts,
               const char             *kind,
               const char             *worker_path,
               GMainContext           *ctx)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) options = weft_job_bench_options (0);
  WeftBackend *backend;
  guint workers = opts->workers > 0 ? (guint) opts->workers : weft_backend_default_workers ();
  gboolean ok = TRUE;
  gboolean closed = FALSE;

  if (g_str_equal (kind, "threads"))
    backend = weft_thread_backend_new (workers, ctx);
  else
    backend = weft_process_backend_new (workers, worker_path, ctx, &error);
  if (backend == NULL)
    {
      g_printerr ("weft-bench roundtrip: %s\n", error->message);
      return FALSE;
    }

  /* Start every worker (processes spawn on their first job) before timing. */
  ok = run_jobs (backend, ctx, NULL, options, workers * 4);

  for (size_t p = 0; ok && p < G_N_ELEMENTS (payloads); p++)
    {
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(WeftJobInput) input = NULL;
      g_autofree double *samples = NULL;
      g_autofree char *extra = NULL;
      WeftBenchRow row = { .bench = "roundtrip", .backend = kind, .workers = (int) workers };
      size_t runs = opts->runs > 0 ? (size_t) opts->runs : (size_t) payloads[p].runs;
      size_t len = 0;

      if (payloads[p].n_lines > 0)
        {
          char *text = weft_bench_make_lines (payloads[p].n_lines, &len);
          bytes = g_bytes_new_take (text, len);
          input = weft_job_input_new_bytes (bytes);
        }
      row.input_bytes = len;

      ok = run_jobs (backend, ctx, input, options, 2);
      samples = g_new (double, runs);
      for (size_t i = 0; ok && i < runs; i++)
        {
          gint64 t0 = weft_bench_now_ns ();

          ok = run_jobs (backend, ctx, input, options, 1);
          samples[i] = weft_bench_elapsed_ms (t0, weft_bench_now_ns ());
        }
      if (!ok)
        break;

      weft_bench_row_set_samples (&row, samples, runs);
      if (len > 0)
        extra = g_strdup_printf ("\"throughput_mb_s\": %.6g", (double) len / 1e6 / (row.median_ms / 1e3));
      else
        extra = g_strdup_printf ("\"jobs_per_s\": %.6g", 1e3 / row.median_ms);
      row.extra_json = extra;
      weft_bench_print_row (opts, &row);
    }

  /* Throughput with the queue full: every worker busy, no waiting between
   * jobs. */
  if (ok)
    {
      WeftBenchRow row = { .bench = "roundtrip-batch", .backend = kind, .workers = (int) workers };
      size_t runs = opts->runs > 0 ? MIN ((size_t) opts->runs, 50) : 10;
      g_autofree double *samples = g_new (double, runs);
      g_autofree char *extra = NULL;

      for (size_t i = 0; ok && i < runs; i++)
        {
          gint64 t0 = weft_bench_now_ns ();

          ok = run_jobs (backend, ctx, NULL, options, BATCH_JOBS);
          samples[i] = weft_bench_elapsed_ms (t0, weft_bench_now_ns ());
        }
      if (ok)
        {
          weft_bench_row_set_samples (&row, samples, runs);
          extra = g_strdup_printf ("\"jobs\": %d, \"jobs_per_s\": %.6g",
                                   BATCH_JOBS, BATCH_JOBS * 1e3 / row.median_ms);
          row.extra_json = extra;
          weft_bench_print_row (opts, &row);
        }
    }

  weft_backend_shutdown (backend, WEFT_SHUTDOWN_CANCEL, closed_cb, &closed);
  while (!closed)
    g_main_context_iteration (ctx, TRUE);
  return ok;
}

int
weft_bench_roundtrip (int    argc,
                      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *worker_path = NULL;
  g_autoptr(GMainContext) ctx = g_main_context_new ();
  const GOptionEntry extra[] = {
    { "worker", 0, 0, G_OPTION_ARG_FILENAME, &worker_path,
      "The weft-worker program (default: $WEFT_WORKER_PATH, the build tree, libexecdir)", "PATH" },
    G_OPTION_ENTRY_NULL
  };
  const char *backends[2];
  size_t n_backends = 0;
  WeftBenchOptions opts;
  int status = 0;

  if (!weft_bench_parse_options ("roundtrip",
                                 "latency and throughput of an empty job, 1 MB and 63 MB payloads",
                                 argc, argv, extra, &opts, &error))
    {
      g_printerr ("weft-bench roundtrip: %s\n", error->message);
      return 2;
    }

  if (opts.backend == NULL || g_str_equal (opts.backend, "both"))
    {
      backends[n_backends++] = "threads";
      backends[n_backends++] = "processes";
    }
  else if (g_str_equal (opts.backend, "threads") || g_str_equal (opts.backend, "processes"))
    backends[n_backends++] = opts.backend;
  else
    {
      g_printerr ("weft-bench roundtrip: unknown backend “%s”\n", opts.backend);
      weft_bench_options_clear (&opts);
      return 2;
    }
  if (opts.input != NULL)
    weft_bench_print_note (&opts, "roundtrip generates its own payloads; --input is ignored");
  if (worker_path == NULL)
    worker_path = weft_bench_worker_path ();

  weft_bench_print_header (&opts);
  for (size_t b = 0; b < n_backends; b++)
    if (!bench_backend (&opts, backends[b], worker_path, ctx))
      status = 1;

  weft_bench_options_clear (&opts);
  return status;
}
