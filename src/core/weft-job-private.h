/* weft-job-private.h: what an implementation of WeftJobInput (a GBytes, a text snapshot) embeds. */
#pragma once

#include <stdatomic.h>

#include "weft-job.h"

G_BEGIN_DECLS

struct _WeftJobInput
{
  const WeftJobInputClass *klass;      /* immutable */
  atomic_uint              ref_count;  /* any thread; see weft_job_input_unref() */
};

/* Sets the class and a first reference. */
void weft_job_input_init (WeftJobInput            *input,
                          const WeftJobInputClass *klass);

G_END_DECLS
