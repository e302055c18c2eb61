// test-watchdog.cc: the main-loop stall watchdog (weft-watchdog.c).
#include <gtest/gtest.h>

extern "C" {
#include "weft-watchdog.h"
}

namespace {

// The watchdogs below read this clock, and a "busy" callback moves it on:
// what they record is exact, whatever the scheduler does to the test.
gint64 fake_now_us = 1000000;

gint64
FakeClock (gpointer)
{
  return fake_now_us;
}

gboolean
AdvanceClock (gpointer user_data)
{
  fake_now_us += GPOINTER_TO_INT (user_data) * 1000;
  return G_SOURCE_REMOVE;
}

gboolean
SpinFor (gpointer user_data)
{
  gint64 until = g_get_monotonic_time () + GPOINTER_TO_INT (user_data) * 1000;
  while (g_get_monotonic_time () < until)
    ;
  return G_SOURCE_REMOVE;
}

// Runs @ctx until it has nothing ready, with one dispatch of @busy(@ms) in it.
void
RunBusy (GMainContext *ctx, GSourceFunc busy, int ms)
{
  GSource *source = g_idle_source_new ();
  g_source_set_callback (source, busy, GINT_TO_POINTER (ms), nullptr);
  g_source_attach (source, ctx);
  g_source_unref (source);
  while (g_main_context_iteration (ctx, FALSE))
    ;
  // One more iteration so the watchdog's prepare sees the stall end.
  g_main_context_iteration (ctx, FALSE);
}

// The real clock: only what holds however loaded the machine is.
TEST (WeftWatchdog, MeasuresARealStallOnTheMonotonicClock)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (WeftWatchdog) watchdog = weft_watchdog_new (ctx);

  RunBusy (ctx, SpinFor, 40);

  WeftWatchdogStats stats;
  weft_watchdog_get_stats (watchdog, &stats);
  EXPECT_GE (stats.max_us, 40000);
  EXPECT_GE (stats.over_16ms, 1u);
  EXPECT_GE (stats.busy_us, 40000);
}

TEST (WeftWatchdog, RecordsAStallAsLongAsTheCallback)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (WeftWatchdog) watchdog = weft_watchdog_new_with_clock (ctx, FakeClock, nullptr);

  RunBusy (ctx, AdvanceClock, 40);

  WeftWatchdogStats stats;
  weft_watchdog_get_stats (watchdog, &stats);
  EXPECT_EQ (stats.max_us, 40000);
  EXPECT_EQ (stats.n_iterations, 1u);
  EXPECT_EQ (stats.over_16ms, 1u);
  EXPECT_EQ (stats.busy_us, 40000);
  // The timeline's last second holds the stall.
  EXPECT_GE (stats.timeline_max_us[WEFT_WATCHDOG_TIMELINE - 1], 40000);
}

TEST (WeftWatchdog, PercentilesFollowTheDistribution)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (WeftWatchdog) watchdog = weft_watchdog_new_with_clock (ctx, FakeClock, nullptr);

  for (int i = 0; i < 20; i++)
    RunBusy (ctx, AdvanceClock, 2);
  RunBusy (ctx, AdvanceClock, 30);

  WeftWatchdogStats stats;
  weft_watchdog_get_stats (watchdog, &stats);
  // Most stalls are 2 ms; the single long one is the maximum and the p99.
  EXPECT_EQ (stats.n_iterations, 21u);
  EXPECT_GE (stats.p50_us, 2000);
  EXPECT_LT (stats.p50_us, 4000);
  EXPECT_EQ (stats.max_us, 30000);
  EXPECT_GE (stats.p99_us, 16000);
  EXPECT_EQ (stats.busy_us, 20 * 2000 + 30000);
  EXPECT_EQ (stats.over_16ms, 1u);
}

TEST (WeftWatchdog, ResetForgetsEverything)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (WeftWatchdog) watchdog = weft_watchdog_new_with_clock (ctx, FakeClock, nullptr);

  RunBusy (ctx, AdvanceClock, 20);
  weft_watchdog_reset (watchdog);

  WeftWatchdogStats stats;
  weft_watchdog_get_stats (watchdog, &stats);
  EXPECT_EQ (stats.n_iterations, 0u);
  EXPECT_EQ (stats.max_us, 0);
}

