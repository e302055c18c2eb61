/* weft-compare.c: the comparison runner behind the stats panel's Compare and `weft --bench`. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "weft-backend.h"
#include "weft-compare.h"
#include "weft-sort.h"
#include "weft-sort-task.h"
#include "weft-spell.h"
#include "weft-spell-pass.h"
#include "weft-text.h"

/* Autosave writes this many drafts per run, whatever the number of workers,
 * so that more workers can share them out. */
#define AUTOSAVE_JOBS 8

static const char * const backend_names[WEFT_N_BACKEND_KINDS] = { "threads", "processes" };

const char *
weft_backend_kind_name (WeftBackendKind kind)
{
  g_return_val_if_fail (kind < WEFT_N_BACKEND_KINDS, NULL);

  return backend_names[kind];
}

gboolean
weft_backend_kind_from_name (const char      *name,
                             WeftBackendKind *out_kind)
{
  for (guint k = 0; k < WEFT_N_BACKEND_KINDS; k++)
    if (g_strcmp0 (name, backend_names[k]) == 0)
      {
        *out_kind = (WeftBackendKind) k;
        return TRUE;
      }
  return FALSE;
}

void
weft_compare_config_init (WeftCompareConfig *config)
{
  memset (config, 0, sizeof *config);
  config->backends = (1u << WEFT_N_BACKEND_KINDS) - 1;
  config->workloads = (1u << WEFT_N_WORKLOADS) - 1;
  config->min_workers = 1;
  config->max_workers = 2 * weft_backend_default_workers ();
  config->runs = 3;
  config->spell_language = "en_US";
}

/* What one timed run measured. */
typedef struct
{
  double  wall_ms;
  guint64 jobs;
  gint64  cpu_user_us;
  gint64  cpu_sys_us;
  gint64  voluntary_switches;
  gint64  involuntary_switches;
  guint64 ipc_bytes;
} Sample;

/* Read-only while a comparison runs. */
typedef struct
{
  const WeftCompareConfig *config;
  const char              *text;
  size_t                   len;
  GBytes                  *bytes;       /* the same text */
  char                    *scratch_dir;
  const WeftCompareCancelFlag *cancel;
} Run;

static gboolean
run_is_cancelled (const Run *run)
{
  return run->cancel != NULL && atomic_load_explicit (run->cancel, memory_order_acquire);
}

/* A backend of one kind made for one timed run, on a private main context
 * pushed as the thread's default, so that its callbacks run only where the
 * run iterates and no other job mixes into its totals. Every workload
 * measures through it. */
typedef struct
{
  GMainContext     *ctx;
  WeftBackend      *backend;
  gboolean          closed;
  WeftBackendStats  baseline;  /* what untimed warm-up jobs cost */
} RunBackend;

static gboolean
run_backend_open (RunBackend       *rb,
                  const Run        *run,
                  WeftBackendKind   kind,
                  guint             workers,
                  GError          **error)
{
  rb->ctx = g_main_context_new ();
  rb->closed = FALSE;
  memset (&rb->baseline, 0, sizeof rb->baseline);
  g_main_context_push_thread_default (rb->ctx);
  if (kind == WEFT_BACKEND_KIND_THREADS)
    rb->backend = weft_thread_backend_new (workers, rb->ctx);
  else
    rb->backend = weft_process_backend_new_full (workers, run->config->worker_path,
                                                 run->config->spell_language, rb->ctx, error);
  if (rb->backend != NULL)
    return TRUE;
  g_main_context_pop_thread_default (rb->ctx);
  g_clear_pointer (&rb->ctx, g_main_context_unref);
  return FALSE;
}

static void
on_run_backend_closed (gpointer user_data)
{
  ((RunBackend *) user_data)->closed = TRUE;
}

/* Copies the backend's totals into @out (the workers' own CPU, switches
 * and IPC), then shuts it down and waits until it has gone. */
