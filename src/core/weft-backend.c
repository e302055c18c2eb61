/* weft-backend.c: the worker pool both backends share: queue, cancellation, retries, delivery. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "weft-backend-private.h"
#include "weft-watchdog.h"

struct _WeftPoolSlot
{
  WeftBackend *backend;
  pthread_t    thread;
  gpointer     worker;   /* immutable for the slot's life; freed by its thread */
  gboolean     retire;   /* pool lock */
  WeftJob     *current;  /* pool lock */
};

struct _WeftBackend
{
  const WeftWorkerOps   *ops;           /* immutable */
  gpointer               backend_data;  /* immutable */
  GMainContext          *ctx;           /* immutable */

  pthread_mutex_t        lock;
  pthread_cond_t         work_cond;     /* work queued, a slot retired, or closing */

  /* Everything below is guarded by lock. */
  GQueue                 queue;         /* WeftJob, FIFO */
  GHashTable            *live;          /* id -> WeftJob, queued or running */
  GPtrArray             *slots;         /* WeftPoolSlot whose thread has not exited */
  GArray                *exited;        /* pthread_t of slot threads left to join */
  guint                  n_workers;     /* slots not retiring */
  guint64                next_id;
  gboolean               closing;
  WeftShutdownMode       close_mode;
  WeftBackendClosedFunc  closed;
  gpointer               closed_data;
  WeftBackendStats       stats;
  GQueue                 finished;      /* WeftJob waiting for its callback */
  gboolean               dispatch_scheduled;
  gboolean               finalize_pending; /* the last slot exited after shutdown */
};

guint
weft_backend_default_workers (void)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN);

  return n > 0 ? (guint) n : 1;
}

gboolean
weft_job_is_cancelled (gpointer job)
{
  return atomic_load_explicit (&((WeftJob *) job)->cancelled, memory_order_acquire);
}

static void
weft_job_free (WeftJob *job)
{
  weft_job_input_unref (job->input);
  weft_job_input_unref (job->aux);
  g_clear_pointer (&job->options, g_bytes_unref);
  g_clear_pointer (&job->output, g_bytes_unref);
  g_clear_error (&job->error);
  if (job->exec_data_free != NULL)
    job->exec_data_free (job->exec_data);
  g_free (job);
}

static void weft_backend_finalize (WeftBackend *self);

/* Runs on the context: callbacks in finishing order, then, once the pool is
 * closed and empty, the teardown. */
static gboolean
dispatch_finished (gpointer data)
{
  WeftBackend *self = data;
  GQueue batch = G_QUEUE_INIT;
  gboolean finalize;
  WeftJob *job;

  pthread_mutex_lock (&self->lock);
  batch = self->finished;
  g_queue_init (&self->finished);
  self->dispatch_scheduled = FALSE;
  pthread_mutex_unlock (&self->lock);

  weft_watchdog_work_begin ();
  while ((job = g_queue_pop_head (&batch)) != NULL)
    {
      WeftJobResult result = {
        .job_id = job->id,
        .owner = job->owner,
        .kind = job->kind,
        .output = job->error == NULL ? job->output : NULL,
        .error = job->error,
        .stats = &job->stats,
      };

      if (job->done != NULL)
        job->done (&result, job->user_data);
      weft_job_free (job);
    }

  weft_watchdog_work_end ("handing over worker results");

  /* finalize_pending is set only after the last job finished; but a
   * callback may have submitted a job since (a sort's next phase), which
   * then failed at once and waits for the dispatch already scheduled. */
  pthread_mutex_lock (&self->lock);
  finalize = self->finalize_pending && !self->dispatch_scheduled;
  pthread_mutex_unlock (&self->lock);
  if (finalize)
    weft_backend_finalize (self);

  return G_SOURCE_REMOVE;
}

static void
schedule_dispatch_locked (WeftBackend *self)
{
  GSource *source;

  if (self->dispatch_scheduled)
    return;

  /* An idle source rather than g_main_context_invoke(): invoke would run the
   * callback right here, on a worker thread, whenever nobody owns the context. */
  self->dispatch_scheduled = TRUE;
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, "[weft] backend results");
  g_source_set_callback (source, dispatch_finished, self, NULL);
  g_source_attach (source, self->ctx);
  g_source_unref (source);
}