TEST (WeftWatchdog, IdleLoopRecordsNoStall)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (WeftWatchdog) watchdog = weft_watchdog_new_with_clock (ctx, FakeClock, nullptr);

  for (int i = 0; i < 10; i++)
    g_main_context_iteration (ctx, FALSE);

  WeftWatchdogStats stats;
  weft_watchdog_get_stats (watchdog, &stats);
  EXPECT_EQ (stats.n_iterations, 0u);
  EXPECT_EQ (stats.max_us, 0);
}

// A callback that does @ms of "Weft's own work" between the marks, on the
// fake clock, inside a dispatch that takes 5 ms longer (the toolkit's part).
gboolean
WorkThenToolkit (gpointer user_data)
{
  weft_watchdog_work_begin ();
  fake_now_us += GPOINTER_TO_INT (user_data) * 1000;
  weft_watchdog_work_end (GPOINTER_TO_INT (user_data) > 4 ? "long work" : "short work");
  fake_now_us += 5000;
  return G_SOURCE_REMOVE;
}

TEST (WeftWatchdog, AttributesTheLongestSpanOfOwnWorkAndNamesIt)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (WeftWatchdog) watchdog = weft_watchdog_new_with_clock (ctx, FakeClock, nullptr);

  RunBusy (ctx, WorkThenToolkit, 2);
  RunBusy (ctx, WorkThenToolkit, 9);
  RunBusy (ctx, WorkThenToolkit, 3);

  WeftWatchdogStats stats;
  weft_watchdog_get_stats (watchdog, &stats);
  // The stall holds the toolkit's 5 ms too; the work span does not.
  EXPECT_EQ (stats.max_us, 14000);
  EXPECT_EQ (stats.work_max_us, 9000);
  EXPECT_STREQ (stats.work_max_what, "long work");
  EXPECT_EQ (stats.work_over_budget, 1u);

  weft_watchdog_reset (watchdog);
  weft_watchdog_get_stats (watchdog, &stats);
  EXPECT_EQ (stats.work_max_us, 0);
  EXPECT_EQ (stats.work_max_what, nullptr);
  EXPECT_EQ (stats.work_over_budget, 0u);
}

TEST (WeftWatchdog, NestedSpansCountOnceAsTheOutermost)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (WeftWatchdog) watchdog = weft_watchdog_new_with_clock (ctx, FakeClock, nullptr);

  weft_watchdog_work_begin ();
  fake_now_us += 1000;
  weft_watchdog_work_begin ();
  fake_now_us += 2000;
  weft_watchdog_work_end ("inner");
  fake_now_us += 3000;
  weft_watchdog_work_end ("outer");
  // An end without a begin is ignored, and spans after it still count.
  weft_watchdog_work_end ("stray");
  weft_watchdog_work_begin ();
  fake_now_us += 8000;
  weft_watchdog_work_end ("after");

  WeftWatchdogStats stats;
  weft_watchdog_get_stats (watchdog, &stats);
  EXPECT_EQ (stats.work_max_us, 8000);
  EXPECT_STREQ (stats.work_max_what, "after");
  EXPECT_EQ (stats.work_over_budget, 2u);
}

gint64 fake_cpu_us;

gint64
FakeCpuClock (gpointer)
{
  return fake_cpu_us;
}

TEST (WeftWatchdog, CountsTheThreadsCpuTimeApartFromTheSpansLength)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (WeftWatchdog) watchdog = weft_watchdog_new_with_clock (ctx, FakeClock, nullptr);
  weft_watchdog_set_cpu_clock (watchdog, FakeCpuClock, nullptr);

  // 3 ms of work, then 6 ms waiting for a core: a 9 ms span of 3 ms of work.
  weft_watchdog_work_begin ();
  fake_now_us += 3000;
  fake_cpu_us += 3000;
  fake_now_us += 6000;
  weft_watchdog_work_end ("waited");
  // 5 ms of work with no wait: shorter, but the most work.
  weft_watchdog_work_begin ();
  fake_now_us += 5000;
  fake_cpu_us += 5000;
  weft_watchdog_work_end ("worked");

  WeftWatchdogStats stats;
  weft_watchdog_get_stats (watchdog, &stats);
  EXPECT_EQ (stats.work_max_us, 9000);
  EXPECT_STREQ (stats.work_max_what, "waited");
  EXPECT_EQ (stats.work_over_budget, 2u);
  EXPECT_EQ (stats.work_cpu_max_us, 5000);
  EXPECT_STREQ (stats.work_cpu_max_what, "worked");
  EXPECT_EQ (stats.work_cpu_over_budget, 1u);

  weft_watchdog_reset (watchdog);
  weft_watchdog_get_stats (watchdog, &stats);
  EXPECT_EQ (stats.work_cpu_max_us, 0);
  EXPECT_EQ (stats.work_cpu_max_what, nullptr);
  EXPECT_EQ (stats.work_cpu_over_budget, 0u);
}

