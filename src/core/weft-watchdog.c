/* weft-watchdog.c: measures how long a main loop goes without being able to respond. */
#include "config.h"

#include <string.h>
#include <time.h>

#include "weft-watchdog.h"

/* Stalls shorter than this are the loop's own bookkeeping, not work. */
#define MIN_STALL_US 50

typedef struct
{
  GSource       source;
  WeftWatchdog *owner;
} WatchSource;

/* Owned by the thread running the watched context; never shared. */
struct _WeftWatchdog
{
  GSource           *source;
  WeftWatchdogClock  clock;
  gpointer           clock_data;
  WeftWatchdogClock  cpu_clock;   /* the CPU time of the thread that calls it */
  gpointer           cpu_clock_data;
  gint64             woke_at;     /* when the last poll returned; 0 before the first */
  gint64             started_at;  /* origin of the timeline */
  WeftWatchdogStats  stats;
  gint64             second_max[WEFT_WATCHDOG_TIMELINE];
  gint64             last_second;
  gint64             work_started_at;  /* of the outermost open span */
  gint64             work_cpu_at;      /* the thread's CPU time then */
  guint              work_depth;       /* spans open, nested */
};

/* The watchdog that spans of work on this thread are reported to. */
static _Thread_local WeftWatchdog *thread_watchdog;

static gint64
monotonic_clock (gpointer data)
{
  return g_get_monotonic_time ();
}