static void
finish_job_locked (WeftBackend *self,
                   WeftJob     *job,
                   GBytes      *output,
                   GError      *error)
{
  WeftJobOutcome outcome;

  g_assert (job->slot == NULL && !job->queued);

  if (weft_job_is_cancelled (job))
    {
      g_clear_pointer (&output, g_bytes_unref);
      g_clear_error (&error);
      g_set_error_literal (&error, WEFT_ERROR, WEFT_ERROR_CANCELLED,
                           _("The job was cancelled"));
    }
  g_assert (output != NULL || error != NULL);
  if (error != NULL)
    g_clear_pointer (&output, g_bytes_unref);

  job->output = output;
  job->error = error;

  if (error == NULL)
    outcome = WEFT_JOB_OUTCOME_COMPLETED;
  else if (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_CANCELLED))
    outcome = WEFT_JOB_OUTCOME_CANCELLED;
  else
    outcome = WEFT_JOB_OUTCOME_FAILED;
  weft_backend_stats_add_job (&self->stats, &job->stats, outcome);
  self->stats.jobs_by_kind[weft_stats_kind_slot (job->kind)]++;

  g_hash_table_remove (self->live, &job->id);
  g_queue_push_tail (&self->finished, job);
  schedule_dispatch_locked (self);
}

static void
cancel_job_locked (WeftBackend *self,
                   WeftJob     *job)
{
  atomic_store_explicit (&job->cancelled, TRUE, memory_order_release);

  if (job->queued)
    {
      g_queue_unlink (&self->queue, &job->link);
      job->queued = FALSE;
      finish_job_locked (self, job, NULL, NULL);
    }
  else if (job->slot != NULL && self->ops->worker_interrupt != NULL)
    self->ops->worker_interrupt (job->slot->worker, job);
}

static gboolean
slot_should_exit_locked (WeftBackend  *self,
                         WeftPoolSlot *slot)
{
  if (slot->retire)
    return TRUE;
  if (self->closing)
    return self->close_mode == WEFT_SHUTDOWN_CANCEL || self->queue.length == 0;
  return FALSE;
}

void
weft_backend_lower_priority (pid_t editor)
{
  /* On Linux each thread has its own nice value; the editor's is that of
   * its main thread, whose id is its pid. */
  id_t tid = (id_t) syscall (SYS_gettid);
  int editor_nice, nice_now, wanted;

  errno = 0;
  editor_nice = getpriority (PRIO_PROCESS, (id_t) editor);
  nice_now = getpriority (PRIO_PROCESS, tid);
  if (errno != 0)
    return;
  wanted = MIN (editor_nice + WEFT_WORKER_NICE, 19);
  if (nice_now < wanted)
    (void) setpriority (PRIO_PROCESS, tid, wanted);
}

static void *
slot_main (void *data)
{
  WeftPoolSlot *slot = data;
  WeftBackend *self = slot->backend;
  gboolean last;

  weft_backend_lower_priority (getpid ());
  if (self->ops->worker_start != NULL)
    self->ops->worker_start (slot->worker);

  pthread_mutex_lock (&self->lock);
  for (;;)
    {
      g_autoptr(GBytes) output = NULL;
      g_autoptr(GError) error = NULL;
      WeftRunStatus status;
      GList *link;
      WeftJob *job;
      gint64 start_us;

      if (slot_should_exit_locked (self, slot))
        break;

      link = g_queue_pop_head_link (&self->queue);
      if (link == NULL)
        {
          pthread_cond_wait (&self->work_cond, &self->lock);
          continue;
        }

      job = link->data;
      job->queued = FALSE;
      job->slot = slot;
      slot->current = job;
      start_us = g_get_monotonic_time ();
      job->stats.attempts++;
      job->stats.queue_wait_us = start_us - job->submit_us;
      pthread_mutex_unlock (&self->lock);

      status = self->ops->worker_run (slot->worker, job, &output, &error);

      /* A finished job needs no retry state; releasing it here keeps the
       * cost off the main context, where the job itself is freed: closing
       * the memfd of a 63 MB input took 27 ms. */
      if (status == WEFT_RUN_DONE && job->exec_data_free != NULL)
        {
          job->exec_data_free (job->exec_data);
          job->exec_data = NULL;
          job->exec_data_free = NULL;
        }

      pthread_mutex_lock (&self->lock);
      job->stats.run_us = g_get_monotonic_time () - start_us;
      job->slot = NULL;
      slot->current = NULL;

      if (status == WEFT_RUN_WORKER_GONE)
        {
          self->stats.crashes_survived++;
          g_queue_push_head_link (&self->queue, &job->link);
          job->queued = TRUE;
          pthread_cond_signal (&self->work_cond);
          continue;
        }
      if (status == WEFT_RUN_WORKER_LOST)
        {
          g_clear_pointer (&output, g_bytes_unref);
          g_clear_error (&error);
          self->stats.crashes_survived++;
          job->stats.crashes++;

          /* Retried once, ahead of everything else: it was already the oldest. */
          if (job->stats.crashes < 2 && !weft_job_is_cancelled (job))
            {
              self->stats.retried++;
              g_queue_push_head_link (&self->queue, &job->link);
              job->queued = TRUE;
              pthread_cond_signal (&self->work_cond);
              continue;
            }
          g_set_error (&error, WEFT_ERROR, WEFT_ERROR_WORKER_CRASHED,
                       _("The helper process running this %s job stopped "
                       "unexpectedly %u times; the job was abandoned"),
                       weft_job_kind_name (job->kind), job->stats.crashes);
        }

      finish_job_locked (self, job, g_steal_pointer (&output), g_steal_pointer (&error));
    }
  pthread_mutex_unlock (&self->lock);

  /* No job refers to this worker any more, so nothing can interrupt it. */
  self->ops->worker_free (slot->worker);

  pthread_mutex_lock (&self->lock);
  g_ptr_array_remove_fast (self->slots, slot);
  g_array_append_val (self->exited, slot->thread);
  last = self->closing && self->slots->len == 0;
  if (last)
    {
      self->finalize_pending = TRUE;
      schedule_dispatch_locked (self);
    }
  pthread_mutex_unlock (&self->lock);

  g_free (slot);
  return NULL;
}

