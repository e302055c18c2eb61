/* weft-backend.h: the one interface through which work leaves the main thread. */
#pragma once

#include <glib.h>
#include <sys/types.h>

#include "weft-error.h"
#include "weft-job.h"
#include "weft-stats.h"

G_BEGIN_DECLS

/* A pool of workers (threads or processes) serving one FIFO queue of jobs.
 *
 * Guarantees, the same for every backend:
 * - Every submitted job's callback runs exactly once, on the GMainContext
 *   given at construction, from whichever thread iterates that context:
 *   with the result, with an error, or with WEFT_ERROR_CANCELLED. This holds
 *   through cancellation and shutdown too.
 * - Jobs start in submission order. With one worker, callbacks therefore run in
 *   submission order; with more, results arrive as they finish.
 * - Callbacks are dispatched in the order their jobs finished.
 * - No call blocks on a job: submit, cancel, set_workers and shutdown return
 *   without waiting for work, so the main thread never stalls.
 *
 * All functions may be called from any thread, but not concurrently with or
 * after weft_backend_shutdown() on the same backend. */
typedef struct _WeftBackend WeftBackend;

typedef struct
{
  guint64             job_id;
  guint64             owner;
  WeftJobKind         kind;
  GBytes             *output;  /* NULL on error; borrowed for the callback's duration */
  const GError       *error;   /* NULL on success */
  const WeftJobStats *stats;
} WeftJobResult;

typedef void (*WeftJobDoneFunc)     (const WeftJobResult *result,
                                     gpointer             user_data);
typedef void (*WeftBackendClosedFunc) (gpointer user_data);

typedef struct
{
  WeftJobKind   kind;
  WeftJobInput *input;    /* nullable (empty); the backend takes its own reference */
  GBytes       *options;  /* nullable; likewise */
  guint64       owner;    /* groups jobs for weft_backend_cancel_owner(), e.g. a document */
  WeftJobInput *aux;      /* nullable: a second input (WEFT_JOB_SORT_MERGE's runs); likewise */
} WeftJobSpec;

typedef enum
{
  WEFT_SHUTDOWN_DRAIN,   /* queued and running jobs finish normally */
  WEFT_SHUTDOWN_CANCEL,  /* queued jobs never start; running ones are asked to stop;
                          * all of them report WEFT_ERROR_CANCELLED */
} WeftShutdownMode;

/* @n_workers 0 means one per online CPU. Callbacks run on @ctx (NULL: the
 * global default context). */
WeftBackend *weft_thread_backend_new  (guint          n_workers,
                                       GMainContext  *ctx);
/* The same, with threads that each load the @spell_language (nullable)
 * spelling dictionary as they start, at their lower priority, rather than
 * in the first job that checks it. Other languages still load on demand. */
WeftBackend *weft_thread_backend_new_full (guint          n_workers,
                                           const char    *spell_language,
                                           GMainContext  *ctx);
/* Runs jobs in @worker_path helper processes (weft-worker), which confine
 * themselves with seccomp. Fails if @worker_path is not an executable. */
WeftBackend *weft_process_backend_new (guint          n_workers,
                                       const char    *worker_path,
                                       GMainContext  *ctx,
                                       GError       **error);

/* The same, with workers that load the @spell_language (nullable) spelling
 * dictionary before their sandbox closes: SPELL jobs for other languages
 * fail in them (weft-spell-job.h). A replaced worker loads it again. */
WeftBackend *weft_process_backend_new_full (guint          n_workers,
                                            const char    *worker_path,
                                            const char    *spell_language,
                                            GMainContext  *ctx,
                                            GError       **error);

const char  *weft_backend_get_name    (WeftBackend      *self);

/* Queues a job and returns its id (never 0). */
guint64      weft_backend_submit      (WeftBackend       *self,
                                       const WeftJobSpec *spec,
                                       WeftJobDoneFunc    done,
                                       gpointer           user_data);
/* Returns TRUE if the job had not finished yet: it then reports
 * WEFT_ERROR_CANCELLED, promptly if it was running. FALSE if it already
 * finished (its callback may still be pending) or is unknown. */
gboolean     weft_backend_cancel      (WeftBackend      *self,
                                       guint64           job_id);
/* Cancels every unfinished job of @owner; returns how many. */
guint        weft_backend_cancel_owner (WeftBackend     *self,
                                        guint64          owner);
/* Grows or shrinks the pool live (0: one per CPU). Extra workers retire after
 * their current job; none is interrupted. */
void         weft_backend_set_workers (WeftBackend      *self,
                                       guint             n_workers);
guint        weft_backend_get_workers (WeftBackend      *self);
void         weft_backend_get_stats   (WeftBackend      *self,
                                       WeftBackendStats *out_stats);

/* Consumes the backend. Returns at once; the jobs finish or are cancelled per
 * @mode, every callback is still delivered, and then, from @ctx, the workers
 * are reaped, @closed (nullable) is called and the memory is freed. Until
 * @closed has returned, weft_backend_get_stats(), weft_backend_cancel() and
 * weft_backend_cancel_owner() (and only those) may still be called, from
 * @ctx's thread: to read the totals as the last jobs finish, and to cancel
 * jobs whose owner went away meanwhile. Switching
 * backends at run time is: create the new one, send new jobs to it, shut the
 * old one down with WEFT_SHUTDOWN_DRAIN. */
void         weft_backend_shutdown    (WeftBackend           *self,
                                       WeftShutdownMode       mode,
                                       WeftBackendClosedFunc  closed,
                                       gpointer               user_data);

guint        weft_backend_default_workers (void);

/* Lowers the calling thread's priority to WEFT_WORKER_NICE below that of
 * @editor, the editor's process (nice values: higher is lower), unless it
 * is that low already, as every worker thread and worker process does when
 * it starts: on a machine whose cores the workers keep busy, the window
 * still gets a core as soon as it has something to do; on an idle one they
 * get every cycle as before. */
#define WEFT_WORKER_NICE 10
void weft_backend_lower_priority (pid_t editor);

G_END_DECLS
