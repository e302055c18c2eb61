/* weft-compare.h: the same sort, spell and autosave workloads measured on both backends, for 1 … N workers. */
#pragma once

#include <stddef.h>
#include <glib.h>

#include "weft-job.h"
#include "weft-sort.h"

G_BEGIN_DECLS

/* An atomic bool that C and C++ callers share (see weft-sort.h). */
typedef WeftSortCancelFlag WeftCompareCancelFlag;

typedef enum
{
  WEFT_BACKEND_KIND_THREADS,
  WEFT_BACKEND_KIND_PROCESSES,
  WEFT_N_BACKEND_KINDS,
} WeftBackendKind;

/* "threads" or "processes": the names weft_backend_get_name() and the
 * worker-backend setting use. */
const char *weft_backend_kind_name      (WeftBackendKind  kind);
gboolean    weft_backend_kind_from_name (const char      *name,
                                         WeftBackendKind *out_kind);

typedef enum
{
  WEFT_WORKLOAD_SORT,
  WEFT_WORKLOAD_SPELL,
  WEFT_WORKLOAD_AUTOSAVE,
  WEFT_N_WORKLOADS,
} WeftWorkloadId;

const char *weft_workload_name          (WeftWorkloadId   workload);

/* What one comparison measures. */
typedef struct
{
  guint       backends;        /* mask of 1 << WeftBackendKind */
  guint       workloads;       /* mask of 1 << WeftWorkloadId */
  guint       min_workers;     /* 1 … */
  guint       max_workers;     /* … this many, every count between */
  guint       runs;            /* timed runs per row (the first is not discarded) */
  const char *worker_path;     /* weft-worker, for the processes rows */
  const char *spell_language;  /* e.g. "en_US" */
  const char *scratch_dir;     /* autosave writes its files here; NULL: a new temp dir, removed after */
} WeftCompareConfig;

/* Fills @config with the defaults: both backends, every workload, 1 … 2 ×
 * cores workers, 3 runs, en_US. The paths stay NULL. */
void weft_compare_config_init (WeftCompareConfig *config);

/* One row: a workload on a backend with a number of workers, over @runs
 * runs. The same members as a weft-bench row (bench, backend, workers,
 * input_bytes, runs, median/min/max/p99/mean ms), plus the costs, each the
 * mean over the runs of one run's total. A row that could not be measured
 * has available FALSE, a note saying why, and zeros. */
typedef struct
{
  WeftWorkloadId  workload;
  WeftBackendKind backend;
  guint           workers;
  size_t          input_bytes;
  guint           runs;
  gboolean        available;
  char           *note;               /* NULL when available */
  double          median_ms;
  double          min_ms;
  double          max_ms;
  double          p99_ms;
  double          mean_ms;
  guint64         jobs;               /* jobs per run */
  double          cpu_user_ms;
  double          cpu_sys_ms;
  double          voluntary_switches;
  double          involuntary_switches;
  double          ipc_bytes;
} WeftCompareRow;

/* Called on the comparison's thread after each timed run: @done of @total
 * runs are over. */
typedef void (*WeftCompareProgressFunc) (guint    done,
                                         guint    total,
                                         gpointer user_data);

/* Runs the comparison on the calling thread (never the main thread: it
 * takes seconds to minutes) over the text of @input, which it flattens
 * once. Backends are created for each run and shut down after it, with a
 * private GMainContext, so that nothing else's jobs mix in. Returns the rows
 * (GArray of WeftCompareRow, free with weft_compare_rows_free()), in the
 * order workload, backend, workers. Fails with WEFT_ERROR_CANCELLED once
 * @cancel (nullable) reads TRUE, promptly, or when the scratch directory
 * cannot be made. A workload that cannot run (no dictionary, the worker
 * does not start) gives unavailable rows, not an error. */
GArray *weft_compare_run       (const WeftCompareConfig *config,
                                WeftJobInput            *input,
                                WeftCompareProgressFunc  progress,
                                gpointer                 progress_data,
                                const WeftCompareCancelFlag *cancel,
                                GError                 **error);
void    weft_compare_rows_free (GArray                  *rows);

/* JSON Lines, one object per row, with weft-bench's row members and
 * cpu_user_ms, cpu_sys_ms, voluntary_switches, involuntary_switches,
 * ipc_bytes, jobs, available and note; an unavailable row has null numbers. */
char   *weft_compare_rows_to_jsonl (GArray *rows);
/* The same as CSV with a header line; unavailable numbers are empty. */
char   *weft_compare_rows_to_csv   (GArray *rows);

/* Amdahl's law: the speedup of @workers workers when a fraction @parallel
 * of the work spreads over them and the rest does not. */
double  weft_compare_amdahl         (double        parallel,
                                     double        workers);
/* The parallel fraction (0 … 1) whose Amdahl curve best fits (least
 * squares) the measured @speedups at @workers, @n points. */
double  weft_compare_fit_amdahl     (const double *workers,
                                     const double *speedups,
                                     size_t        n);

/* A deterministic text of @n_lines lines of 63 bytes (62 of words, mostly
 * ASCII with some 2- and 3-byte UTF-8, then '\n'), the same on every
 * machine: 1,000,000 lines are the 63 MB reference document. NUL-terminated;
 * free with g_free(). */
char   *weft_compare_make_lines     (size_t        n_lines,
                                     size_t       *out_len);

G_END_DECLS
