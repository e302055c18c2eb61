/* weft-thread-backend.c: the threads backend, jobs run on the pool's own threads. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "weft-backend-private.h"
#include "weft-parallel.h"
#include "weft-spell-job.h"

/* Per-worker state, owned by the worker's slot thread once it runs. */
typedef struct
{
  /* Its own Enchant brokers and dictionaries, never shared with another
   * thread (hunspell is not thread-safe); loaded on the slot's thread as
   * it starts (the preload language) or by the first job that needs each
   * other language, and kept. */
  WeftSpellWorker *spell;
  char            *preload;  /* the language to load as the slot starts, or NULL */
} ThreadWorker;

/* @backend_data: the language every worker loads as it starts, or NULL. */
static gpointer
thread_worker_new (gpointer backend_data)
{
  ThreadWorker *w = g_new0 (ThreadWorker, 1);

  w->spell = weft_spell_worker_new ();
  w->preload = g_strdup (backend_data);
  return w;
}

/* Loading a dictionary takes about 0.1 s of one core, and its allocations
 * make the kernel interrupt the editor's thread (TLB shootdowns in the one
 * address space); done by the first job, it fell on the frames of the
 * file being opened. Done here, it falls on the backend's start. */
static void
thread_worker_start (gpointer worker)
{
  ThreadWorker *w = worker;
  g_autoptr(GError) error = NULL;

  /* A language that fails to load fails again, with its message, in the
   * jobs that ask for it. */
  if (w->preload != NULL)
    (void) weft_spell_worker_preload (w->spell, w->preload, &error);
}

static WeftRunStatus
thread_worker_run (gpointer   worker,
                   WeftJob   *job,
                   GBytes   **out,
                   GError   **error)
{
  WeftThreadCpu before, after;

  weft_thread_cpu_read (&before);

  /* Aborting or hanging here would take the whole application down. */
  if (weft_job_kind_needs_process (job->kind))
    g_set_error (error, WEFT_ERROR, WEFT_ERROR_FAILED,
                 _("A %s job runs only in a worker process"),
                 weft_job_kind_name (job->kind));
  else if (weft_spell_job_kind_is_spell (job->kind))
    weft_spell_worker_run (((ThreadWorker *) worker)->spell, job->kind, job->input, job->options,
                           weft_job_is_cancelled, job, out, error);
  else
    weft_job_run_full (job->kind, job->input, job->aux, job->options,
                       weft_job_is_cancelled, job, out, error);

  /* With the threads that copied the job's input for it, if any. */
  weft_thread_cpu_read (&after);
  weft_thread_cpu_since (&before, &after, &job->stats.cpu_user_us, &job->stats.cpu_sys_us);
  job->stats.voluntary_switches = after.usage.ru_nvcsw - before.usage.ru_nvcsw;
  job->stats.involuntary_switches = after.usage.ru_nivcsw - before.usage.ru_nivcsw;
  job->stats.ipc_bytes = 0;
  job->stats.worker_maxrss_kb = 0;

  return WEFT_RUN_DONE;
}

static void
thread_worker_free (gpointer worker)
{
  ThreadWorker *w = worker;

  weft_spell_worker_free (w->spell);
  g_free (w->preload);
  g_free (w);
}

static const WeftWorkerOps thread_ops = {
  .name = "threads",
  .worker_new = thread_worker_new,
  .worker_start = thread_worker_start,
  .worker_run = thread_worker_run,
  /* Running jobs poll job->cancelled themselves. */
  .worker_interrupt = NULL,
  .worker_free = thread_worker_free,
  .backend_data_free = g_free,
};

WeftBackend *
weft_thread_backend_new (guint         n_workers,
                         GMainContext *ctx)
{
  return weft_thread_backend_new_full (n_workers, NULL, ctx);
}

WeftBackend *
weft_thread_backend_new_full (guint         n_workers,
                              const char   *spell_language,
                              GMainContext *ctx)
{
  return weft_backend_new_with_ops (&thread_ops, g_strdup (spell_language), n_workers, ctx);
}
