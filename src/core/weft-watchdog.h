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
  /* Weft's own work within those stalls (see weft_watchdog_work_begin()):
   * its longest span, what that was, and how many spans overran the
   * budget. The rest of a stall is the toolkit's: layout, drawing, input. */
  gint64      work_max_us;
  const char *work_max_what;  /* a static string, or NULL before any span */
  guint64     work_over_budget;
  /* The same, counting only the time the thread ran in each span: a span
   * whose thread waited for a core (the host's, or another process's) or
   * for a reply is longer than the work it did. */
  gint64      work_cpu_max_us;
  const char *work_cpu_max_what;
  guint64     work_cpu_over_budget;
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
/* Reads the calling thread's CPU time from @clock instead of the kernel's
 * CLOCK_THREAD_CPUTIME_ID. A watchdog made with its own wall clock reads CPU
 * time from that clock too, until this is called. */
void          weft_watchdog_set_cpu_clock  (WeftWatchdog      *self,
                                            WeftWatchdogClock  clock,
                                            gpointer           clock_data);
void          weft_watchdog_free      (WeftWatchdog      *self);
void          weft_watchdog_reset     (WeftWatchdog      *self);
void          weft_watchdog_get_stats (WeftWatchdog      *self,
                                       WeftWatchdogStats *out_stats);

/* The longest a span of Weft's own main-thread work should take. */
#define WEFT_WATCHDOG_WORK_BUDGET_US 4000

/* Marks a span of Weft's own work in a main-loop callback, for the watchdog
 * created last on the calling thread, while it lives (freeing it ends the
 * reporting on that thread, even if an older one lives on; a watchdog is
 * freed on the thread that made it). Without one they do nothing. @what
 * names the work and must be a static string. Spans may nest: only the
 * outermost one counts. */
void          weft_watchdog_work_begin (void);
void          weft_watchdog_work_end   (const char        *what);

/* g_idle_add_full() and g_timeout_add_full() on the default context, with
 * every dispatch of @func marked as a span of work named @what. */
guint         weft_watchdog_idle_add    (int                priority,
                                         const char        *what,
                                         GSourceFunc        func,
                                         gpointer           data,
                                         GDestroyNotify     notify);
guint         weft_watchdog_timeout_add (guint              interval_ms,
                                         const char        *what,
                                         GSourceFunc        func,
                                         gpointer           data,
                                         GDestroyNotify     notify);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftWatchdog, weft_watchdog_free)

G_END_DECLS
