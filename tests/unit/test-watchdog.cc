// test-watchdog.cc: the main-loop stall watchdog (weft-watchdog.c).
#include <gtest/gtest.h>

extern "C" {
#include "weft-watchdog.h"
}

namespace {

gboolean
BusyFor (gpointer user_data)
{
  gint64 until = g_get_monotonic_time () + GPOINTER_TO_INT (user_data) * 1000;
  while (g_get_monotonic_time () < until)
    ;
  return G_SOURCE_REMOVE;
}

// Runs @ctx until it has nothing ready and one more (blocking) iteration.
void
RunBusy (GMainContext *ctx, int ms)
{
  GSource *busy = g_idle_source_new ();
  g_source_set_callback (busy, BusyFor, GINT_TO_POINTER (ms), nullptr);
  g_source_attach (busy, ctx);
  g_source_unref (busy);
  while (g_main_context_iteration (ctx, FALSE))
    ;
  // One more iteration so the watchdog's prepare sees the stall end.
  g_main_context_iteration (ctx, FALSE);
}

TEST (WeftWatchdog, RecordsAStallAsLongAsTheCallback)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (WeftWatchdog) watchdog = weft_watchdog_new (ctx);

  RunBusy (ctx, 40);

  WeftWatchdogStats stats;
  weft_watchdog_get_stats (watchdog, &stats);
  EXPECT_GE (stats.max_us, 40000);
  EXPECT_GE (stats.n_iterations, 1u);
  EXPECT_EQ (stats.over_16ms, 1u);
  EXPECT_GE (stats.busy_us, 40000);
  // The timeline's last second holds the stall.
  EXPECT_GE (stats.timeline_max_us[WEFT_WATCHDOG_TIMELINE - 1], 40000);
}

TEST (WeftWatchdog, PercentilesFollowTheDistribution)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (WeftWatchdog) watchdog = weft_watchdog_new (ctx);

  for (int i = 0; i < 20; i++)
    RunBusy (ctx, 2);
  RunBusy (ctx, 30);

  WeftWatchdogStats stats;
  weft_watchdog_get_stats (watchdog, &stats);
  // Most stalls are about 2 ms; the single long one is the maximum.
  EXPECT_GE (stats.p50_us, 1500);
  EXPECT_LT (stats.p50_us, 30000);
  EXPECT_GE (stats.max_us, 30000);
  EXPECT_EQ (stats.over_16ms, 1u);
}

TEST (WeftWatchdog, ResetForgetsEverything)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (WeftWatchdog) watchdog = weft_watchdog_new (ctx);

  RunBusy (ctx, 20);
  weft_watchdog_reset (watchdog);

  WeftWatchdogStats stats;
  weft_watchdog_get_stats (watchdog, &stats);
  EXPECT_EQ (stats.n_iterations, 0u);
  EXPECT_EQ (stats.max_us, 0);
}

TEST (WeftWatchdog, IdleLoopRecordsNoStall)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (WeftWatchdog) watchdog = weft_watchdog_new (ctx);

  for (int i = 0; i < 10; i++)
    g_main_context_iteration (ctx, FALSE);

  WeftWatchdogStats stats;
  weft_watchdog_get_stats (watchdog, &stats);
  EXPECT_LT (stats.max_us, 16000);
  EXPECT_EQ (stats.over_16ms, 0u);
}

}  // namespace