static GArray *
take_exited_locked (WeftBackend *self)
{
  GArray *exited = self->exited;

  self->exited = g_array_new (FALSE, FALSE, sizeof (pthread_t));
  return exited;
}

static void
join_threads (GArray *threads)
{
  for (guint i = 0; i < threads->len; i++)
    pthread_join (g_array_index (threads, pthread_t, i), NULL);
  g_array_unref (threads);
}

static void
set_workers_locked (WeftBackend *self,
                    guint        n_workers)
{
  guint active = 0;

  self->n_workers = n_workers;

  for (guint i = 0; i < self->slots->len; i++)
    if (!((WeftPoolSlot *) g_ptr_array_index (self->slots, i))->retire)
      active++;

  /* Retire from the end; a retiring slot finishes its job first. */
  for (guint i = self->slots->len; i > 0 && active > n_workers; i--)
    {
      WeftPoolSlot *slot = g_ptr_array_index (self->slots, i - 1);

      if (!slot->retire)
        {
          slot->retire = TRUE;
          active--;
        }
    }

  for (; active < n_workers; active++)
    {
      WeftPoolSlot *slot = g_new0 (WeftPoolSlot, 1);
      int rc;

      slot->backend = self;
      slot->worker = self->ops->worker_new (self->backend_data);
      rc = pthread_create (&slot->thread, NULL, slot_main, slot);
      if (rc != 0)
        g_error ("Could not start a worker thread: %s", g_strerror (rc));
      g_ptr_array_add (self->slots, slot);
    }

  pthread_cond_broadcast (&self->work_cond);
}

WeftBackend *
weft_backend_new_with_ops (const WeftWorkerOps *ops,
                           gpointer             backend_data,
                           guint                n_workers,
                           GMainContext        *ctx)
{
  WeftBackend *self = g_new0 (WeftBackend, 1);

  self->ops = ops;
  self->backend_data = backend_data;
  self->ctx = ctx != NULL ? g_main_context_ref (ctx) : g_main_context_ref (g_main_context_default ());
  pthread_mutex_init (&self->lock, NULL);
  pthread_cond_init (&self->work_cond, NULL);
  g_queue_init (&self->queue);
  g_queue_init (&self->finished);
  self->live = g_hash_table_new (g_int64_hash, g_int64_equal);
  self->slots = g_ptr_array_new ();
  self->exited = g_array_new (FALSE, FALSE, sizeof (pthread_t));
  self->next_id = 1;

  pthread_mutex_lock (&self->lock);
  set_workers_locked (self, n_workers > 0 ? n_workers : weft_backend_default_workers ());
  pthread_mutex_unlock (&self->lock);

  return self;
}

static void
weft_backend_finalize (WeftBackend *self)
{
  GArray *exited;

  pthread_mutex_lock (&self->lock);
  g_assert (self->slots->len == 0 && self->queue.length == 0);
  g_assert (g_hash_table_size (self->live) == 0);
  exited = take_exited_locked (self);
  pthread_mutex_unlock (&self->lock);

  /* Every slot thread has passed its last use of the lock; joining waits
   * at most for its return. */
  join_threads (exited);

  if (self->closed != NULL)
    self->closed (self->closed_data);

  if (self->ops->backend_data_free != NULL)
    self->ops->backend_data_free (self->backend_data);
  g_hash_table_unref (self->live);
  g_ptr_array_unref (self->slots);
  g_array_unref (self->exited);
  pthread_cond_destroy (&self->work_cond);
  pthread_mutex_destroy (&self->lock);
  g_main_context_unref (self->ctx);
  g_free (self);
}

const char *
weft_backend_get_name (WeftBackend *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->ops->name;
}

