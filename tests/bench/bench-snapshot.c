/* bench-snapshot.c: `weft-bench snapshot`, the main-thread cost of snapshotting and of typing into a large document. */
#include "config.h"

#include <stdio.h>

#include "bench-common.h"
#include "weft-file.h"
#include "weft-text.h"

/* The design's bar: a snapshot costs the same whatever the document size
 * (largest / smallest median <= 2) and stays under 0.1 ms. */
#define BAR_MAX_RATIO  2.0
#define BAR_MAX_MS     0.1

#define DEFAULT_RUNS   10000
#define WARMUP_RUNS    1000

/* A snapshot costs tens of nanoseconds, close to the clock's own resolution
 * and call cost, so each sample times a batch and reports the mean per
 * snapshot; single samples made the medians jump between clock ticks. */
#define SNAPSHOTS_PER_RUN 100

typedef struct
{
  const char *label;
  size_t      n_lines;
} GeneratedInput;

/* ~1 MiB and 63 MB (the reference 1M-line document), 63 bytes per line. */
static const GeneratedInput generated_inputs[] = {
  { "1 MB", 16644 },
  { "63 MB", 1000000 },
};

/* One document under test, with its samples. Sizes are measured in
 * alternation, run by run, so that whatever else the machine is doing
 * weighs on all of them alike and their ratio stays meaningful. */
typedef struct
{
  char         *label;
  char         *utf8;
  size_t        len;
  WeftText     *text;
  double       *snapshot_ms;
  double       *typing_ms;
  WeftSnapshot *held;
  size_t        cursor;
  guint64       jump_state;
} Input;

static void
input_clear (Input *input)
{
  g_clear_pointer (&input->held, weft_snapshot_unref);
  g_clear_pointer (&input->text, weft_text_free);
  g_clear_pointer (&input->label, g_free);
  g_clear_pointer (&input->utf8, g_free);
  g_clear_pointer (&input->snapshot_ms, g_free);
  g_clear_pointer (&input->typing_ms, g_free);
}

/* What a job submission costs the main thread: take a snapshot and, once the
 * worker is done with it, drop it. */
static double
time_snapshots (WeftText *text)
{
  gint64 t0 = weft_bench_now_ns ();

  for (size_t j = 0; j < SNAPSHOTS_PER_RUN; j++)
    weft_snapshot_unref (weft_text_snapshot (text));
  return weft_bench_elapsed_ms (t0, weft_bench_now_ns ()) / SNAPSHOTS_PER_RUN;
}

/* One keystroke as the document sees it: mirror the insert, then snapshot
 * for the debounced spell-check/autosave job. The previous snapshot is held
 * until then, as a worker would hold it, so every insert copies its path
 * and dropping the old snapshot frees the nodes it alone kept. The cursor
 * types a line's worth of text, then jumps elsewhere. */
static double
time_keystroke (Input  *input,
                size_t  i)
{
  const char *key = i % 61 == 60 ? "\n" : "e";
  WeftSnapshot *snap;
  gint64 t0;

  if (i % 64 == 0)
    {
      input->jump_state = input->jump_state * 6364136223846793005ULL + 1442695040888963407ULL;
      input->cursor = (size_t) ((input->jump_state >> 33) % (weft_text_get_n_chars (input->text) + 1));
    }

  t0 = weft_bench_now_ns ();
  weft_text_insert (input->text, input->cursor, key, 1);
  snap = weft_text_snapshot (input->text);
  weft_snapshot_unref (input->held);
  input->held = snap;

  input->cursor++;
  return weft_bench_elapsed_ms (t0, weft_bench_now_ns ());
}

