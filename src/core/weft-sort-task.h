/* weft-sort-task.h: one sort as jobs on a WeftBackend: runs in parallel, then key ranges or merges in parallel. */
#pragma once

#include <glib.h>

#include "weft-backend.h"
#include "weft-sort.h"

G_BEGIN_DECLS

/* A sort of one text on one backend, threads or processes alike:
 *
 *   phase 1: @n_parts WEFT_JOB_SORT_RUN jobs, one per run of whole lines
 *            (about len / n_parts bytes). All sample the text alike and
 *            choose the plan: when key prefixes spread evenly, each lists
 *            its run's lines by key range (u32 offsets); otherwise (numeric
 *            mode, a dominant prefix) each sorts its run into a permutation
 *            of its lines (u32 line numbers);
 *   phase 2: @n_parts jobs, each given the text and all of phase 1's
 *            outputs: WEFT_JOB_SORT_BUCKET sorts one key range's lines,
 *            WEFT_JOB_SORT_MERGE merges the runs' lines between two
 *            splitters; either returns one piece of the sorted text.
 *
 * On the threads backend the jobs share the text and the permutations in
 * memory; on the processes backend each worker maps the text's one sealed
 * memfd, and the permutations and pieces come back through memfds too.
 * The output is byte-identical to weft_sort_parallel()'s for the same
 * options (see weft-sort.h for how that relates to GNU sort).
 *
 * Threading: start, cancel and the done callback all happen on the thread
 * that iterates the backend's GMainContext (the main thread in the
 * application); no call blocks and none does work that grows with the
 * text. */
typedef struct _WeftSortTask WeftSortTask;

/* What a sort cost, for the stats panel. Times in microseconds. */
typedef struct
{
  gint64  wall_us;         /* start -> done */
  gint64  run_phase_us;    /* start -> the last run sorted */
  gint64  merge_phase_us;  /* the last run sorted -> done */
  gint64  cpu_user_us;     /* summed over the jobs (the workers' own figures for processes) */
  gint64  cpu_sys_us;
  guint64 ipc_bytes;       /* 0 on threads */
  guint   n_jobs;
  guint   crashes;         /* worker deaths survived by retrying a job */
} WeftSortTaskStats;

/* The sorted text, as @n_pieces blocks to be laid end to end (@length bytes
 * in all). Borrowed for the callback's duration: g_bytes_ref() a piece to
 * keep it. On the processes backend a piece maps a memfd: drop it off the
 * main thread when it is large (freeing 30 MB takes milliseconds). */
typedef struct
{
  GBytes * const          *pieces;
  guint                    n_pieces;
  size_t                   length;
  const WeftSortTaskStats *stats;
} WeftSortOutput;

/* Called once, on the backend's context: with @output and no @error, or
 * with @error (WEFT_ERROR_CANCELLED after weft_sort_task_cancel(); the
 * job's own error, e.g. WEFT_ERROR_WORKER_CRASHED when a worker died twice
 * running the same job, never a partial or wrong output) and a NULL
 * @output. The task is freed when the callback returns. */
typedef void (*WeftSortTaskDoneFunc) (const WeftSortOutput *output,
                                      const GError         *error,
                                      gpointer              user_data);

/* Starts sorting @text (taking a reference; any WeftJobInput, e.g. a
 * snapshot's) with @opts (copied; LOCALE mode with a NULL locale means
 * this process's LC_COLLATE, resolved here so that worker processes use
 * the same) in @n_parts runs (0: the backend's worker count; at most 64).
 * Jobs carry @owner, so weft_backend_cancel_owner() reaches them too.
 * @backend must outlive the task; shutting it down fails the task. Returns
 * the task, valid until @done has returned. */
WeftSortTask *weft_sort_task_start  (WeftBackend           *backend,
                                     WeftJobInput          *text,
                                     const WeftSortOptions *opts,
                                     guint                  n_parts,
                                     guint64                owner,
                                     WeftSortTaskDoneFunc   done,
                                     gpointer               user_data);
/* Cancels the unfinished jobs; @done then reports WEFT_ERROR_CANCELLED
 * (promptly: running jobs poll their flag every few thousand lines). */
void          weft_sort_task_cancel (WeftSortTask          *task);

G_END_DECLS
