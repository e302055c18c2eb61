/* weft-watchdog.h: measures how long a main loop goes without being able to respond. */
#pragma once

#include <glib.h>

#include "weft-stats.h"

G_BEGIN_DECLS

/* How many seconds of history the timeline keeps. */
#define WEFT_WATCHDOG_TIMELINE 120

/* A copy of what the watchdog has seen. Times are microseconds. */
typedef struct
{
  guint64 n_iterations;   /* main-loop iterations that dispatched anything */
  gint64  busy_us;        /* total time spent dispatching */
  gint64  max_us;         /* the longest stall */
  gint64  p50_us;
  gint64  p99_us;
  guint64 over_16ms;      /* stalls long enough to drop a frame at 60 Hz */
  guint64 buckets[WEFT_STATS_N_BUCKETS];
  /* The longest stall in each of the last WEFT_WATCHDOG_TIMELINE seconds,
   * oldest first; 0 where nothing ran. */
  gint64  timeline_max_us[WEFT_WATCHDOG_TIMELINE];
} WeftWatchdogStats;

/* Watches the main loop of @ctx (NULL: the default context), from a source
 * attached to it: each stall is the time from the loop waking up to it
 * being ready to wait again, i.e. how long the loop could not answer input
 * or draw. The watchdog belongs to the thread that runs @ctx. */
typedef struct _WeftWatchdog WeftWatchdog;

/* The time in microseconds on a monotonic clock. */
typedef gint64 (*WeftWatchdogClock) (gpointer clock_data);

WeftWatchdog *weft_watchdog_new       (GMainContext      *ctx);
/* Reads time from @clock instead of g_get_monotonic_time(): tests drive it
 * by hand, so what they assert does not depend on the scheduler. */
WeftWatchdog *weft_watchdog_new_with_clock (GMainContext      *ctx,
                                            WeftWatchdogClock  clock,
                                            gpointer           clock_data);
void          weft_watchdog_free      (WeftWatchdog      *self);
void          weft_watchdog_reset     (WeftWatchdog      *self);
void          weft_watchdog_get_stats (WeftWatchdog      *self,
                                       WeftWatchdogStats *out_stats);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftWatchdog, weft_watchdog_free)

G_END_DECLS