int
weft_bench_snapshot (int    argc,
                     char **argv)
{
  g_autoptr (GError) error = NULL;
  WeftBenchOptions opts;
  g_autoptr (GArray) inputs = g_array_new (FALSE, TRUE, sizeof (Input));
  double first_snapshot_ms = 0;
  gboolean bar_ok = TRUE;
  size_t runs, typing_runs;
  int status = 0;

  if (!weft_bench_parse_options ("snapshot",
                                 "main-thread cost of a document snapshot at 1 MB and 63 MB",
                                 argc, argv, NULL, &opts, &error))
    {
      g_printerr ("weft-bench snapshot: %s\n", error->message);
      return 2;
    }

  runs = opts.runs > 0 ? (size_t) opts.runs : DEFAULT_RUNS;
  typing_runs = runs * 2;

  if (opts.input != NULL)
    {
      Input input = { .label = g_filename_display_basename (opts.input) };

      if (!weft_file_read_utf8 (opts.input, &input.utf8, &input.len, &error))
        {
          g_printerr ("weft-bench snapshot: %s\n", error->message);
          input_clear (&input);
          weft_bench_options_clear (&opts);
          return 2;
        }
      g_array_append_val (inputs, input);
    }
  else
    {
      for (size_t i = 0; i < G_N_ELEMENTS (generated_inputs); i++)
        {
          Input input = { .label = g_strdup (generated_inputs[i].label) };

          input.utf8 = weft_bench_make_lines (generated_inputs[i].n_lines, &input.len);
          g_array_append_val (inputs, input);
        }
    }

  weft_bench_print_header (&opts);

  /* Loading is not on the bar (the app loads in time-sliced chunks), but it
   * says what a document costs to mirror. */
  for (guint k = 0; k < inputs->len; k++)
    {
      Input *input = &g_array_index (inputs, Input, k);
      WeftBenchRow row = { .bench = "new_from_utf8", .backend = "none", .input_bytes = input->len };
      gint64 t0 = weft_bench_now_ns ();
      double build_ms;

      input->text = weft_text_new_from_utf8 (input->utf8, input->len);
      build_ms = weft_bench_elapsed_ms (t0, weft_bench_now_ns ());
      weft_bench_row_set_samples (&row, &build_ms, 1);
      weft_bench_print_row (&opts, &row);

      input->snapshot_ms = g_new (double, runs);
      input->typing_ms = g_new (double, typing_runs);
      input->held = weft_text_snapshot (input->text);
      input->cursor = weft_text_get_n_chars (input->text) / 2;
      input->jump_state = 0x9E3779B97F4A7C15ULL;

      for (size_t i = 0; i < WARMUP_RUNS; i++)
        weft_snapshot_unref (weft_text_snapshot (input->text));
    }

  for (size_t i = 0; i < runs; i++)
    for (guint k = 0; k < inputs->len; k++)
      {
        Input *input = &g_array_index (inputs, Input, k);

        input->snapshot_ms[i] = time_snapshots (input->text);
      }

  for (size_t i = 0; i < typing_runs; i++)
    for (guint k = 0; k < inputs->len; k++)
      {
        Input *input = &g_array_index (inputs, Input, k);

        input->typing_ms[i] = time_keystroke (input, i);
      }

  for (guint k = 0; k < inputs->len; k++)
    {
      Input *input = &g_array_index (inputs, Input, k);
      WeftBenchRow row = { .backend = "none", .input_bytes = input->len };
      g_autoptr (WeftSnapshot) snap = weft_text_snapshot (input->text);
      g_autofree char *extra = NULL;
      double ratio;

      row.bench = "snapshot";
      weft_bench_row_set_samples (&row, input->snapshot_ms, runs);
      if (k == 0)
        first_snapshot_ms = row.median_ms;
      ratio = first_snapshot_ms > 0 ? row.median_ms / first_snapshot_ms : 1.0;
      extra = g_strdup_printf ("\"ops_per_run\": %d, \"ratio_vs_first\": %.4f, \"n_chunks\": %zu",
                               SNAPSHOTS_PER_RUN, ratio, weft_snapshot_get_n_chunks (snap));
      row.extra_json = extra;
      weft_bench_print_row (&opts, &row);

      if (row.median_ms >= BAR_MAX_MS || ratio > BAR_MAX_RATIO)
        bar_ok = FALSE;

      row.bench = "type+snapshot";
      row.extra_json = NULL;
      weft_bench_row_set_samples (&row, input->typing_ms, typing_runs);
      weft_bench_print_row (&opts, &row);
    }

  weft_bench_print_note (&opts,
                         "snapshot rows: each run is %d snapshot+unref pairs, times are per pair; "
                         "type+snapshot rows: one 1-char insert + snapshot + unref of the previous one",
                         SNAPSHOTS_PER_RUN);
  if (inputs->len > 1)
    weft_bench_print_note (&opts,
                           "snapshot bar (median < %.1f ms, largest/first <= %.0f): %s",
                           BAR_MAX_MS, BAR_MAX_RATIO, bar_ok ? "met" : "MISSED");

  if (opts.check && !bar_ok)
    status = 1;

  for (guint k = 0; k < inputs->len; k++)
    input_clear (&g_array_index (inputs, Input, k));
  weft_bench_options_clear (&opts);

  return status;
}
