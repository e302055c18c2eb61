/* weft-parallel.c: one piece of work per thread. */
#include "config.h"

#include <pthread.h>

#include "weft-parallel.h"

void
weft_run_parallel (void  *(*func) (void *),
                   void   *items,
                   size_t  size,
                   guint   n)
{
  pthread_t threads[WEFT_PARALLEL_MAX];
  gboolean started[WEFT_PARALLEL_MAX] = { FALSE };

  g_return_if_fail (n >= 1 && n <= WEFT_PARALLEL_MAX);

  for (guint t = 1; t < n; t++)
    started[t] = pthread_create (&threads[t], NULL, func, (char *) items + t * size) == 0;
  func (items);
  for (guint t = 1; t < n; t++)
    {
      if (started[t])
        pthread_join (threads[t], NULL);
      else
        func ((char *) items + t * size);
    }
}
