// test-compare.cc: the comparison runner (weft-compare.c) and the totals the
// stats panel adds up (weft-stats.c).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <string>

extern "C" {
#include "weft-compare.h"
#include "weft-stats.h"
}

namespace {

WeftJobInput *
InputOf (const std::string &text)
{
  g_autoptr (GBytes) bytes = g_bytes_new (text.data (), text.size ());
  return weft_job_input_new_bytes (bytes);
}

std::string
Lines (int n)
{
  std::string text;
  for (int i = 0; i < n; i++)
    text += "line " + std::to_string (n - i) + " of the weft\n";
  return text;
}

WeftCompareConfig
SmallConfig (guint workloads)
{
  WeftCompareConfig config;
  weft_compare_config_init (&config);
  config.workloads = workloads;
  config.min_workers = 1;
  config.max_workers = 2;
  config.runs = 2;
  config.worker_path = g_getenv ("WEFT_WORKER_PATH");
  return config;
}

TEST (WeftCompare, FitsTheParallelFractionAmdahlsLawWasMadeWith)
{
  double workers[] = { 1, 2, 3, 4, 6, 8 };
  double speedups[G_N_ELEMENTS (workers)];
  for (double p : { 0.0, 0.5, 0.9, 0.97, 1.0 })
    {
      for (size_t i = 0; i < G_N_ELEMENTS (workers); i++)
        speedups[i] = weft_compare_amdahl (p, workers[i]);
      EXPECT_NEAR (weft_compare_fit_amdahl (workers, speedups, G_N_ELEMENTS (workers)), p, 0.001) << p;
    }
  EXPECT_DOUBLE_EQ (weft_compare_amdahl (1.0, 4), 4.0);
  EXPECT_DOUBLE_EQ (weft_compare_amdahl (0.0, 4), 1.0);
}

TEST (WeftCompare, MeasuresAutosaveOnBothBackendsForEveryWorkerCount)
{
  std::string text = Lines (2000);
  g_autoptr (WeftJobInput) input = InputOf (text);
  WeftCompareConfig config = SmallConfig (1u << WEFT_WORKLOAD_AUTOSAVE);
  guint calls = 0, last_done = 0, last_total = 0;
  auto progress = [] (guint done, guint total, gpointer data) {
    auto *seen = static_cast<guint *> (data);
    EXPECT_GT (done, seen[1]);
    seen[0]++, seen[1] = done, seen[2] = total;
  };
  guint seen[3] = { 0, 0, 0 };
  g_autoptr (GError) error = nullptr;

  GArray *rows = weft_compare_run (&config, input, progress, seen, nullptr, &error);
  ASSERT_NE (rows, nullptr) << error->message;
  calls = seen[0], last_done = seen[1], last_total = seen[2];
  EXPECT_EQ (calls, 2u * 2u * 2u);  // backends × worker counts × runs
  EXPECT_EQ (last_done, last_total);

  ASSERT_EQ (rows->len, 4u);
  for (guint i = 0; i < rows->len; i++)
    {
      const WeftCompareRow *row = &g_array_index (rows, WeftCompareRow, i);
      EXPECT_EQ (row->workload, WEFT_WORKLOAD_AUTOSAVE);
      EXPECT_EQ (row->backend, i < 2 ? WEFT_BACKEND_KIND_THREADS : WEFT_BACKEND_KIND_PROCESSES);
      EXPECT_EQ (row->workers, i % 2 + 1);
      ASSERT_TRUE (row->available) << (row->note ? row->note : "");
      EXPECT_EQ (row->input_bytes, text.size ());
      EXPECT_EQ (row->runs, 2u);
      EXPECT_EQ (row->jobs, 8u);
      EXPECT_GT (row->min_ms, 0.0);
      EXPECT_LE (row->min_ms, row->median_ms);
      EXPECT_LE (row->median_ms, row->max_ms);
      if (row->backend == WEFT_BACKEND_KIND_PROCESSES)
        EXPECT_GE (row->ipc_bytes, 8.0 * text.size ());  // each draft's text went to a worker
      else
        EXPECT_EQ (row->ipc_bytes, 0.0);
    }
  weft_compare_rows_free (rows);
}

// Spell-checking runs as jobs on either backend, with the dictionaries'
// loading left out of the timed pass, and its costs are the backend's own.
TEST (WeftCompare, SpellIsMeasuredOnBothBackendsAsJobs)
{
  std::string text = Lines (2000);
  g_autoptr (WeftJobInput) input = InputOf (text);
  WeftCompareConfig config = SmallConfig (1u << WEFT_WORKLOAD_SPELL);
  g_autoptr (GError) error = nullptr;

  GArray *rows = weft_compare_run (&config, input, nullptr, nullptr, nullptr, &error);
  ASSERT_NE (rows, nullptr) << error->message;
  ASSERT_EQ (rows->len, 4u);
  for (guint i = 0; i < rows->len; i++)
    {
      const WeftCompareRow *row = &g_array_index (rows, WeftCompareRow, i);
      const char *backend = weft_backend_kind_name (row->backend);
      EXPECT_EQ (row->workload, WEFT_WORKLOAD_SPELL);
      EXPECT_EQ (row->backend, i < 2 ? WEFT_BACKEND_KIND_THREADS : WEFT_BACKEND_KIND_PROCESSES);
      ASSERT_TRUE (row->available) << backend << " " << (row->note ? row->note : "");
      EXPECT_EQ (row->input_bytes, text.size ());
      EXPECT_GE (row->jobs, (guint64) row->workers) << backend;  // every worker had a share
      EXPECT_GT (row->min_ms, 0.0);
      EXPECT_LE (row->min_ms, row->median_ms);
      if (row->backend == WEFT_BACKEND_KIND_PROCESSES)
        EXPECT_GE (row->ipc_bytes, (double) text.size ()) << "the text went to the workers";
      else
        EXPECT_EQ (row->ipc_bytes, 0.0);
    }
  weft_compare_rows_free (rows);
}

// A row that cannot run (no such dictionary) says why, and the exports
// show it as such rather than as zeros.
TEST (WeftCompare, ARowThatCannotRunSaysWhy)
{
  g_autoptr (WeftJobInput) input = InputOf (Lines (100));
  WeftCompareConfig config = SmallConfig (1u << WEFT_WORKLOAD_SPELL);
  config.backends = 1u << WEFT_BACKEND_KIND_THREADS;
  config.spell_language = "xx_NOWHERE";
  g_autoptr (GError) error = nullptr;

  GArray *rows = weft_compare_run (&config, input, nullptr, nullptr, nullptr, &error);
  ASSERT_NE (rows, nullptr);
  ASSERT_EQ (rows->len, 2u);
  for (guint i = 0; i < rows->len; i++)
    {
      const WeftCompareRow *row = &g_array_index (rows, WeftCompareRow, i);
      EXPECT_EQ (row->workload, WEFT_WORKLOAD_SPELL);
      EXPECT_FALSE (row->available);
      ASSERT_NE (row->note, nullptr);
      EXPECT_EQ (row->median_ms, 0.0);
    }

  g_autofree char *jsonl = weft_compare_rows_to_jsonl (rows);
  EXPECT_NE (strstr (jsonl, "\"median_ms\": null"), nullptr) << jsonl;
  EXPECT_NE (strstr (jsonl, "\"available\": false"), nullptr);
  g_autofree char *csv = weft_compare_rows_to_csv (rows);
  EXPECT_TRUE (g_str_has_prefix (csv, "bench,backend,workers,input_bytes,runs,median_ms,")) << csv;
  EXPECT_EQ (std::count (csv, csv + strlen (csv), '\n'), 3);
  weft_compare_rows_free (rows);
}

// Sort runs as jobs on either backend: two per part (a run, then a bucket
// or merge), one part per worker, and the costs are the backend's own.
TEST (WeftCompare, SortIsMeasuredOnBothBackendsAsJobs)
{
  // Large enough that the jobs' CPU time, counted in scheduler ticks, is
  // never nothing.
  std::string text = Lines (100000);
  g_autoptr (WeftJobInput) input = InputOf (text);
  WeftCompareConfig config = SmallConfig (1u << WEFT_WORKLOAD_SORT);
  guint seen[3] = { 0, 0, 0 };
  auto progress = [] (guint done, guint total, gpointer data) {
    auto *s = static_cast<guint *> (data);
    s[0]++, s[1] = done, s[2] = total;
  };
  g_autoptr (GError) error = nullptr;

  GArray *rows = weft_compare_run (&config, input, progress, seen, nullptr, &error);
  ASSERT_NE (rows, nullptr) << error->message;
  EXPECT_EQ (seen[0], 2u * 2u * 2u);  // backends × worker counts × runs
  EXPECT_EQ (seen[1], seen[2]);
  ASSERT_EQ (rows->len, 4u);
  for (guint i = 0; i < rows->len; i++)
    {
      const WeftCompareRow *row = &g_array_index (rows, WeftCompareRow, i);
      const char *backend = weft_backend_kind_name (row->backend);
      EXPECT_EQ (row->workload, WEFT_WORKLOAD_SORT);
      EXPECT_EQ (row->backend, i < 2 ? WEFT_BACKEND_KIND_THREADS : WEFT_BACKEND_KIND_PROCESSES);
      EXPECT_EQ (row->workers, i % 2 + 1);
      ASSERT_TRUE (row->available) << backend << " " << (row->note ? row->note : "");
      EXPECT_EQ (row->note, nullptr);
      EXPECT_EQ (row->input_bytes, text.size ());
      EXPECT_EQ (row->runs, 2u);
      EXPECT_EQ (row->jobs, 2u * row->workers) << backend;
      EXPECT_GT (row->min_ms, 0.0) << backend;
      EXPECT_LE (row->min_ms, row->median_ms);
      EXPECT_LE (row->median_ms, row->max_ms);
      // Sorting takes some CPU, but no more than the workers had.
      EXPECT_GT (row->cpu_user_ms + row->cpu_sys_ms, 0.0) << backend;
      EXPECT_LE (row->cpu_user_ms + row->cpu_sys_ms, row->workers * row->max_ms + 10.0 * row->jobs) << backend;
      EXPECT_GE (row->voluntary_switches + row->involuntary_switches, 0.0);
      if (row->backend == WEFT_BACKEND_KIND_PROCESSES)
        EXPECT_GE (row->ipc_bytes, (double) text.size ()) << "the sorted text came back from the workers";
      else
        EXPECT_EQ (row->ipc_bytes, 0.0);
    }
  g_autofree char *jsonl = weft_compare_rows_to_jsonl (rows);
  EXPECT_NE (strstr (jsonl, "{\"bench\": \"sort\", \"backend\": \"threads\", \"workers\": 1, \"input_bytes\": "),
             nullptr) << jsonl;
  EXPECT_NE (strstr (jsonl, "{\"bench\": \"sort\", \"backend\": \"processes\", \"workers\": 2, \"input_bytes\": "),
             nullptr) << jsonl;
  EXPECT_EQ (strstr (jsonl, "\"available\": false"), nullptr) << jsonl;
  weft_compare_rows_free (rows);
}

// Cancelled between two runs of a sort, the comparison stops: the sort
// that starts next is cancelled with its jobs, and no further run begins.
TEST (WeftCompare, CancellingDuringASortStopsTheComparison)
{
  std::string text = Lines (50000);
  g_autoptr (WeftJobInput) input = InputOf (text);
  WeftCompareConfig config = SmallConfig (1u << WEFT_WORKLOAD_SORT);
  config.backends = 1u << WEFT_BACKEND_KIND_PROCESSES;
  config.runs = 20;
  struct Seen
  {
    std::atomic<bool> cancel{ false };
    guint calls = 0;
  } seen;
  auto progress = [] (guint, guint, gpointer data) {
    auto *s = static_cast<Seen *> (data);
    s->calls++;
    s->cancel.store (true);
  };
  g_autoptr (GError) error = nullptr;

  EXPECT_EQ (weft_compare_run (&config, input, progress, &seen, &seen.cancel, &error), nullptr);
  EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_CANCELLED));
  EXPECT_EQ (seen.calls, 1u);
}