static void
run_backend_close (RunBackend *rb,
                   Sample     *out)
{
  WeftBackendStats stats;

  weft_backend_get_stats (rb->backend, &stats);
  out->cpu_user_us = stats.cpu_user_us - rb->baseline.cpu_user_us;
  out->cpu_sys_us = stats.cpu_sys_us - rb->baseline.cpu_sys_us;
  out->voluntary_switches = stats.voluntary_switches - rb->baseline.voluntary_switches;
  out->involuntary_switches = stats.involuntary_switches - rb->baseline.involuntary_switches;
  out->ipc_bytes = stats.ipc_bytes - rb->baseline.ipc_bytes;

  weft_backend_shutdown (g_steal_pointer (&rb->backend), WEFT_SHUTDOWN_DRAIN, on_run_backend_closed, rb);
  while (!rb->closed)
    g_main_context_iteration (rb->ctx, TRUE);
  g_main_context_pop_thread_default (rb->ctx);
  g_clear_pointer (&rb->ctx, g_main_context_unref);
}

typedef struct
{
  guint   n_done;
  GError *error;     /* the first failure */
} AutosaveState;

static void
on_autosave_done (const WeftJobResult *result,
                  gpointer             user_data)
{
  AutosaveState *state = user_data;

  state->n_done++;
  if (result->error != NULL && state->error == NULL)
    state->error = g_error_copy (result->error);
}

/* AUTOSAVE_JOBS drafts of the text, each to its own file, as SAVE jobs. */
static gboolean
measure_autosave (const Run       *run,
                  WeftBackendKind  kind,
                  guint            workers,
                  gpointer         prepared,
                  Sample          *out,
                  GError         **error)
{
  g_autoptr(WeftJobInput) input = weft_job_input_new_bytes (run->bytes);
  guint64 ids[AUTOSAVE_JOBS];
  AutosaveState state = { 0 };
  RunBackend rb;
  gboolean cancelled = FALSE;
  gint64 start;

  if (!run_backend_open (&rb, run, kind, workers, error))
    return FALSE;

  start = g_get_monotonic_time ();
  for (guint i = 0; i < AUTOSAVE_JOBS; i++)
    {
      g_autofree char *name = g_strdup_printf ("draft-%u", i);
      g_autofree char *path = g_build_filename (run->scratch_dir, name, NULL);
      g_autoptr(GBytes) options = weft_job_save_options (path, 0600);
      WeftJobSpec spec = { .kind = WEFT_JOB_SAVE, .input = input, .options = options };

      ids[i] = weft_backend_submit (rb.backend, &spec, on_autosave_done, &state);
    }
  while (state.n_done < AUTOSAVE_JOBS)
    {
      if (!cancelled && run_is_cancelled (run))
        {
          cancelled = TRUE;
          for (guint i = 0; i < AUTOSAVE_JOBS; i++)
            weft_backend_cancel (rb.backend, ids[i]);
        }
      g_main_context_iteration (rb.ctx, TRUE);
    }
  out->wall_ms = (double) (g_get_monotonic_time () - start) / 1000.0;
  out->jobs = AUTOSAVE_JOBS;
  run_backend_close (&rb, out);

  if (state.error != NULL)
    {
      g_propagate_error (error, state.error);
      return FALSE;
    }
  return TRUE;
}

typedef struct
{
  WeftSortTask *task;
  gboolean      done;
  gint64        end;       /* monotonic time the sorted text was there */
  size_t        length;
  guint         n_jobs;
  GError       *error;
} SortState;

static void
on_sort_done (const WeftSortOutput *output,
              const GError         *error,
              gpointer              user_data)
{
  SortState *state = user_data;

  state->end = g_get_monotonic_time ();
  state->done = TRUE;
  state->task = NULL;
  if (error != NULL)
    {
      state->error = g_error_copy (error);
      return;
    }
  state->length = output->length;
  state->n_jobs = output->stats->n_jobs;
}

/* A long job would keep the context from waking for seconds: this wakes it
 * often enough that a cancelled comparison stops promptly. */