guint64
weft_backend_submit (WeftBackend       *self,
                     const WeftJobSpec *spec,
                     WeftJobDoneFunc    done,
                     gpointer           user_data)
{
  WeftJob *job;
  guint64 id;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (spec != NULL, 0);

  job = g_new0 (WeftJob, 1);
  job->owner = spec->owner;
  job->kind = spec->kind;
  job->input = spec->input != NULL ? weft_job_input_ref (spec->input) : NULL;
  job->aux = spec->aux != NULL ? weft_job_input_ref (spec->aux) : NULL;
  job->options = spec->options != NULL ? g_bytes_ref (spec->options) : NULL;
  job->done = done;
  job->user_data = user_data;
  atomic_init (&job->cancelled, FALSE);
  job->link.data = job;
  job->submit_us = g_get_monotonic_time ();

  pthread_mutex_lock (&self->lock);
  id = job->id = self->next_id++;
  self->stats.submitted++;
  if (self->closing)
    {
      /* Its workers may be gone already: the job fails rather than wait
       * forever, e.g. a sort's second phase after the user switched
       * backends. */
      GError *error = g_error_new_literal (WEFT_ERROR, WEFT_ERROR_FAILED,
                                           _("The background workers were replaced before this job could run"));

      finish_job_locked (self, job, NULL, error);
      pthread_mutex_unlock (&self->lock);
      return id;
    }
  g_hash_table_insert (self->live, &job->id, job);
  g_queue_push_tail_link (&self->queue, &job->link);
  job->queued = TRUE;
  pthread_cond_signal (&self->work_cond);
  pthread_mutex_unlock (&self->lock);

  return id;
}

gboolean
weft_backend_cancel (WeftBackend *self,
                     guint64      job_id)
{
  WeftJob *job;

  g_return_val_if_fail (self != NULL, FALSE);

  pthread_mutex_lock (&self->lock);
  job = g_hash_table_lookup (self->live, &job_id);
  if (job != NULL)
    cancel_job_locked (self, job);
  pthread_mutex_unlock (&self->lock);

  return job != NULL;
}

guint
weft_backend_cancel_owner (WeftBackend *self,
                           guint64      owner)
{
  g_autoptr(GPtrArray) matching = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (self != NULL, 0);

  pthread_mutex_lock (&self->lock);
  /* Collected first: cancelling a queued job removes it from the table. */
  g_hash_table_iter_init (&iter, self->live);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((WeftJob *) value)->owner == owner)
      g_ptr_array_add (matching, value);
  for (guint i = 0; i < matching->len; i++)
    cancel_job_locked (self, g_ptr_array_index (matching, i));
  pthread_mutex_unlock (&self->lock);

  return matching->len;
}

void
weft_backend_set_workers (WeftBackend *self,
                          guint        n_workers)
{
  GArray *exited;

  g_return_if_fail (self != NULL);

  pthread_mutex_lock (&self->lock);
  set_workers_locked (self, n_workers > 0 ? n_workers : weft_backend_default_workers ());
  exited = take_exited_locked (self);
  pthread_mutex_unlock (&self->lock);

  /* Only threads that already left their loop are here: no waiting on jobs. */
  join_threads (exited);
}

guint
weft_backend_get_workers (WeftBackend *self)
{
  guint n;

  g_return_val_if_fail (self != NULL, 0);

  pthread_mutex_lock (&self->lock);
  n = self->n_workers;
  pthread_mutex_unlock (&self->lock);
  return n;
}

void
weft_backend_get_stats (WeftBackend      *self,
                        WeftBackendStats *out_stats)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (out_stats != NULL);

  pthread_mutex_lock (&self->lock);
  *out_stats = self->stats;
  out_stats->n_workers = self->n_workers;
  out_stats->n_running = 0;
  for (guint i = 0; i < self->slots->len; i++)
    if (((WeftPoolSlot *) g_ptr_array_index (self->slots, i))->current != NULL)
      out_stats->n_running++;
  pthread_mutex_unlock (&self->lock);

  weft_backend_stats_finish (out_stats);
}

void
weft_backend_shutdown (WeftBackend           *self,
                       WeftShutdownMode       mode,
                       WeftBackendClosedFunc  closed,
                       gpointer               user_data)
{
  g_return_if_fail (self != NULL);

  pthread_mutex_lock (&self->lock);
  g_assert (!self->closing);
  self->closing = TRUE;
  self->close_mode = mode;
  self->closed = closed;
  self->closed_data = user_data;

  if (mode == WEFT_SHUTDOWN_CANCEL)
    {
      g_autoptr(GList) jobs = g_hash_table_get_values (self->live);

      for (GList *l = jobs; l != NULL; l = l->next)
        cancel_job_locked (self, l->data);
    }

  if (self->slots->len == 0)
    {
      self->finalize_pending = TRUE;
      schedule_dispatch_locked (self);
    }
  pthread_cond_broadcast (&self->work_cond);
  pthread_mutex_unlock (&self->lock);
}
