/* weft-gated-backend.h: a pool whose workers' start waits for the test, for the pool's own tests. */
#pragma once

#include "weft-backend.h"

G_BEGIN_DECLS

/* A backend of @n_workers whose workers start (WeftWorkerOps.worker_start)
 * only once weft_gated_backend_open() is called, and whose jobs return
 * "started" when their worker had started on the very thread running the
 * job, "not started" otherwise. Callbacks run on @ctx. */
WeftBackend *weft_gated_backend_new  (guint          n_workers,
                                      GMainContext  *ctx);
/* Lets every worker of @backend start. */
void         weft_gated_backend_open (WeftBackend   *backend);

G_END_DECLS
