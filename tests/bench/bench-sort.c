/* bench-sort.c: `weft-bench sort`, the sort on the threads and processes backends against GNU sort --parallel=1/2 on the same file, in one run. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "bench-common.h"
#include "bench-cores.h"
#include "weft-backend.h"
#include "weft-sort.h"
#include "weft-sort-task.h"
#include "weft-text.h"

#define DEFAULT_RUNS     7
#define GENERATED_LINES  1000000

/* The design's bars (DESIGN.md §4), against GNU sort --parallel=2 in the
 * same locale, measured in the same run. */
#define BAR_BYTES_VS_GNU   0.5
#define BAR_LOCALE_VS_GNU  0.7
#define BAR_SPEEDUP_2      1.7
#define BAR_PROCESSES      1.25

typedef struct
{
  const char        *backend;   /* "threads", "processes" or "gnu-sort" */
  int                workers;
  double            *samples;
  WeftBackend       *pool;      /* the backend the sort runs on; NULL for gnu-sort */
  WeftSortTaskStats  stats;     /* of the last run */
  double            *capacity;  /* the cores probe around each sample */
  WeftBenchFullMedian full;     /* over the samples with a core per thread */
} Config;

static const char *
mode_locale (gboolean locale)
{
  return locale ? "en_US.UTF-8" : "C";
}

static gboolean
run_gnu_sort (const char  *path,
              int          parallel,
              gboolean     locale,
              const char  *output,
              GError     **error)
{
  g_autofree char *parallel_arg = g_strdup_printf ("--parallel=%d", parallel);
  const char *argv[] = { "sort", parallel_arg, "-o", output ? output : "/dev/null", path, NULL };
  g_auto (GStrv) envp = g_environ_setenv (g_get_environ (), "LC_ALL", mode_locale (locale), TRUE);
  int status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, envp, G_SPAWN_SEARCH_PATH, NULL, NULL,
                     NULL, NULL, &status, error))
    return FALSE;
  return g_spawn_check_wait_status (status, error);
}

typedef struct
{
  gboolean           done;
  GError            *error;
  GPtrArray         *pieces;    /* GBytes: the sorted text, kept past the timing */
  WeftSortTaskStats  stats;
} TaskRun;

static void
on_sorted (const WeftSortOutput *output,
           const GError         *error,
           gpointer              user_data)
{
  TaskRun *run = user_data;

  run->done = TRUE;
  if (error != NULL)
    {
      run->error = g_error_copy (error);
      return;
    }
  for (guint i = 0; i < output->n_pieces; i++)
    g_ptr_array_add (run->pieces, g_bytes_ref (output->pieces[i]));
  run->stats = *output->stats;
}

/* The text the sorts read: a document's snapshot, as in the editor, where
 * the threads backend pays for a contiguous copy and the processes backend
 * for its memfd; or, for a file that is not UTF-8 (a document could not
 * hold it), the bytes themselves. */
typedef struct
{
  WeftText   *doc;   /* nullable */
  const char *text;
  size_t      len;
} SortText;

static WeftJobInput *
sort_text_input (const SortText *st)
{
  g_autoptr (WeftSnapshot) snap = NULL;
  g_autoptr (GBytes) bytes = NULL;

  if (st->doc != NULL)
    {
      snap = weft_text_snapshot (st->doc);
      return weft_job_input_new_snapshot (snap);
    }
  bytes = g_bytes_new_static (st->text, st->len);
  return weft_job_input_new_bytes (bytes);
}

/* One sort as the application runs it: jobs on @pool, whose workers are
 * already up (as they are in the editor). A fresh input every time, so
 * that each backend pays for its copy of the text in every run. Timed until
 * the sorted text is there, in pieces; laying them end to end into @out
 * (nullable), as the editor does on a thread of its own before applying
 * them, and freeing them come after the timing. */
