/* weft-sort-task.c: one sort as two phases of jobs on a WeftBackend, coordinated from its main context. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <locale.h>

#include "weft-error.h"
#include "weft-sort-task.h"

#define MAX_PARTS 64

/* Owned by the backend context's thread: every field is read and written
 * only there (the job callbacks run on it). */
struct _WeftSortTask
{
  WeftBackend          *backend;
  WeftJobInput         *text;
  WeftJobInput         *runs;      /* phase 2's aux input: phase 1's outputs end to end */
  WeftSortOptions       opts;
  char                 *locale;    /* backs opts.locale */
  guint                 n_parts;
  guint64               owner;
  WeftSortTaskDoneFunc  done;
  gpointer              user_data;

  int                   phase;     /* 1 or 2 */
  WeftJobKind           merge_kind; /* phase 2's: WEFT_JOB_SORT_MERGE or WEFT_JOB_SORT_BUCKET */
  guint                 pending;   /* jobs of the phase whose callback has not run */
  guint64               job_ids[MAX_PARTS];
  GBytes               *outputs[MAX_PARTS];
  GError               *error;     /* the first failure */
  gboolean              cancelled;
  gint64                start_us;
  WeftSortTaskStats     stats;
};

static void on_job_done (const WeftJobResult *result,
                         gpointer             user_data);

static void
sort_task_free (WeftSortTask *task)
{
  for (guint i = 0; i < task->n_parts; i++)
    g_clear_pointer (&task->outputs[i], g_bytes_unref);
  weft_job_input_unref (task->text);
  weft_job_input_unref (task->runs);
  g_clear_error (&task->error);
  g_free (task->locale);
  g_free (task);
}

static void
submit_phase (WeftSortTask *task,
              int           phase)
{
  task->phase = phase;
  task->pending = task->n_parts;
  for (guint i = 0; i < task->n_parts; i++)
    {
      g_autoptr(GBytes) options = weft_sort_job_options (&task->opts, i, task->n_parts);
      WeftJobSpec spec = {
        .kind = phase == 1 ? WEFT_JOB_SORT_RUN : task->merge_kind,
        .input = task->text,
        .options = options,
        .owner = task->owner,
        .aux = phase == 2 ? task->runs : NULL,
      };

      /* Callbacks run from the context later, never inside submit. */
      task->job_ids[i] = weft_backend_submit (task->backend, &spec, on_job_done, task);
    }
}

static void
finish (WeftSortTask *task)
{
  task->stats.wall_us = g_get_monotonic_time () - task->start_us;
  if (task->stats.run_phase_us > 0)
    task->stats.merge_phase_us = task->stats.wall_us - task->stats.run_phase_us;

  if (task->error == NULL && task->cancelled)
    g_set_error_literal (&task->error, WEFT_ERROR, WEFT_ERROR_CANCELLED, _("Sorting was cancelled"));

  if (task->error != NULL)
    task->done (NULL, task->error, task->user_data);
  else
    {
      WeftSortOutput output = { task->outputs, task->n_parts, 0, &task->stats };

      for (guint i = 0; i < task->n_parts; i++)
        output.length += g_bytes_get_size (task->outputs[i]);
      task->done (&output, NULL, task->user_data);
    }
  sort_task_free (task);
}

/* The merges end every line with a newline; a text that had none at its
 * end must not gain one. O(log n): a look at the text's last byte, and a
 * piece replaced by a view of itself. */
static void
drop_extra_newline (WeftSortTask *task)
{
  size_t len = weft_job_input_get_size (task->text), chunk_len;
  const char *last;

  if (len == 0)
    return;
  last = weft_job_input_get_chunk (task->text, len - 1, &chunk_len);
  if (*last == '\n')
    return;
  for (guint i = task->n_parts; i > 0; i--)
    {
      GBytes *piece = task->outputs[i - 1];
      gsize n;
      const char *data = g_bytes_get_data (piece, &n);

      if (n == 0)
        continue;
      if (data[n - 1] == '\n')
        {
          task->outputs[i - 1] = g_bytes_new_from_bytes (piece, 0, n - 1);
          g_bytes_unref (piece);
        }
      return;
    }
}

