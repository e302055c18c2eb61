/* weft-job.h: what a job is and the code that computes it, shared by every backend. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "weft-error.h"
#include "weft-text.h"

G_BEGIN_DECLS

/* The values cross the IPC boundary, so they are fixed. Real work gets the
 * numbers below 64 (SAVE 3, SORT 4 to 7, SPELL 8 to 11); test-only kinds
 * start at 64, out of their way. A new kind is added here, in
 * weft_job_kind_is_valid() (which the IPC decoder consults) and in
 * weft_job_run(). */
typedef enum
{
  WEFT_JOB_BENCH = 1,            /* FNV-1a hash of the input, repeated; see weft_job_bench_options() */
  WEFT_JOB_ECHO = 2,             /* returns the input unchanged */
  WEFT_JOB_SAVE = 3,             /* writes the input to a file atomically; see weft_job_save_options() */
  WEFT_JOB_SORT_RUN = 4,         /* sorts one run of lines; see weft-sort.h, layer 3 */
  WEFT_JOB_SORT_MERGE = 5,       /* merges one part of the sorted runs (the job's aux input) */
  WEFT_JOB_SORT_BUCKET = 6,      /* sorts one key range of the runs' lines (the job's aux input) */
  WEFT_JOB_SPELL_CHECK = 8,      /* misspelled ranges of whole lines; see weft-spell-job.h */
  WEFT_JOB_SPELL_SUGGEST = 9,    /* corrections for one word; see weft-spell-job.h */
  WEFT_JOB_TEST_CRASH = 64,      /* abort()s: only ever run in a worker process */
  WEFT_JOB_TEST_OPEN_PATH = 65,  /* tries to open the path given as options; returns the errno */
  WEFT_JOB_TEST_HANG = 66,       /* never returns and ignores cancellation: worker processes only */
} WeftJobKind;

gboolean    weft_job_kind_is_valid      (guint32     kind);
const char *weft_job_kind_name          (WeftJobKind kind);
/* TRUE for the test kinds that only a disposable worker process may run. */
gboolean    weft_job_kind_needs_process (WeftJobKind kind);
/* TRUE for kinds whose result can be larger than a message carries: a
 * worker process writes it into a memfd its parent lends it. */
gboolean    weft_job_kind_has_large_output (WeftJobKind kind);

/* A job's input: immutable bytes that any thread may read, reached chunk by
 * chunk so that a rope snapshot can provide them without flattening. GBytes is
 * the first implementation and a text snapshot the second. Reference
 * counted with atomics; implementations embed the struct defined in
 * weft-job-private.h. */
typedef struct _WeftJobInput WeftJobInput;

typedef struct
{
  size_t      (*get_size)  (WeftJobInput *input);
  /* Returns the longest contiguous run of bytes starting at @byte_off
   * (< size) and its length in *out_len (> 0). */
  const void *(*get_chunk) (WeftJobInput *input,
                            size_t        byte_off,
                            size_t       *out_len);
  /* Frees the input; may run on any thread. */
  void        (*finalize)  (WeftJobInput *input);
} WeftJobInputClass;

WeftJobInput *weft_job_input_new_bytes  (GBytes                  *bytes);
/* Wraps memory that the caller keeps alive and unchanged for the input's life
 * (the worker's mapping of a sealed memfd). */
WeftJobInput *weft_job_input_new_static (const void              *data,
                                         size_t                   len);
/* Reads the text of @snap (taking a reference) chunk by chunk, without
 * flattening it. O(1); each chunk lookup is O(log n). */
WeftJobInput *weft_job_input_new_snapshot (WeftSnapshot          *snap);
/* The same for the @len bytes of @snap from @byte_off (a selection). */
WeftJobInput *weft_job_input_new_snapshot_range (WeftSnapshot    *snap,
                                                 size_t           byte_off,
                                                 size_t           len);
/* Concatenates @n_pieces byte blocks (taking references), without
 * copying them: each piece is one chunk. */
WeftJobInput *weft_job_input_new_pieces (GBytes * const          *pieces,
                                         guint                    n_pieces);
WeftJobInput *weft_job_input_ref        (WeftJobInput            *input);
void          weft_job_input_unref      (WeftJobInput            *input);
size_t        weft_job_input_get_size   (WeftJobInput            *input);
const void   *weft_job_input_get_chunk  (WeftJobInput            *input,
                                         size_t                   byte_off,
                                         size_t                  *out_len);