static gint64
thread_cpu_clock (gpointer data)
{
  struct timespec ts;

  if (clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
    return 0;
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static inline gint64
now_us (WeftWatchdog *self)
{
  return self->clock (self->clock_data);
}

static void
record (WeftWatchdog *self,
        gint64        now,
        gint64        stall_us)
{
  gint64 second = (now - self->started_at) / G_USEC_PER_SEC;

  /* Seconds with nothing recorded are cleared as time moves past them. */
  for (gint64 s = self->last_second + 1; s <= second && s <= self->last_second + WEFT_WATCHDOG_TIMELINE; s++)
    self->second_max[s % WEFT_WATCHDOG_TIMELINE] = 0;
  self->last_second = MAX (self->last_second, second);

  if (stall_us < MIN_STALL_US)
    return;

  self->stats.n_iterations++;
  self->stats.busy_us += stall_us;
  self->stats.max_us = MAX (self->stats.max_us, stall_us);
  if (stall_us > 16000)
    self->stats.over_16ms++;
  self->stats.buckets[weft_stats_bucket_for_us (stall_us)]++;
  self->second_max[second % WEFT_WATCHDOG_TIMELINE] =
    MAX (self->second_max[second % WEFT_WATCHDOG_TIMELINE], stall_us);
}

/* Prepare runs as the loop gets ready to wait: everything dispatched since
 * it last woke up was one stretch it could not respond. */
static gboolean
watch_prepare (GSource *source,
               int     *timeout)
{
  WeftWatchdog *self = ((WatchSource *) source)->owner;
  gint64 now = now_us (self);

  if (self->woke_at != 0)
    record (self, now, now - self->woke_at);
  self->woke_at = 0;
  *timeout = -1;
  return FALSE;
}

static gboolean
watch_check (GSource *source)
{
  WeftWatchdog *self = ((WatchSource *) source)->owner;

  self->woke_at = now_us (self);
  return FALSE;
}

static gboolean
watch_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs watch_funcs = {
  .prepare = watch_prepare,
  .check = watch_check,
  .dispatch = watch_dispatch,
};

WeftWatchdog *
weft_watchdog_new (GMainContext *ctx)
{
  WeftWatchdog *self = weft_watchdog_new_with_clock (ctx, monotonic_clock, NULL);

  weft_watchdog_set_cpu_clock (self, thread_cpu_clock, NULL);
  return self;
}

WeftWatchdog *
weft_watchdog_new_with_clock (GMainContext      *ctx,
                              WeftWatchdogClock  clock,
                              gpointer           clock_data)
{
  WeftWatchdog *self;

  g_return_val_if_fail (clock != NULL, NULL);

  self = g_new0 (WeftWatchdog, 1);
  self->clock = clock;
  self->clock_data = clock_data;
  self->cpu_clock = clock;
  self->cpu_clock_data = clock_data;
  self->started_at = now_us (self);
  self->source = g_source_new (&watch_funcs, sizeof (WatchSource));
  ((WatchSource *) self->source)->owner = self;
  /* Highest priority, so that its prepare runs first and its check as soon
   * as the poll returns. */
  g_source_set_priority (self->source, G_PRIORITY_HIGH - 100);
  g_source_set_static_name (self->source, "WeftWatchdog");
  g_source_attach (self->source, ctx);
  thread_watchdog = self;
  return self;
}

void
weft_watchdog_set_cpu_clock (WeftWatchdog      *self,
                             WeftWatchdogClock  clock,
                             gpointer           clock_data)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (clock != NULL);

  self->cpu_clock = clock;
  self->cpu_clock_data = clock_data;
}

void
weft_watchdog_free (WeftWatchdog *self)
{
  if (self == NULL)
    return;
  if (thread_watchdog == self)
    thread_watchdog = NULL;
  g_source_destroy (self->source);
  g_source_unref (self->source);
  g_free (self);
}

void
weft_watchdog_work_begin (void)
{
  WeftWatchdog *self = thread_watchdog;

  if (self != NULL && self->work_depth++ == 0)
    {
      self->work_started_at = now_us (self);
      self->work_cpu_at = self->cpu_clock (self->cpu_clock_data);
    }
}

void
weft_watchdog_work_end (const char *what)
{
  WeftWatchdog *self = thread_watchdog;
  gint64 span_us, cpu_us;

  if (self == NULL || self->work_depth == 0 || --self->work_depth > 0)
    return;
  span_us = now_us (self) - self->work_started_at;
  cpu_us = self->cpu_clock (self->cpu_clock_data) - self->work_cpu_at;
  if (span_us > WEFT_WATCHDOG_WORK_BUDGET_US)
    self->stats.work_over_budget++;
  if (span_us > self->stats.work_max_us)
    {
      self->stats.work_max_us = span_us;
      self->stats.work_max_what = what;
    }
  if (cpu_us > WEFT_WATCHDOG_WORK_BUDGET_US)
    self->stats.work_cpu_over_budget++;
  if (cpu_us > self->stats.work_cpu_max_us)
    {
      self->stats.work_cpu_max_us = cpu_us;
      self->stats.work_cpu_max_what = what;
    }
}

typedef struct
{
  GSourceFunc     func;
  gpointer        data;
  GDestroyNotify  notify;
  const char     *what;
} Work;

static gboolean
run_work (gpointer user_data)
{
  Work *work = user_data;
  gboolean again;

  weft_watchdog_work_begin ();
  again = work->func (work->data);
  weft_watchdog_work_end (work->what);
  return again;
}

static void
work_free (gpointer user_data)
{
  Work *work = user_data;

  if (work->notify != NULL)
    work->notify (work->data);
  g_free (work);
}

/* Attaches @source to the default context, named after the work it runs. */
static guint
attach_work (GSource        *source,
             int             priority,
             const char     *what,
             GSourceFunc     func,
             gpointer        data,
             GDestroyNotify  notify)
{
  Work *work = g_new (Work, 1);
  guint id;

  work->func = func;
  work->data = data;
  work->notify = notify;
  work->what = what;
  g_source_set_priority (source, priority);
  g_source_set_static_name (source, what);
  g_source_set_callback (source, run_work, work, work_free);
  id = g_source_attach (source, NULL);
  g_source_unref (source);
  return id;
}

guint
weft_watchdog_idle_add (int             priority,
                        const char     *what,
                        GSourceFunc     func,
                        gpointer        data,
                        GDestroyNotify  notify)
{
  g_return_val_if_fail (func != NULL, 0);

  return attach_work (g_idle_source_new (), priority, what, func, data, notify);
}

guint
weft_watchdog_timeout_add (guint           interval_ms,
                           const char     *what,
                           GSourceFunc     func,
                           gpointer        data,
                           GDestroyNotify  notify)
{
  g_return_val_if_fail (func != NULL, 0);

  return attach_work (g_timeout_source_new (interval_ms), G_PRIORITY_DEFAULT, what, func, data, notify);
}

void
weft_watchdog_reset (WeftWatchdog *self)
{
  g_return_if_fail (self != NULL);

  memset (&self->stats, 0, sizeof self->stats);
  memset (self->second_max, 0, sizeof self->second_max);
  self->started_at = now_us (self);
  self->last_second = 0;
}

void
weft_watchdog_get_stats (WeftWatchdog      *self,
                         WeftWatchdogStats *out_stats)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (out_stats != NULL);

  record (self, now_us (self), 0);
  *out_stats = self->stats;
  out_stats->p50_us = weft_stats_percentile_us (self->stats.buckets, self->stats.n_iterations, self->stats.max_us, 0.50);
  out_stats->p99_us = weft_stats_percentile_us (self->stats.buckets, self->stats.n_iterations, self->stats.max_us, 0.99);
  for (guint i = 0; i < WEFT_WATCHDOG_TIMELINE; i++)
    {
      gint64 second = self->last_second - (WEFT_WATCHDOG_TIMELINE - 1) + i;

      out_stats->timeline_max_us[i] = second < 0 ? 0 : self->second_max[second % WEFT_WATCHDOG_TIMELINE];
    }
}
