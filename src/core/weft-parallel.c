/* weft-parallel.c: one piece of work per thread. */
#include "config.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/time.h>

#include "weft-parallel.h"
#include "weft-stats.h"

/* One helper thread's item, and the CPU time it used, which the calling
 * thread reads after joining it. */
typedef struct
{
  void   *(*func) (void *);
  void    *item;
  gint64   user_us;
  gint64   sys_us;
} Helper;

/* What this thread's helpers have used in all. */
static _Thread_local gint64 helper_user_us, helper_sys_us;

static void *
run_helper (void *data)
{
  Helper *h = data;
  struct rusage usage;

  h->func (h->item);
  if (getrusage (RUSAGE_THREAD, &usage) == 0)
    {
      h->user_us = weft_stats_timeval_us (&usage.ru_utime);
      h->sys_us = weft_stats_timeval_us (&usage.ru_stime);
    }
  return NULL;
}

void
weft_run_parallel (void  *(*func) (void *),
                   void   *items,
                   size_t  size,
                   guint   n)
{
  pthread_t threads[WEFT_PARALLEL_MAX];
  Helper helpers[WEFT_PARALLEL_MAX];
  gboolean started[WEFT_PARALLEL_MAX] = { FALSE };

  g_return_if_fail (n >= 1 && n <= WEFT_PARALLEL_MAX);

  for (guint t = 1; t < n; t++)
    {
      helpers[t] = (Helper) { func, (char *) items + t * size, 0, 0 };
      started[t] = pthread_create (&threads[t], NULL, run_helper, &helpers[t]) == 0;
    }
  func (items);
  for (guint t = 1; t < n; t++)
    {
      if (started[t])
        {
          pthread_join (threads[t], NULL);
          helper_user_us += helpers[t].user_us;
          helper_sys_us += helpers[t].sys_us;
        }
      else
        func (helpers[t].item);
    }
}

void
weft_parallel_helper_cpu (gint64 *user_us,
                          gint64 *sys_us)
{
  *user_us = helper_user_us;
  *sys_us = helper_sys_us;
}

void
weft_thread_cpu_read (WeftThreadCpu *out)
{
  getrusage (RUSAGE_THREAD, &out->usage);
  weft_parallel_helper_cpu (&out->helpers_user_us, &out->helpers_sys_us);
}

void
weft_thread_cpu_since (const WeftThreadCpu *before,
                       const WeftThreadCpu *after,
                       gint64              *user_us,
                       gint64              *sys_us)
{
  *user_us = weft_stats_timeval_us (&after->usage.ru_utime) - weft_stats_timeval_us (&before->usage.ru_utime) +
             after->helpers_user_us - before->helpers_user_us;
  *sys_us = weft_stats_timeval_us (&after->usage.ru_stime) - weft_stats_timeval_us (&before->usage.ru_stime) +
            after->helpers_sys_us - before->helpers_sys_us;
}