static gboolean
run_task (WeftBackend            *pool,
          const SortText         *st,
          const WeftSortOptions  *sort_opts,
          int                     workers,
          char                   *out,
          size_t                 *out_len,
          WeftSortTaskStats      *out_stats,
          gint64                 *end_ns,
          GError                **error)
{
  g_autoptr (WeftJobInput) input = sort_text_input (st);
  g_autoptr (GPtrArray) pieces = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  TaskRun run = { FALSE, NULL, pieces, { 0 } };
  size_t n_out = 0;

  weft_sort_task_start (pool, input, sort_opts, (guint) workers, 0, on_sorted, &run);
  while (!run.done)
    g_main_context_iteration (NULL, TRUE);
  if (end_ns != NULL)
    *end_ns = weft_bench_now_ns ();
  if (run.error != NULL)
    {
      g_propagate_error (error, run.error);
      return FALSE;
    }
  for (guint i = 0; out != NULL && i < pieces->len; i++)
    {
      gsize n;
      const void *piece = g_bytes_get_data (g_ptr_array_index (pieces, i), &n);

      memcpy (out + n_out, piece, n);
      n_out += n;
    }
  if (out_len != NULL)
    *out_len = n_out;
  if (out_stats != NULL)
    *out_stats = run.stats;
  return TRUE;
}

