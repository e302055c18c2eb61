/* weft-gated-backend.c: a pool whose workers' start waits for the test. */
#include "weft-gated-backend.h"

#include <pthread.h>
#include <string.h>

#include "weft-backend-private.h"

typedef struct
{
  pthread_mutex_t lock;
  pthread_cond_t  cond;
  gboolean        open;
} Gate;

typedef struct
{
  Gate      *gate;
  /* Written by worker_start and read by worker_run, both on the slot's
   * thread. */
  gboolean   started;
  pthread_t  thread;
} GatedWorker;

static gpointer
gated_worker_new (gpointer backend_data)
{
  GatedWorker *w = g_new0 (GatedWorker, 1);

  w->gate = backend_data;
  return w;
}

static void
gated_worker_start (gpointer worker)
{
  GatedWorker *w = worker;

  pthread_mutex_lock (&w->gate->lock);
  while (!w->gate->open)
    pthread_cond_wait (&w->gate->cond, &w->gate->lock);
  pthread_mutex_unlock (&w->gate->lock);
  w->thread = pthread_self ();
  w->started = TRUE;
}

static WeftRunStatus
gated_worker_run (gpointer   worker,
                  WeftJob   *job,
                  GBytes   **out,
                  GError   **error)
{
  GatedWorker *w = worker;
  const char *answer = w->started && pthread_equal (w->thread, pthread_self ()) ? "started" : "not started";

  (void) job;
  (void) error;
  *out = g_bytes_new_static (answer, strlen (answer));
  return WEFT_RUN_DONE;
}

static void
gated_backend_data_free (gpointer data)
{
  Gate *gate = data;

  pthread_mutex_destroy (&gate->lock);
  pthread_cond_destroy (&gate->cond);
  g_free (gate);
}

static const WeftWorkerOps gated_ops = {
  .name = "gated",
  .worker_new = gated_worker_new,
  .worker_start = gated_worker_start,
  .worker_run = gated_worker_run,
  .worker_free = g_free,
  .backend_data_free = gated_backend_data_free,
};

/* The backend's data, kept beside it for weft_gated_backend_open(): the
 * pool does not hand its backend_data back. */
static GHashTable *gates;  /* WeftBackend * -> Gate *, main thread only */

WeftBackend *
weft_gated_backend_new (guint         n_workers,
                        GMainContext *ctx)
{
  Gate *gate = g_new0 (Gate, 1);
  WeftBackend *backend;

  pthread_mutex_init (&gate->lock, NULL);
  pthread_cond_init (&gate->cond, NULL);
  backend = weft_backend_new_with_ops (&gated_ops, gate, n_workers, ctx);
  if (gates == NULL)
    gates = g_hash_table_new (NULL, NULL);
  g_hash_table_insert (gates, backend, gate);
  return backend;
}

void
weft_gated_backend_open (WeftBackend *backend)
{
  Gate *gate = g_hash_table_lookup (gates, backend);

  g_return_if_fail (gate != NULL);
  g_hash_table_remove (gates, backend);
  pthread_mutex_lock (&gate->lock);
  gate->open = TRUE;
  pthread_cond_broadcast (&gate->cond);
  pthread_mutex_unlock (&gate->lock);
}
