/* weft-job-private.h: what an implementation of WeftJobInput (a GBytes, a text snapshot) embeds. */
#pragma once

#include <pthread.h>
#include <stdatomic.h>

#include "weft-job.h"

G_BEGIN_DECLS

struct _WeftJobInput
{
  const WeftJobInputClass *klass;      /* immutable */
  atomic_uint              ref_count;  /* any thread; see weft_job_input_unref() */

  /* What the jobs sharing this input share, made by the first that needs
   * it; guarded by cache_lock (a pthread mutex, which ThreadSanitizer sees). */
  pthread_mutex_t          cache_lock;
  gboolean                 flat_done;
  const char              *flat;       /* the contiguous bytes, or NULL while not made */
  char                    *flat_copy;  /* owned, when the input had to be copied */
  int                      memfd;      /* a process backend's sealed copy, or -1 */
};

/* Sets the class and a first reference. */
void weft_job_input_init (WeftJobInput            *input,
                          const WeftJobInputClass *klass);

/* Makes a sealed memfd holding @input's bytes; returns it or -1. */
typedef int (*WeftJobInputMemfdFunc) (WeftJobInput  *input,
                                      GError       **error);

/* The memfd holding @input for worker processes, made by @make once and
 * shared by every job on the input; the input owns it (borrowed: do not
 * close). A failure is not remembered: the next caller tries again. */
int  weft_job_input_get_memfd (WeftJobInput            *input,
                               WeftJobInputMemfdFunc    make,
                               GError                 **error);

G_END_DECLS