static void
on_pool_closed (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

static void
close_pool (WeftBackend *pool)
{
  gboolean closed = FALSE;

  weft_backend_shutdown (pool, WEFT_SHUTDOWN_CANCEL, on_pool_closed, &closed);
  while (!closed)
    g_main_context_iteration (NULL, TRUE);
}

/* The common parser rejects positional arguments: take FILE out first. */
static char *
take_positional_file (int   *argc,
                      char **argv)
{
  static const char *const with_value[] = {
    "--runs", "--backend", "--workers", "--input", "--mode", "--output",
  };
  char *file = NULL;
  int out = 1;

  for (int i = 1; i < *argc; i++)
    {
      gboolean takes_value = FALSE;

      for (size_t k = 0; k < G_N_ELEMENTS (with_value); k++)
        if (strcmp (argv[i], with_value[k]) == 0)
          takes_value = TRUE;
      if (takes_value && i + 1 < *argc)
        {
          argv[out++] = argv[i++];
          argv[out++] = argv[i];
          continue;
        }
      if (file == NULL && argv[i][0] != '-')
        {
          file = argv[i];
          continue;
        }
      argv[out++] = argv[i];
    }
  *argc = out;
  argv[out] = NULL;
  return file;
}

int
weft_bench_sort (int    argc,
                 char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *mode = NULL;
  g_autofree char *output = NULL;
  g_autofree char *text = NULL;
  g_autofree char *out = NULL;
  g_autofree char *tmp_path = NULL;
  g_autoptr (GArray) configs = g_array_new (FALSE, TRUE, sizeof (Config));
  g_autoptr (WeftText) doc = NULL;
  SortText st;
  const GOptionEntry extra[] = {
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode, "Collation (default bytes)", "bytes|locale" },
    { "output", 0, 0, G_OPTION_ARG_FILENAME, &output, "Write the sorted text to OUT", "OUT" },
    G_OPTION_ENTRY_NULL
  };
  WeftBenchOptions opts;
  WeftSortOptions sort_opts = { 0 };
  const char *path;
  char *file;
  size_t len = 0, out_len;
  gboolean locale, bar_ok = TRUE, want_threads, want_processes;
  double gnu2_ms = 0, threads1_ms = 0, threads2_ms = 0, processes2_ms = 0;
  Config *threads1 = NULL, *threads2 = NULL, *processes2 = NULL;
  WeftBenchCores cores = { 0 };
  int runs, max_workers, status = 0;
  g_autofree char *worker_path = weft_bench_worker_path ();

  file = take_positional_file (&argc, argv);
  if (!weft_bench_parse_options ("sort",
                                 "parallel sort of 1M lines against GNU sort --parallel=1/2",
                                 argc, argv, extra, &opts, &error))
    {
      g_printerr ("weft-bench sort: %s\n", error->message);
      return 2;
    }
  if (file != NULL && opts.input == NULL)
    opts.input = g_strdup (file);

  locale = mode != NULL && strcmp (mode, "locale") == 0;
  if (mode != NULL && !locale && strcmp (mode, "bytes") != 0)
    {
      g_printerr ("weft-bench sort: --mode must be bytes or locale\n");
      weft_bench_options_clear (&opts);
      return 2;
    }
  want_threads = opts.backend == NULL || strcmp (opts.backend, "both") == 0 ||
                 strcmp (opts.backend, "threads") == 0;
  want_processes = opts.backend == NULL || strcmp (opts.backend, "both") == 0 ||
                   strcmp (opts.backend, "processes") == 0;
  if (!want_threads && !want_processes)
    {
      g_printerr ("weft-bench sort: --backend must be threads, processes or both\n");
      weft_bench_options_clear (&opts);
      return 2;
    }

  if (opts.input != NULL)
    {
      if (!g_file_get_contents (opts.input, &text, &len, &error))
        {
          g_printerr ("weft-bench sort: %s\n", error->message);
          weft_bench_options_clear (&opts);
          return 2;
        }
      path = opts.input;
    }
  else
    {
      int fd;

      text = weft_bench_make_lines (GENERATED_LINES, &len);
      fd = g_file_open_tmp ("weft-bench-sort-XXXXXX", &tmp_path, &error);
      if (fd < 0 || !g_file_set_contents (tmp_path, text, (gssize) len, &error))
        {
          g_printerr ("weft-bench sort: %s\n", error->message);
          if (fd >= 0)
            close (fd);
          weft_bench_options_clear (&opts);
          return 2;
        }
      close (fd);
      path = tmp_path;
    }

  if (weft_utf8_validate (text, len, NULL))
    doc = weft_text_new_from_utf8 (text, len);
  st = (SortText) { doc, text, len };

  sort_opts.collation = locale ? WEFT_SORT_COLLATION_LOCALE : WEFT_SORT_COLLATION_BYTES;
  sort_opts.locale = locale ? mode_locale (TRUE) : NULL;

  runs = opts.runs > 0 ? opts.runs : DEFAULT_RUNS;
  max_workers = opts.workers > 0 ? opts.workers : 2 * (int) MAX (1, sysconf (_SC_NPROCESSORS_ONLN));

  /* Rows for 1 ... N workers (--workers N; default 2 x cores) on each
   * backend asked for, so that the speedup over one worker is always
   * measured; the sort runs with as many parts as the pool has workers. */
  for (int b = 0; b < 2; b++)
    for (int w = 1; w <= max_workers && (b == 0 ? want_threads : want_processes); w++)
      {
        Config c = { b == 0 ? "threads" : "processes", w, g_new0 (double, runs), NULL, { 0 },
                     g_new0 (double, runs), { 0, 0 } };

        if (b == 0)
          c.pool = weft_thread_backend_new ((guint) w, NULL);
        else
          c.pool = weft_process_backend_new ((guint) w, worker_path, NULL, &error);
        if (c.pool == NULL)
          {
            g_printerr ("weft-bench sort: %s\n", error->message);
            g_free (c.samples);
            g_free (c.capacity);
            status = 2;
            goto out;
          }
        g_array_append_val (configs, c);
      }
  for (int w = 1; w <= 2; w++)
    {
      Config c = { "gnu-sort", w, g_new0 (double, runs), NULL, { 0 }, g_new0 (double, runs), { 0, 0 } };

      g_array_append_val (configs, c);
    }

  out = g_malloc (MAX (len, 1));
  /* Touch the output buffer once so page faults are not timed. */
  memset (out, 0, MAX (len, 1));

  /* Warm-up of every pool (workers started, pages touched), and a check
   * that the text is sortable in this mode. */
  for (guint k = 0; k < configs->len; k++)
    {
      Config *c = &g_array_index (configs, Config, k);

      if (c->pool != NULL && !run_task (c->pool, &st, &sort_opts, c->workers, out, NULL, NULL, NULL, &error))
        break;
    }
  if (error != NULL || !run_gnu_sort (path, 2, locale, NULL, &error))
    {
      g_printerr ("weft-bench sort: %s\n", error->message);
      status = 2;
      goto out;
    }

  /* Every configuration once per round, so that whatever else the machine
   * does weighs on all of them alike; the cores probe runs between samples
   * (bench-cores.h). */
  weft_bench_cores_init (&cores, 0);
  for (int i = 0; i < runs; i++)
    for (guint k = 0; k < configs->len; k++)
      {
        Config *c = &g_array_index (configs, Config, k);
        gint64 t0 = weft_bench_now_ns (), t1 = 0;
        gboolean ok;

        if (c->pool != NULL)
          ok = run_task (c->pool, &st, &sort_opts, c->workers, NULL, NULL, &c->stats, &t1, &error);
        else
          {
            ok = run_gnu_sort (path, c->workers, locale, NULL, &error);
            t1 = weft_bench_now_ns ();
          }
        c->samples[i] = weft_bench_elapsed_ms (t0, t1);
        c->capacity[i] = weft_bench_cores_after (&cores);
        if (!ok)
          {
            g_printerr ("weft-bench sort: %s\n", error->message);
            status = 2;
            goto out;
          }
      }

  weft_bench_print_header (&opts);
  {
    WeftBenchRow rows[128];
    guint n_rows = MIN (configs->len, G_N_ELEMENTS (rows));

    for (guint k = 0; k < n_rows; k++)
      {
        Config *c = &g_array_index (configs, Config, k);

        rows[k] = (WeftBenchRow) { .bench = locale ? "sort-locale" : "sort-bytes",
                                   .backend = c->backend, .workers = c->workers,
                                   .input_bytes = len };
        /* Before the samples are sorted, away from their probes. */
        c->full = weft_bench_full_median (&cores, c->samples, c->capacity, (size_t) runs);
        weft_bench_row_set_samples (&rows[k], c->samples, (size_t) runs);
        if (strcmp (c->backend, "gnu-sort") == 0 && c->workers == 2)
          gnu2_ms = rows[k].median_ms;
        if (strcmp (c->backend, "threads") == 0 && c->workers == 1)
          threads1 = c, threads1_ms = rows[k].median_ms;
        if (strcmp (c->backend, "threads") == 0 && c->workers == 2)
          threads2 = c, threads2_ms = rows[k].median_ms;
        if (strcmp (c->backend, "processes") == 0 && c->workers == 2)
          processes2 = c, processes2_ms = rows[k].median_ms;
      }

    for (guint k = 0; k < n_rows; k++)
      {
        Config *c = &g_array_index (configs, Config, k);
        g_autofree char *extra_json = NULL;

        if (c->pool != NULL)
          extra_json = g_strdup_printf ("\"mode\": \"%s\", \"median_ms_all_cores\": %.9g"
                                        ", \"runs_all_cores\": %zu, \"ratio_vs_gnu_parallel2\": %.4f"
                                        ", \"speedup_vs_threads_1\": %.4f"
                                        ", \"last_run_phases_ms\": [%.1f, %.1f]"
                                        ", \"last_run_cpu_ms\": %.1f, \"last_run_ipc_bytes\": %" G_GUINT64_FORMAT,
                                        locale ? "locale" : "bytes", c->full.median_ms, c->full.n,
                                        rows[k].median_ms / gnu2_ms,
                                        threads1_ms > 0 ? threads1_ms / rows[k].median_ms : 0.0,
                                        c->stats.run_phase_us / 1000.0, c->stats.merge_phase_us / 1000.0,
                                        (c->stats.cpu_user_us + c->stats.cpu_sys_us) / 1000.0,
                                        c->stats.ipc_bytes);
        else
          extra_json = g_strdup_printf ("\"mode\": \"%s\"", locale ? "locale" : "bytes");
        rows[k].extra_json = extra_json;
        weft_bench_print_row (&opts, &rows[k]);
      }
  }

  if (threads2_ms > 0 && gnu2_ms > 0)
    {
      double bar = locale ? BAR_LOCALE_VS_GNU : BAR_BYTES_VS_GNU;
      gboolean ratio_ok = threads2_ms <= bar * gnu2_ms;

      weft_bench_print_note (&opts, "2 workers vs GNU sort --parallel=2: %.3f (bar <= %.1f): %s",
                             threads2_ms / gnu2_ms, bar, ratio_ok ? "met" : "MISSED");
      bar_ok = bar_ok && ratio_ok;
    }
  if (!locale && threads1_ms > 0 && threads2_ms > 0)
    {
      double full = weft_bench_full_ratio (&threads1->full, &threads2->full);
      gboolean speedup_ok = full >= BAR_SPEEDUP_2;

      weft_bench_print_note (&opts, "2 workers vs 1 worker: %.3fx over all samples, %.3fx over those "
                                    "with a core per thread (%zu and %zu of %d) (bar >= %.1fx): %s",
                             threads1_ms / threads2_ms, full, threads1->full.n, threads2->full.n, runs,
                             BAR_SPEEDUP_2, speedup_ok ? "met" : "MISSED");
      bar_ok = bar_ok && speedup_ok;
    }
  if (threads2_ms > 0 && processes2_ms > 0)
    {
      double full = weft_bench_full_ratio (&processes2->full, &threads2->full);
      gboolean processes_ok = full > 0 && full <= BAR_PROCESSES;

      weft_bench_print_note (&opts, "processes vs threads, 2 workers: %.3f over all samples, %.3f over "
                                    "those with a core per thread (%zu and %zu of %d) (bar <= %.2f): %s",
                             processes2_ms / threads2_ms, full, processes2->full.n, threads2->full.n,
                             runs, BAR_PROCESSES, processes_ok ? "met" : "MISSED");
      bar_ok = bar_ok && processes_ok;
    }
  weft_bench_print_note (&opts, "the machine gave a core to each of %u threads in %zu of %zu probes "
                                "(bench-cores.h)", cores.n_threads, cores.n_full, cores.n_probes);
  weft_bench_print_note (&opts,
                         "threads/processes rows: weft_sort_task_start() on a backend whose workers are up "
                         "(runs, then buckets or merges, as jobs), from %s to the sorted text in pieces; "
                         "each run includes the backend's copy of the text (threads: one contiguous block, "
                         "processes: the memfd); "
                         "gnu-sort rows: the whole sort(1) process, output to /dev/null",
                         doc != NULL ? "a snapshot of the text as a document (as in the editor)"
                                     : "the file's bytes in memory (not UTF-8, so no document)");

  /* --output: the sorted text; with --check it is also compared with GNU
   * sort's (which adds a final newline the input may lack). */
  out_len = 0;
  if (output != NULL || opts.check)
    {
      Config *c = &g_array_index (configs, Config, 0);

      /* The first pool's sort (with --check, every pool's must agree). */
      if (!run_task (c->pool, &st, &sort_opts, c->workers, out, &out_len, NULL, NULL, &error))
        {
          g_printerr ("weft-bench sort: %s\n", error->message);
          status = 2;
          goto out;
        }
      if (output != NULL && !g_file_set_contents (output, out, (gssize) out_len, &error))
        {
          g_printerr ("weft-bench sort: %s\n", error->message);
          status = 2;
          goto out;
        }
    }
  if (opts.check)
    {
      g_autofree char *gnu_path = g_strconcat (path, ".gnu-sorted", NULL);
      g_autofree char *gnu_text = NULL;
      size_t gnu_len = 0;

      if (!run_gnu_sort (path, 2, locale, gnu_path, &error) ||
          !g_file_get_contents (gnu_path, &gnu_text, &gnu_len, &error))
        {
          g_printerr ("weft-bench sort: %s\n", error->message);
          status = 2;
          goto out;
        }
      g_unlink (gnu_path);
      if (len > 0 && text[len - 1] != '\n' && gnu_len > 0)
        gnu_len--;
      for (guint k = 0; k < configs->len; k++)
        {
          Config *c = &g_array_index (configs, Config, k);

          if (c->pool == NULL)
            continue;
          if (!run_task (c->pool, &st, &sort_opts, c->workers, out, &out_len, NULL, NULL, &error))
            {
              g_printerr ("weft-bench sort: %s\n", error->message);
              status = 2;
              goto out;
            }
          if (gnu_len != out_len || memcmp (gnu_text, out, out_len) != 0)
            {
              weft_bench_print_note (&opts, "%s, %d workers: output differs from GNU sort's",
                                     c->backend, c->workers);
              bar_ok = FALSE;
            }
          else
            weft_bench_print_note (&opts, "%s, %d workers: output identical to GNU sort's",
                                   c->backend, c->workers);
        }
    }

  if (opts.check && !bar_ok)
    status = 1;

out:
  for (guint k = 0; k < configs->len; k++)
    {
      g_free (g_array_index (configs, Config, k).samples);
      g_free (g_array_index (configs, Config, k).capacity);
      if (g_array_index (configs, Config, k).pool != NULL)
        close_pool (g_array_index (configs, Config, k).pool);
    }
  if (tmp_path != NULL)
    g_unlink (tmp_path);
  weft_bench_options_clear (&opts);
  return status;
}