static gboolean
on_sort_poll_cancel (G_GNUC_UNUSED gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* One sort of the text as the editor runs it: weft_sort_task_start() in
 * @workers parts on a backend of @kind with @workers workers, timed from
 * the start until the sorted text is there (in pieces; the editor lays
 * them end to end afterwards). A fresh input every run, so that the
 * processes backend pays for its memfd every time; its worker processes
 * start with the first jobs, inside the timing, as for autosave. The
 * costs are the backend's totals: the jobs' own CPU and switches (their
 * threads', or the worker processes'), not the calling thread's. */
static gboolean
measure_sort (const Run       *run,
              WeftBackendKind  kind,
              guint            workers,
              gpointer         prepared,
              Sample          *out,
              GError         **error)
{
  WeftSortOptions opts = { .collation = WEFT_SORT_COLLATION_BYTES };
  g_autoptr(WeftJobInput) input = weft_job_input_new_bytes (run->bytes);
  SortState state = { 0 };
  GSource *poll;
  RunBackend rb;
  gint64 start;

  if (!run_backend_open (&rb, run, kind, workers, error))
    return FALSE;
  poll = g_timeout_source_new (50);
  g_source_set_callback (poll, on_sort_poll_cancel, NULL, NULL);
  g_source_attach (poll, rb.ctx);

  start = g_get_monotonic_time ();
  state.task = weft_sort_task_start (rb.backend, input, &opts, workers, 0, on_sort_done, &state);
  while (!state.done)
    {
      if (state.task != NULL && run_is_cancelled (run))
        {
          weft_sort_task_cancel (state.task);
          state.task = NULL;
        }
      g_main_context_iteration (rb.ctx, TRUE);
    }
  g_source_destroy (poll);
  g_source_unref (poll);
  out->wall_ms = (double) (state.end - start) / 1000.0;
  out->jobs = state.n_jobs;
  run_backend_close (&rb, out);

  if (state.error != NULL)
    {
      g_propagate_error (error, state.error);
      return FALSE;
    }
  /* Sorting keeps every byte: anything else is a bug in the sort. */
  g_warn_if_fail (state.length == run->len);
  return TRUE;
}

/* The text as a snapshot, made once per row outside the timed runs. */
static gpointer
prepare_spell (const Run  *run,
               guint       workers,
               GError    **error)
{
  WeftText *text = weft_text_new_from_utf8 (run->text, run->len);
  WeftSnapshot *snap = weft_text_snapshot (text);

  weft_text_free (text);
  return snap;
}

typedef struct
{
  gboolean  done;
  GError   *error;
  guint     n_jobs;
} SpellState;

static void
on_spell_pass_done (WeftSpellPass *pass,
                    const GError  *error,
                    gpointer       user_data)
{
  SpellState *state = user_data;

  state->done = TRUE;
  state->n_jobs = weft_spell_pass_get_n_jobs (pass);
  if (error != NULL)
    state->error = g_error_copy (error);
}

/* One pass over [0, @end_byte) of @snap on @rb, waited for. */
static gboolean
run_spell_pass (RunBackend    *rb,
                const Run     *run,
                WeftSnapshot  *snap,
                size_t         end_byte,
                guint          jobs_per_worker,
                guint         *out_jobs,
                GError       **error)
{
  WeftSpellPassOptions options = {
    .lang = run->config->spell_language,
    .jobs_per_worker = jobs_per_worker,
  };
  SpellState state = { 0 };
  WeftSpellPass *pass = weft_spell_pass_start (rb->backend, snap, 0, end_byte, &options, NULL,
                                               on_spell_pass_done, &state);
  gboolean cancelled = FALSE;

  while (!state.done)
    {
      if (!cancelled && run_is_cancelled (run))
        {
          cancelled = TRUE;
          weft_spell_pass_cancel (pass);
        }
      g_main_context_iteration (rb->ctx, TRUE);
    }
  if (out_jobs != NULL)
    *out_jobs = state.n_jobs;
  if (state.error != NULL)
    {
      g_propagate_error (error, state.error);
      return FALSE;
    }
  return TRUE;
}

/* The workers' dictionaries load with their first job, as they do once in
 * the editor: an untimed pass of one small job per worker loads them, and
 * its cost is left out of the row. */
#define SPELL_WARM_UP_BYTES (64 * 1024)

static gboolean
measure_spell (const Run       *run,
               WeftBackendKind  kind,
               guint            workers,
               gpointer         prepared,
               Sample          *out,
               GError         **error)
{
  WeftSnapshot *snap = prepared;
  RunBackend rb;
  guint n_jobs = 0;
  gboolean ok;
  gint64 start;

  if (!run_backend_open (&rb, run, kind, workers, error))
    return FALSE;
  ok = run_spell_pass (&rb, run, snap, MIN (run->len, (size_t) SPELL_WARM_UP_BYTES), 1, NULL, error);
  if (ok)
    {
      weft_backend_get_stats (rb.backend, &rb.baseline);
      start = g_get_monotonic_time ();
      ok = run_spell_pass (&rb, run, snap, run->len, 0, &n_jobs, error);
      out->wall_ms = (double) (g_get_monotonic_time () - start) / 1000.0;
      out->jobs = n_jobs;
    }
  run_backend_close (&rb, out);
  return ok;
}

/* The table of workloads: each prepares what a row needs outside its timed
 * runs, then measures one run on a backend kind with a number of workers.
 * @max_input_bytes keeps a pass over a large document to seconds: the text
 * is cut at the last line end before it, and the row says how much it had. */
typedef struct
{
  const char *name;
  size_t      max_input_bytes;
  gpointer  (*prepare) (const Run *run, guint workers, GError **error);
  GDestroyNotify prepared_free;
  gboolean  (*measure) (const Run *run, WeftBackendKind kind, guint workers, gpointer prepared,
                        Sample *out, GError **error);
} Workload;

static const Workload workloads[WEFT_N_WORKLOADS] = {
  [WEFT_WORKLOAD_SORT] = { "sort", G_MAXSIZE, NULL, NULL, measure_sort },
  /* 2 MB is ~300 000 words: a second or two with one worker. */
  [WEFT_WORKLOAD_SPELL] = { "spell", 2 * 1024 * 1024, prepare_spell, (GDestroyNotify) weft_snapshot_unref, measure_spell },
  /* Eight drafts of 4 MB each per run: what autosave costs without wearing
   * out the disk while 2 × 2 × cores rows run. */
  [WEFT_WORKLOAD_AUTOSAVE] = { "autosave", 4 * 1024 * 1024, NULL, NULL, measure_autosave },
};

const char *
weft_workload_name (WeftWorkloadId workload)
{
  g_return_val_if_fail (workload < WEFT_N_WORKLOADS, NULL);

  return workloads[workload].name;
}

static size_t
cut_at_line_end (const char *text,
                 size_t      len,
                 size_t      max)
{
  const char *nl;

  if (len <= max)
    return len;
  nl = memrchr (text, '\n', max);
  return nl != NULL ? (size_t) (nl - text) + 1 : max;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static void
row_set_samples (WeftCompareRow *row,
                 Sample         *samples,
                 guint           n)
{
  g_autofree double *wall = g_new (double, n);
  double sum = 0;

  for (guint i = 0; i < n; i++)
    {
      wall[i] = samples[i].wall_ms;
      sum += wall[i];
      row->cpu_user_ms += samples[i].cpu_user_us / 1000.0 / n;
      row->cpu_sys_ms += samples[i].cpu_sys_us / 1000.0 / n;
      row->voluntary_switches += (double) samples[i].voluntary_switches / n;
      row->involuntary_switches += (double) samples[i].involuntary_switches / n;
      row->ipc_bytes += (double) samples[i].ipc_bytes / n;
      row->jobs = samples[i].jobs;
    }
  qsort (wall, n, sizeof (double), compare_doubles);
  row->runs = n;
  row->min_ms = wall[0];
  row->max_ms = wall[n - 1];
  row->median_ms = n % 2 ? wall[n / 2] : (wall[n / 2 - 1] + wall[n / 2]) / 2;
  row->p99_ms = wall[MIN (n - 1, (guint) ceil (0.99 * n) - 1)];
  row->mean_ms = sum / n;
}

static void
remove_scratch_dir (const char *dir)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

static void
clear_row (gpointer data)
{
  g_free (((WeftCompareRow *) data)->note);
}

GArray *
weft_compare_run (const WeftCompareConfig *config,
                  WeftJobInput            *input,
                  WeftCompareProgressFunc  progress,
                  gpointer                 progress_data,
                  const WeftCompareCancelFlag *cancel,
                  GError                 **error)
{
  g_autoptr(GArray) rows = g_array_new (FALSE, TRUE, sizeof (WeftCompareRow));
  size_t full_len = input != NULL ? weft_job_input_get_size (input) : 0;
  g_autofree char *text = g_malloc (full_len + 1);
  g_autofree char *own_scratch = NULL;
  g_autofree Sample *samples = NULL;
  guint min_workers = MAX (config->min_workers, 1);
  guint max_workers = MAX (config->max_workers, min_workers);
  guint runs = MAX (config->runs, 1);
  guint total = 0, done = 0;
  Run run = { .config = config, .cancel = cancel };
  gboolean ok = TRUE;

  g_return_val_if_fail (config != NULL, NULL);

  g_array_set_clear_func (rows, clear_row);
  if (full_len > 0)
    weft_job_input_copy (input, 0, text, full_len);
  text[full_len] = '\0';

  if (config->scratch_dir != NULL)
    run.scratch_dir = (char *) config->scratch_dir;
  else
    {
      own_scratch = g_dir_make_tmp ("weft-compare-XXXXXX", error);
      if (own_scratch == NULL)
        return NULL;
      run.scratch_dir = own_scratch;
    }

  for (guint w = 0; w < WEFT_N_WORKLOADS; w++)
    for (guint k = 0; k < WEFT_N_BACKEND_KINDS; k++)
      if ((config->workloads & (1u << w)) && (config->backends & (1u << k)))
        total += (max_workers - min_workers + 1) * runs;
  samples = g_new0 (Sample, runs);

  for (guint w = 0; w < WEFT_N_WORKLOADS && ok; w++)
    {
      const Workload *workload = &workloads[w];
      size_t len = cut_at_line_end (text, full_len, workload->max_input_bytes);
      g_autoptr(GBytes) bytes = g_bytes_new_static (text, len);

      if (!(config->workloads & (1u << w)))
        continue;
      run.text = text;
      run.len = len;
      run.bytes = bytes;

      for (guint k = 0; k < WEFT_N_BACKEND_KINDS && ok; k++)
        {
          if (!(config->backends & (1u << k)))
            continue;
          for (guint n = min_workers; n <= max_workers && ok; n++)
            {
              WeftCompareRow row = { .workload = w, .backend = k, .workers = n, .input_bytes = len };
              g_autoptr(GError) local_error = NULL;
              gpointer prepared = NULL;
              guint r = 0;

              row.available = TRUE;
              if (workload->prepare != NULL &&
                       (prepared = workload->prepare (&run, n, &local_error)) == NULL)
                row.available = FALSE;

              for (; row.available && r < runs; r++)
                {
                  memset (&samples[r], 0, sizeof (Sample));
                  if (!workload->measure (&run, k, n, prepared, &samples[r], &local_error))
                    break;
                  if (progress != NULL)
                    progress (++done, total, progress_data);
                }
              if (prepared != NULL && workload->prepared_free != NULL)
                workload->prepared_free (prepared);

              if (run_is_cancelled (&run) ||
                  g_error_matches (local_error, WEFT_ERROR, WEFT_ERROR_CANCELLED))
                {
                  g_free (row.note);
                  ok = FALSE;
                  g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_CANCELLED,
                                       _("The comparison was cancelled"));
                  break;
                }
              if (local_error != NULL)
                {
                  row.available = FALSE;
                  row.note = g_strdup (local_error->message);
                }
              if (row.available)
                row_set_samples (&row, samples, runs);
              else if (progress != NULL)
                progress (done += runs - r, total, progress_data);
              g_array_append_val (rows, row);
            }
        }
    }

  if (own_scratch != NULL)
    remove_scratch_dir (own_scratch);
  if (!ok)
    return NULL;
  return g_steal_pointer (&rows);
}

void
weft_compare_rows_free (GArray *rows)
{
  if (rows != NULL)
    g_array_unref (rows);
}

static void
append_json_string (GString    *out,
                    const char *s)
{
  g_string_append_c (out, '"');
  for (const char *p = s; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", c);
      else if (c < 0x20)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, (char) c);
    }
  g_string_append_c (out, '"');
}

