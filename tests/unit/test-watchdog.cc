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

}  // namespace