TEST (WeftWatchdog, ReadsTheRealThreadsCpuTimeByDefault)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (WeftWatchdog) watchdog = weft_watchdog_new (ctx);

  // A span that sleeps does no work; one that spins does. Only the order
  // of the two is asserted, not how long either took.
  weft_watchdog_work_begin ();
  g_usleep (50000);
  weft_watchdog_work_end ("slept");
  weft_watchdog_work_begin ();
  gint64 until = g_get_monotonic_time () + 5000;
  volatile guint64 spins = 0;
  while (g_get_monotonic_time () < until)
    spins++;
  weft_watchdog_work_end ("spun");

  WeftWatchdogStats stats;
  weft_watchdog_get_stats (watchdog, &stats);
  EXPECT_STREQ (stats.work_max_what, "slept");
  EXPECT_STREQ (stats.work_cpu_max_what, "spun");
  EXPECT_GT (stats.work_cpu_max_us, 0);
  EXPECT_LT (stats.work_cpu_max_us, stats.work_max_us);
}

struct Counted
{
  int ms;
  int runs;
  int freed;
};

gboolean
CountedWork (gpointer data)
{
  auto *counted = static_cast<Counted *> (data);
  counted->runs++;
  fake_now_us += counted->ms * 1000;
  return G_SOURCE_REMOVE;
}

void
CountFree (gpointer data)
{
  static_cast<Counted *> (data)->freed++;
}

TEST (WeftWatchdog, SourcesAddedThroughItAreTimedAndFreedOnce)
{
  // The wrappers attach to the default context: watch that one.
  g_autoptr (WeftWatchdog) watchdog = weft_watchdog_new_with_clock (nullptr, FakeClock, nullptr);
  Counted idle = { 6, 0, 0 }, removed = { 9, 0, 0 };

  weft_watchdog_idle_add (G_PRIORITY_DEFAULT, "idle work", CountedWork, &idle, CountFree);
  guint id = weft_watchdog_timeout_add (60000, "never runs", CountedWork, &removed, CountFree);
  while (g_main_context_iteration (nullptr, FALSE))
    ;
  g_source_remove (id);

  WeftWatchdogStats stats;
  weft_watchdog_get_stats (watchdog, &stats);
  EXPECT_EQ (idle.runs, 1);
  EXPECT_EQ (idle.freed, 1);
  EXPECT_EQ (removed.runs, 0);
  EXPECT_EQ (removed.freed, 1);
  EXPECT_EQ (stats.work_max_us, 6000);
  EXPECT_STREQ (stats.work_max_what, "idle work");
}

TEST (WeftWatchdog, SpansGoToThisThreadsWatchdogOnly)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (WeftWatchdog) watchdog = weft_watchdog_new_with_clock (ctx, FakeClock, nullptr);

  // A thread without a watchdog of its own: its spans reach nobody, however
  // long they take on the clock this watchdog reads.
  GThread *other = g_thread_new ("no-watchdog", [] (gpointer) -> gpointer {
    weft_watchdog_work_begin ();
    fake_now_us += 7000;
    weft_watchdog_work_end ("elsewhere");
    return nullptr;
  }, nullptr);
  g_thread_join (other);

  WeftWatchdogStats stats;
  weft_watchdog_get_stats (watchdog, &stats);
  EXPECT_EQ (stats.work_max_what, nullptr);

  // Once freed, this thread's spans reach nobody either, and do not crash.
  g_clear_pointer (&watchdog, weft_watchdog_free);
  weft_watchdog_work_begin ();
  weft_watchdog_work_end ("after");
}

}  // namespace
