/* weft-backend-private.h: what a backend implementation plugs into the shared worker pool. */
#pragma once

#include <stdatomic.h>

#include "weft-backend.h"

G_BEGIN_DECLS

typedef struct _WeftPoolSlot WeftPoolSlot;

/* A submitted job, owned by the pool from submit until its callback has run. */
typedef struct
{
  /* Immutable after submit. */
  guint64          id;
  guint64          owner;
  WeftJobKind      kind;
  WeftJobInput    *input;     /* nullable */
  WeftJobInput    *aux;       /* nullable */
  GBytes          *options;   /* nullable */
  WeftJobDoneFunc  done;
  gpointer         user_data;
  gint64           submit_us;

  /* Set by cancel/shutdown on any thread (release), polled by the runner
   * (acquire); once set, the job reports WEFT_ERROR_CANCELLED. */
  atomic_bool      cancelled;

  /* Guarded by the pool lock. */
  GList            link;      /* in the pool's queue while queued */
  gboolean         queued;
  WeftPoolSlot    *slot;      /* the slot running it, or NULL */

  /* Written only by the slot currently running the job, read after it
   * finished (the pool lock orders the two). */
  WeftJobStats     stats;
  gpointer         exec_data; /* backend state kept across retries, e.g. its memfd */
  GDestroyNotify   exec_data_free;

  /* Set when the job finishes, under the pool lock; read by the callback. */
  GBytes          *output;
  GError          *error;
} WeftJob;

typedef enum
{
  WEFT_RUN_DONE,         /* *out or *error is set */
  WEFT_RUN_WORKER_LOST,  /* the worker died or broke protocol: replaced, job may retry */
  WEFT_RUN_WORKER_GONE,  /* the worker had died before the job reached it: replaced
                          * and counted, and the job runs again at no cost to it */
} WeftRunStatus;

/* How one worker runs one job; everything else (queue, cancellation,
 * resizing, retries, delivery, stats, shutdown) is the pool's. */
typedef struct
{
  const char *name;
  /* Creates a worker's state, on the thread calling set_workers. */
  gpointer      (*worker_new)       (gpointer       backend_data);
  /* Prepares a worker on its slot's own thread, before the slot takes its
   * first job (a job submitted meanwhile waits). May be NULL. */
  void          (*worker_start)     (gpointer       worker);
  /* Runs @job on the slot's own thread; fills the CPU, switch, memory and
   * IPC fields of job->stats. */
  WeftRunStatus (*worker_run)       (gpointer       worker,
                                     WeftJob       *job,
                                     GBytes       **out,
                                     GError       **error);
  /* Asks a running job to stop soon; called under the pool lock from any
   * thread, concurrently with worker_run. May be NULL. */
  void          (*worker_interrupt) (gpointer       worker,
                                     WeftJob       *job);
  /* Releases a worker, on its slot's thread, once it runs no job. */
  void          (*worker_free)      (gpointer       worker);
  void          (*backend_data_free) (gpointer      backend_data);
} WeftWorkerOps;

WeftBackend *weft_backend_new_with_ops (const WeftWorkerOps *ops,
                                        gpointer             backend_data,
                                        guint                n_workers,
                                        GMainContext        *ctx);

gboolean     weft_job_is_cancelled     (gpointer             job);

G_END_DECLS