static void
on_job_done (const WeftJobResult *result,
             gpointer             user_data)
{
  WeftSortTask *task = user_data;
  guint part = G_MAXUINT;

  for (guint i = 0; i < task->n_parts; i++)
    if (task->job_ids[i] == result->job_id)
      part = i;
  g_assert (part != G_MAXUINT);

  task->stats.n_jobs++;
  task->stats.cpu_user_us += result->stats->cpu_user_us;
  task->stats.cpu_sys_us += result->stats->cpu_sys_us;
  task->stats.ipc_bytes += result->stats->ipc_bytes;
  task->stats.crashes += result->stats->crashes;

  if (result->error != NULL)
    {
      if (task->error == NULL && !g_error_matches (result->error, WEFT_ERROR, WEFT_ERROR_CANCELLED))
        {
          task->error = g_error_copy (result->error);
          /* The other jobs' work is lost anyway. */
          for (guint i = 0; i < task->n_parts; i++)
            if (task->job_ids[i] != 0 && task->job_ids[i] != result->job_id)
              weft_backend_cancel (task->backend, task->job_ids[i]);
        }
      else if (!task->cancelled && task->error == NULL)
        task->cancelled = TRUE;
    }
  else
    task->outputs[part] = g_bytes_ref (result->output);
  task->job_ids[part] = G_MAXUINT64;

  if (--task->pending > 0)
    return;

  if (task->error != NULL || task->cancelled || task->phase == 2)
    {
      /* A merge's pieces add up to the text unless duplicates went. */
      if (task->error == NULL && !task->cancelled)
        {
          size_t total = 0;

          drop_extra_newline (task);
          for (guint i = 0; i < task->n_parts; i++)
            total += g_bytes_get_size (task->outputs[i]);
          if (task->opts.unique ? total > weft_job_input_get_size (task->text)
                                : total != weft_job_input_get_size (task->text))
            g_set_error_literal (&task->error, WEFT_ERROR, WEFT_ERROR_FAILED,
                                 _("A worker returned a malformed sort result"));
        }
      finish (task);
      return;
    }

  /* Phase 1 is done: its outputs, end to end, go to every phase-2 job,
   * of the kind the runs' plan calls for (they all chose the same). */
  task->stats.run_phase_us = g_get_monotonic_time () - task->start_us;
  task->merge_kind = weft_sort_job_next_kind (task->outputs[0]);
  for (guint i = 1; i < task->n_parts; i++)
    if (weft_sort_job_next_kind (task->outputs[i]) != task->merge_kind)
      task->merge_kind = 0;
  if (task->merge_kind == 0)
    {
      g_set_error_literal (&task->error, WEFT_ERROR, WEFT_ERROR_FAILED,
                           _("A worker returned a malformed sort result"));
      finish (task);
      return;
    }
  task->runs = weft_job_input_new_pieces (task->outputs, task->n_parts);
  for (guint i = 0; i < task->n_parts; i++)
    g_clear_pointer (&task->outputs[i], g_bytes_unref);
  submit_phase (task, 2);
}

WeftSortTask *
weft_sort_task_start (WeftBackend           *backend,
                      WeftJobInput          *text,
                      const WeftSortOptions *opts,
                      guint                  n_parts,
                      guint64                owner,
                      WeftSortTaskDoneFunc   done,
                      gpointer               user_data)
{
  WeftSortTask *task;

  g_return_val_if_fail (backend != NULL, NULL);
  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (opts != NULL, NULL);
  g_return_val_if_fail (done != NULL, NULL);

  task = g_new0 (WeftSortTask, 1);
  task->backend = backend;
  task->text = weft_job_input_ref (text);
  task->opts = *opts;
  /* A worker process has no locale of its own: name the one meant. */
  if (opts->collation == WEFT_SORT_COLLATION_LOCALE)
    task->locale = g_strdup (opts->locale != NULL ? opts->locale : setlocale (LC_COLLATE, NULL));
  task->opts.locale = task->locale;
  if (n_parts == 0)
    n_parts = weft_backend_get_workers (backend);
  task->n_parts = CLAMP (n_parts, 1, MAX_PARTS);
  task->owner = owner;
  task->done = done;
  task->user_data = user_data;
  task->start_us = g_get_monotonic_time ();

  submit_phase (task, 1);
  return task;
}

void
weft_sort_task_cancel (WeftSortTask *task)
{
  g_return_if_fail (task != NULL);

  if (task->pending == 0)
    return;
  task->cancelled = TRUE;
  for (guint i = 0; i < task->n_parts; i++)
    if (task->job_ids[i] != 0 && task->job_ids[i] != G_MAXUINT64)
      weft_backend_cancel (task->backend, task->job_ids[i]);
}
