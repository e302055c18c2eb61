/* weft-job-private.h: what an implementation of WeftJobInput (a GBytes, a text snapshot) embeds. */
#pragma once

#include <pthread.h>
#include <stdatomic.h>

#include "weft-job.h"

G_BEGIN_DECLS

/* The most memfds an input's copy for worker processes is cut into: what
 * the worker protocol allows (weft-ipc.h). */
#define WEFT_JOB_INPUT_MAX_MEMFDS 8

/* A process backend's sealed copy of an input: memfd i holds the bytes
 * [i * piece_len, MIN ((i + 1) * piece_len, size)). */
typedef struct
{
  guint   n_fds;      /* 0 while not made (or for an empty input) */
  size_t  piece_len;
  guint64 serial;     /* unique among the process's inputs (WeftIpcJob.input_serial) */
  int     fds[WEFT_JOB_INPUT_MAX_MEMFDS];
} WeftJobInputMemfds;

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
  WeftJobInputMemfds       memfds;     /* a process backend's sealed copy */
};

/* Sets the class and a first reference. */
void weft_job_input_init (WeftJobInput            *input,
                          const WeftJobInputClass *klass);

/* Fills @out with sealed memfds holding @input's bytes, at least one; on
 * failure, leaves none open and returns FALSE. */
typedef gboolean (*WeftJobInputMemfdFunc) (WeftJobInput        *input,
                                           WeftJobInputMemfds  *out,
                                           GError             **error);

/* The memfds holding @input for worker processes, made by @make once and
 * shared by every job on the input; copied to @out, but the input owns
 * them (borrowed: do not close). A failure is not remembered: the next
 * caller tries again. */
gboolean weft_job_input_get_memfds (WeftJobInput            *input,
                                    WeftJobInputMemfdFunc    make,
                                    WeftJobInputMemfds      *out,
                                    GError                 **error);

G_END_DECLS
