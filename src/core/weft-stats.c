/* weft-stats.c: accumulating job costs and reading percentiles off a histogram. */
#include "config.h"

#include "weft-stats.h"

guint
weft_stats_bucket_for_us (gint64 us)
{
  guint64 v;
  guint log2;
  guint sub;

  if (us < 4)
    return us < 0 ? 0 : (guint) us;

  v = (guint64) us;
  log2 = 63 - __builtin_clzll (v);
  /* The two bits after the leading one pick the quarter within the octave. */
  sub = (guint) ((v >> (log2 - 2)) & 3);
  return MIN (log2 * 4 + sub - 4, (guint) WEFT_STATS_N_BUCKETS - 1);
}

gint64
weft_stats_bucket_upper_us (guint bucket)
{
  guint log2;
  guint sub;

  if (bucket < 4)
    return bucket;

  log2 = (bucket + 4) / 4;
  sub = (bucket + 4) % 4;
  if (log2 >= 62)
    return G_MAXINT64;
  return (gint64) (((guint64) (4 + sub + 1) << (log2 - 2)) - 1);
}

void
weft_backend_stats_add_job (WeftBackendStats   *totals,
                            const WeftJobStats *job,
                            WeftJobOutcome      outcome)
{
  gint64 latency;

  switch (outcome)
    {
    case WEFT_JOB_OUTCOME_COMPLETED:
      totals->completed++;
      break;
    case WEFT_JOB_OUTCOME_FAILED:
      totals->failed++;
      break;
    case WEFT_JOB_OUTCOME_CANCELLED:
      totals->cancelled++;
      break;
    }

  totals->queue_wait_us += job->queue_wait_us;
  totals->run_us += job->run_us;
  totals->cpu_user_us += job->cpu_user_us;
  totals->cpu_sys_us += job->cpu_sys_us;
  totals->voluntary_switches += job->voluntary_switches;
  totals->involuntary_switches += job->involuntary_switches;
  totals->ipc_bytes += job->ipc_bytes;
  totals->worker_maxrss_kb = MAX (totals->worker_maxrss_kb, job->worker_maxrss_kb);

  /* A cancelled job's latency says how fast cancelling is, not what work
   * costs; keep it out of the percentiles. */
  if (outcome == WEFT_JOB_OUTCOME_CANCELLED)
    return;

  latency = job->queue_wait_us + job->run_us;
  totals->latency_buckets[weft_stats_bucket_for_us (latency)]++;
  totals->latency_max_us = MAX (totals->latency_max_us, latency);
}

gint64
weft_stats_percentile_us (const guint64 *buckets,
                          guint64        n,
                          gint64         max_us,
                          double         fraction)
{
  guint64 rank = (guint64) (fraction * (double) n + 0.5);
  guint64 seen = 0;

  if (n == 0)
    return 0;
  rank = CLAMP (rank, 1, n);
  for (guint b = 0; b < WEFT_STATS_N_BUCKETS; b++)
    {
      seen += buckets[b];
      if (seen >= rank)
        return MIN (weft_stats_bucket_upper_us (b), max_us);
    }
  return max_us;
}

gint64
weft_stats_timeval_us (const struct timeval *tv)
{
  return (gint64) tv->tv_sec * G_USEC_PER_SEC + tv->tv_usec;
}

guint
weft_stats_kind_slot (guint kind)
{
  return MIN (kind, (guint) WEFT_STATS_N_KINDS - 1);
}

void
weft_backend_stats_merge (WeftBackendStats       *into,
                          const WeftBackendStats *from)
{
  into->n_workers = from->n_workers;
  into->n_running = from->n_running;
  into->submitted += from->submitted;
  into->completed += from->completed;
  into->failed += from->failed;
  into->cancelled += from->cancelled;
  into->crashes_survived += from->crashes_survived;
  into->retried += from->retried;
  into->queue_wait_us += from->queue_wait_us;
  into->run_us += from->run_us;
  into->cpu_user_us += from->cpu_user_us;
  into->cpu_sys_us += from->cpu_sys_us;
  into->voluntary_switches += from->voluntary_switches;
  into->involuntary_switches += from->involuntary_switches;
  into->ipc_bytes += from->ipc_bytes;
  into->worker_maxrss_kb = MAX (into->worker_maxrss_kb, from->worker_maxrss_kb);
  into->latency_max_us = MAX (into->latency_max_us, from->latency_max_us);
  for (guint b = 0; b < WEFT_STATS_N_BUCKETS; b++)
    into->latency_buckets[b] += from->latency_buckets[b];
  for (guint k = 0; k < WEFT_STATS_N_KINDS; k++)
    into->jobs_by_kind[k] += from->jobs_by_kind[k];
  weft_backend_stats_finish (into);
}

void
weft_backend_stats_finish (WeftBackendStats *totals)
{
  guint64 n = 0;

  for (guint b = 0; b < WEFT_STATS_N_BUCKETS; b++)
    n += totals->latency_buckets[b];

  if (n == 0)
    {
      totals->latency_p50_us = 0;
      totals->latency_p95_us = 0;
      return;
    }
  totals->latency_p50_us = weft_stats_percentile_us (totals->latency_buckets, n, totals->latency_max_us, 0.50);
  totals->latency_p95_us = weft_stats_percentile_us (totals->latency_buckets, n, totals->latency_max_us, 0.95);
}