/* The whole input as one contiguous block, valid as long as @input. An
 * input made of several chunks is copied once, by the first caller (the
 * others wait for it; a large input is copied by a thread per core), and
 * the copy is shared by every job reading the input: K sort jobs over one
 * snapshot flatten it once. Any thread. */
const char   *weft_job_input_get_flat   (WeftJobInput            *input);
/* Copies @len bytes starting at @byte_off into @dest; the range must lie
 * within the input. */
void          weft_job_input_copy       (WeftJobInput            *input,
                                         size_t                   byte_off,
                                         void                    *dest,
                                         size_t                   len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftJobInput, weft_job_input_unref)

/* Options of WEFT_JOB_BENCH: the input is hashed (FNV-1a 64) @rounds times,
 * each round seeded with the previous hash, so that the CPU cost per byte can
 * be dialled up; no options means one round. @rounds 0 hashes only the first
 * byte of every 4 KiB page: a round trip then measures moving the input to the
 * worker rather than computing on it. The result is the hash, little-endian. */
#define WEFT_JOB_BENCH_PAGE 4096
GBytes  *weft_job_bench_options (guint32     rounds);
guint64  weft_job_fnv1a         (guint64     seed,
                                 const void *data,
                                 size_t      len);

/* Options of WEFT_JOB_SAVE: the absolute @path to replace and the mode a
 * file that does not exist yet is created with (before the umask), e.g.
 * 0600 for a private draft or 0666 for a document; an existing file keeps its
 * own mode. Encoded as mode (u32 LE), path length (u32 LE) and the path
 * bytes, no terminator. The job writes its input with
 * weft_file_write_atomic_full()'s guarantees and returns an empty result;
 * its errors are weft-file.c's ("Could not save “name”: …"). A SAVE
 * cancelled before its rename leaves the target untouched. */
#define WEFT_JOB_SAVE_MAX_PATH 4096
GBytes   *weft_job_save_options       (const char    *path,
                                       guint32        new_file_mode);
/* Checks every field: length, mode (at most 07777), an absolute path of at
 * most WEFT_JOB_SAVE_MAX_PATH bytes without NUL. *out_path is freed with
 * g_free(). */
gboolean  weft_job_save_options_parse (GBytes        *options,
                                       char         **out_path,
                                       guint32       *out_new_file_mode,
                                       GError       **error);

/* Polled by long jobs between chunks; returns TRUE once the job should stop. */
typedef gboolean (*WeftJobCancelFunc) (gpointer cancel_data);

/* Runs one job in the calling thread. The same function serves the threads
 * backend and the worker process, so both compute identical results. On
 * success *out_result holds the result (never NULL; possibly empty). Fails with
 * WEFT_ERROR_CANCELLED when @is_cancelled said so, or with the job's own error
 * (bad options: WEFT_ERROR_FAILED). @is_cancelled may be NULL.
 * WEFT_JOB_TEST_CRASH aborts the calling process and WEFT_JOB_TEST_HANG never
 * returns: callers that share their process with the application must refuse
 * both (weft_job_kind_needs_process()). */
gboolean weft_job_run (WeftJobKind        kind,
                       WeftJobInput      *input,
                       GBytes            *options,
                       WeftJobCancelFunc  is_cancelled,
                       gpointer           cancel_data,
                       GBytes           **out_result,
                       GError           **error);
/* weft_job_run() with a job's second input, @aux (nullable): what a
 * WEFT_JOB_SORT_MERGE merges. */
gboolean weft_job_run_full (WeftJobKind        kind,
                            WeftJobInput      *input,
                            WeftJobInput      *aux,
                            GBytes            *options,
                            WeftJobCancelFunc  is_cancelled,
                            gpointer           cancel_data,
                            GBytes           **out_result,
                            GError           **error);

/* The part of a SAVE that runs where files cannot be opened (a sandboxed
 * worker): moves the input, @input_len bytes streamed through the pipe
 * @input_fd (-1 when empty), into @fd, a temp file the caller created with
 * weft_file_temp_new(), and fsyncs it. The caller then commits or
 * aborts. @options are checked as for any SAVE; the path only names the file
 * in messages. */
gboolean weft_job_run_save_to_fd (int                 input_fd,
                                  size_t              input_len,
                                  GBytes             *options,
                                  int                 fd,
                                  WeftJobCancelFunc   is_cancelled,
                                  gpointer            cancel_data,
                                  GBytes            **out_result,
                                  GError            **error);

/* g_free(), on a release thread when @size is a megabyte or more:
 * unmapping 69 MB took 22 ms of the main thread. */
void weft_free_aside (gpointer mem,
                      size_t   size);

G_END_DECLS