/* Numbers in the C locale whatever the user's, and never NaN or inf,
 * which JSON cannot say. */
static void
append_number (GString *out,
               double   value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (value))
    value = 0;
  g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.6g", value));
}

static const char * const number_fields[] = {
  "median_ms", "min_ms", "max_ms", "p99_ms", "mean_ms", "cpu_user_ms", "cpu_sys_ms",
  "voluntary_switches", "involuntary_switches", "ipc_bytes", "jobs",
};

static void
row_numbers (const WeftCompareRow *row,
             double                values[G_N_ELEMENTS (number_fields)])
{
  double v[] = {
    row->median_ms, row->min_ms, row->max_ms, row->p99_ms, row->mean_ms, row->cpu_user_ms,
    row->cpu_sys_ms, row->voluntary_switches, row->involuntary_switches, row->ipc_bytes,
    (double) row->jobs,
  };

  G_STATIC_ASSERT (G_N_ELEMENTS (v) == G_N_ELEMENTS (number_fields));
  memcpy (values, v, sizeof v);
}

char *
weft_compare_rows_to_jsonl (GArray *rows)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < rows->len; i++)
    {
      const WeftCompareRow *row = &g_array_index (rows, WeftCompareRow, i);
      double values[G_N_ELEMENTS (number_fields)];

      row_numbers (row, values);
      g_string_append (out, "{\"bench\": ");
      append_json_string (out, weft_workload_name (row->workload));
      g_string_append (out, ", \"backend\": ");
      append_json_string (out, weft_backend_kind_name (row->backend));
      g_string_append_printf (out, ", \"workers\": %u, \"input_bytes\": %zu, \"runs\": %u",
                              row->workers, row->input_bytes, row->available ? row->runs : 0);
      for (guint f = 0; f < G_N_ELEMENTS (number_fields); f++)
        {
          g_string_append_printf (out, ", \"%s\": ", number_fields[f]);
          if (row->available)
            append_number (out, values[f]);
          else
            g_string_append (out, "null");
        }
      g_string_append_printf (out, ", \"available\": %s, \"note\": ", row->available ? "true" : "false");
      if (row->note != NULL)
        append_json_string (out, row->note);
      else
        g_string_append (out, "null");
      g_string_append (out, "}\n");
    }
  return g_string_free (out, FALSE);
}