TEST (WeftCompare, ACancelledComparisonSaysSoAndReturnsNothing)
{
  g_autoptr (WeftJobInput) input = InputOf (Lines (1000));
  WeftCompareConfig config = SmallConfig ((1u << WEFT_N_WORKLOADS) - 1);
  std::atomic<bool> cancel (true);
  g_autoptr (GError) error = nullptr;

  EXPECT_EQ (weft_compare_run (&config, input, nullptr, nullptr, &cancel, &error), nullptr);
  EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_CANCELLED));
}

TEST (WeftCompare, GeneratedLinesAreTheReferenceDocument)
{
  size_t len = 0;
  g_autofree char *text = weft_compare_make_lines (1000, &len);
  EXPECT_EQ (len, 63000u);
  EXPECT_EQ (strlen (text), len);
  EXPECT_TRUE (g_utf8_validate (text, (gssize) len, nullptr));
  for (size_t i = 62; i < len; i += 63)
    ASSERT_EQ (text[i], '\n') << i;
}

TEST (WeftBackendStats, MergeAddsUpAsOneBackendThatServedBoth)
{
  WeftBackendStats a = {}, b = {};
  WeftJobStats fast = {}, slow = {};
  fast.run_us = 100;
  fast.cpu_user_us = 80;
  fast.ipc_bytes = 10;
  slow.run_us = 100000;
  slow.worker_maxrss_kb = 5000;
  for (int i = 0; i < 90; i++)
    weft_backend_stats_add_job (&a, &fast, WEFT_JOB_OUTCOME_COMPLETED);
  for (int i = 0; i < 10; i++)
    weft_backend_stats_add_job (&b, &slow, WEFT_JOB_OUTCOME_COMPLETED);
  a.jobs_by_kind[3] = 90;
  b.jobs_by_kind[3] = 10;
  b.jobs_by_kind[weft_stats_kind_slot (64)] = 1;
  b.n_workers = 3;

  weft_backend_stats_merge (&a, &b);
  EXPECT_EQ (a.completed, 100u);
  EXPECT_EQ (a.run_us, 90 * 100 + 10 * 100000);
  EXPECT_EQ (a.cpu_user_us, 90 * 80);
  EXPECT_EQ (a.ipc_bytes, 900u);
  EXPECT_EQ (a.worker_maxrss_kb, 5000);
  EXPECT_EQ (a.jobs_by_kind[3], 100u);
  EXPECT_EQ (a.jobs_by_kind[WEFT_STATS_N_KINDS - 1], 1u);
  EXPECT_EQ (a.n_workers, 3u);
  EXPECT_EQ (a.latency_max_us, 100000);
  // 90 of 100 jobs were fast: the median is theirs, the 95th percentile a slow one's.
  EXPECT_LT (a.latency_p50_us, 200);
  EXPECT_GT (a.latency_p95_us, 50000);
}

} // namespace
