/* weft-stats.h: what each job cost and the running totals per backend. */
#pragma once

#include <stddef.h>
#include <sys/time.h>
#include <glib.h>

G_BEGIN_DECLS

/* One job's costs. Times are microseconds. For the processes backend the CPU,
 * context-switch and memory figures are the worker's own report, covering the
 * job's last attempt; ipc_bytes counts the socket messages both ways plus the
 * input copied into the memfd. The threads backend moves nothing over IPC. */
typedef struct
{
  gint64  queue_wait_us;     /* submit -> the start of its last attempt */
  gint64  run_us;            /* wall time of the last attempt, as the backend saw it */
  gint64  cpu_user_us;
  gint64  cpu_sys_us;
  gint64  voluntary_switches;
  gint64  involuntary_switches;
  guint64 ipc_bytes;
  gint64  worker_maxrss_kb;  /* the worker process's peak RSS; 0 for threads */
  guint   attempts;          /* 0 when cancelled before it ever started */
  guint   crashes;           /* worker deaths while running this job */
} WeftJobStats;

/* Log-linear latency buckets: four per power of two of microseconds, so a
 * percentile is known within 19 % from 1 µs up to days. */
#define WEFT_STATS_N_BUCKETS 160

/* Jobs are counted by kind up to this number (the kinds of real work sit
 * below it); test kinds and anything above share the last slot. */
#define WEFT_STATS_N_KINDS 16

/* A backend's totals, copied out by weft_backend_get_stats(). */
typedef struct
{
  guint   n_workers;
  guint   n_running;          /* jobs on a worker right now */
  guint64 submitted;
  guint64 completed;          /* finished with a result */
  guint64 failed;             /* finished with an error other than cancellation */
  guint64 cancelled;
  guint64 crashes_survived;   /* worker deaths the backend recovered from */
  guint64 retried;            /* jobs run again because their worker died running them */
  gint64  queue_wait_us;      /* sums over finished jobs */
  gint64  run_us;
  gint64  cpu_user_us;
  gint64  cpu_sys_us;
  gint64  voluntary_switches;
  gint64  involuntary_switches;
  guint64 ipc_bytes;
  gint64  worker_maxrss_kb;   /* largest seen */
  gint64  latency_p50_us;     /* submit -> result, over completed and failed jobs */
  gint64  latency_p95_us;
  gint64  latency_max_us;
  guint64 latency_buckets[WEFT_STATS_N_BUCKETS];
  guint64 jobs_by_kind[WEFT_STATS_N_KINDS];  /* finished jobs, any outcome; see weft_stats_kind_slot() */
} WeftBackendStats;

typedef enum
{
  WEFT_JOB_OUTCOME_COMPLETED,
  WEFT_JOB_OUTCOME_FAILED,
  WEFT_JOB_OUTCOME_CANCELLED,
} WeftJobOutcome;

/* Adds one finished job to @totals. Not locked: the owner of @totals
 * serialises calls. */
void   weft_backend_stats_add_job       (WeftBackendStats   *totals,
                                         const WeftJobStats *job,
                                         WeftJobOutcome      outcome);
/* The jobs_by_kind slot a job kind counts in. */
guint  weft_stats_kind_slot             (guint               kind);
/* Adds @from's totals to @into, as one backend that had served both: sums,
 * largest maxima, merged buckets, then the percentiles refreshed. The
 * worker and running counts are @from's, the live ones. */
void   weft_backend_stats_merge         (WeftBackendStats       *into,
                                         const WeftBackendStats *from);
/* Fills in the percentile fields from the buckets. */
void   weft_backend_stats_finish        (WeftBackendStats   *totals);
guint  weft_stats_bucket_for_us         (gint64              us);
/* The largest latency a bucket holds. */
gint64 weft_stats_bucket_upper_us       (guint               bucket);
/* @tv (a CPU time from getrusage()) in microseconds. */
gint64 weft_stats_timeval_us            (const struct timeval *tv);
/* The @fraction percentile (0.5 for the median) of @n values counted in
 * @buckets, within a bucket's width and never above @max_us; 0 when empty. */
gint64 weft_stats_percentile_us         (const guint64      *buckets,
                                         guint64             n,
                                         gint64              max_us,
                                         double              fraction);

G_END_DECLS