static void
append_csv_field (GString    *out,
                  const char *s)
{
  g_string_append_c (out, '"');
  for (const char *p = s; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

char *
weft_compare_rows_to_csv (GArray *rows)
{
  GString *out = g_string_new ("bench,backend,workers,input_bytes,runs");

  for (guint f = 0; f < G_N_ELEMENTS (number_fields); f++)
    g_string_append_printf (out, ",%s", number_fields[f]);
  g_string_append (out, ",available,note\n");

  for (guint i = 0; i < rows->len; i++)
    {
      const WeftCompareRow *row = &g_array_index (rows, WeftCompareRow, i);
      double values[G_N_ELEMENTS (number_fields)];

      row_numbers (row, values);
      g_string_append_printf (out, "%s,%s,%u,%zu,%u", weft_workload_name (row->workload),
                              weft_backend_kind_name (row->backend), row->workers, row->input_bytes,
                              row->available ? row->runs : 0);
      for (guint f = 0; f < G_N_ELEMENTS (number_fields); f++)
        {
          g_string_append_c (out, ',');
          if (row->available)
            append_number (out, values[f]);
        }
      g_string_append_printf (out, ",%s,", row->available ? "true" : "false");
      append_csv_field (out, row->note != NULL ? row->note : "");
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

double
weft_compare_amdahl (double parallel,
                     double workers)
{
  return 1.0 / ((1.0 - parallel) + parallel / MAX (workers, 1.0));
}

static double
amdahl_error (double        parallel,
              const double *workers,
              const double *speedups,
              size_t        n)
{
  double sum = 0;

  for (size_t i = 0; i < n; i++)
    {
      double d = speedups[i] - weft_compare_amdahl (parallel, workers[i]);

      sum += d * d;
    }
  return sum;
}

double
weft_compare_fit_amdahl (const double *workers,
                         const double *speedups,
                         size_t        n)
{
  double best = 0, best_error = G_MAXDOUBLE;
  double lo, hi;

  /* A coarse scan finds the basin (the error need not be unimodal with
   * noisy points), a finer one around it the value. */
  for (int i = 0; i <= 100; i++)
    {
      double p = i / 100.0, e = amdahl_error (p, workers, speedups, n);

      if (e < best_error)
        best = p, best_error = e;
    }
  lo = MAX (0.0, best - 0.01);
  hi = MIN (1.0, best + 0.01);
  for (int i = 0; i <= 200; i++)
    {
      double p = lo + (hi - lo) * i / 200.0, e = amdahl_error (p, workers, speedups, n);

      if (e < best_error)
        best = p, best_error = e;
    }
  return best;
}

/* xorshift64*: tiny, fast, and identical everywhere, so that inputs (and
 * therefore results) can be compared between machines and runs. */
static guint64
next_random (guint64 *state)
{
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  return *state * 0x2545F4914F6CDD1DULL;
}

#define LINE_TEXT_BYTES 62

char *
weft_compare_make_lines (size_t  n_lines,
                         size_t *out_len)
{
  static const char *const words[] = {
    "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "weft",
    "warp", "loom", "thread", "shuttle", "heddle", "reed", "bobbin", "spool",
    "pattern", "linen", "wool", "cotton", "silk", "indigo", "madder", "weave",
    "café", "naïve", "Größe", "señor", "façade", "€uro", "übung", "zebra",
    "alpha", "beta", "gamma", "delta", "epsilon", "omega", "kappa", "sigma",
  };
  size_t len = n_lines * (LINE_TEXT_BYTES + 1);
  char *text = g_malloc (len + 1);
  char *p = text;
  guint64 state = 0x5745465442454E43ULL;

  for (size_t line = 0; line < n_lines; line++)
    {
      size_t used = 0;

      for (;;)
        {
          const char *word = words[next_random (&state) % G_N_ELEMENTS (words)];
          size_t word_len = strlen (word);
          size_t need = word_len + (used > 0);

          if (used + need > LINE_TEXT_BYTES)
            break;
          if (used > 0)
            p[used++] = ' ';
          memcpy (p + used, word, word_len);
          used += word_len;
        }

      /* Fill the rest with a word of ASCII letters so every line is exactly
       * 63 bytes and no multi-byte sequence is cut. */
      if (used > 0 && used + 1 < LINE_TEXT_BYTES)
        p[used++] = ' ';
      while (used < LINE_TEXT_BYTES)
        p[used++] = (char) ('a' + next_random (&state) % 26);

      p[LINE_TEXT_BYTES] = '\n';
      p += LINE_TEXT_BYTES + 1;
    }

  *p = '\0';
  if (out_len != NULL)
    *out_len = len;
  return text;
}
