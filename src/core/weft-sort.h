/* weft-sort.h: sorting the lines of a text, byte-identical to GNU sort, in runs sorted and merged in parallel. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

/* The cancel flag: C's atomic_bool, which GCC and Clang lay out as C++'s
 * std::atomic<bool>, so C++ callers (the tests) pass one of those. */
#ifdef __cplusplus
extern "C++" {
#include <atomic>
}
typedef std::atomic<bool> WeftSortCancelFlag;
#else
#include <stdatomic.h>
typedef atomic_bool WeftSortCancelFlag;
#endif

G_BEGIN_DECLS

/* A job's cancellation callback (the same signature as WeftJobCancelFunc):
 * returns TRUE once the sort should stop. */
typedef gboolean (*WeftSortCancelFunc) (gpointer data);

/* What the sort compares, and how the result relates to GNU sort.
 *
 * Lines are split on '\n' only; a '\r' before it (CRLF text) is part of the
 * line, as in GNU sort. A text that does not end in '\n' has a last line
 * all the same. The sorted text keeps the input's final-newline state: if
 * the input ended without '\n', so does the output (GNU sort always adds
 * one; that is the only difference from its output).
 *
 * With every field zero the order is `LC_ALL=C sort`. Each option maps onto
 * a GNU sort flag, and the output equals GNU sort's with those flags:
 *
 *   collation  BYTES: as under LC_ALL=C, whatever this process's locale.
 *              LOCALE: strcoll() order of @locale (NULL: the process's
 *              locale when the index is created), as `sort` under that
 *              locale; -f and -n then also use its LC_CTYPE / LC_NUMERIC.
 *   ignore_case  -f: bytes are folded with toupper() before comparing
 *              (ASCII only in BYTES mode).
 *   numeric    -n: the key's leading number (blanks, optional '-', digits,
 *              optional decimal point and digits; thousands separators
 *              only where the locale has one, never in BYTES mode); a key
 *              without a number counts as 0.
 *   reverse    -r.
 *   unique     -u: of lines whose keys compare equal, only the first in
 *              input order is kept.
 *   stable     -s: no last-resort comparison (see below).
 *   column     -k N (0 and 1 both mean the whole line): the key runs from
 *              the start of field N to the end of the line. Fields are as
 *              GNU sort splits them without -t: a field is a run of blanks
 *              (space, tab) followed by a run of non-blanks, so the blanks
 *              before a field belong to it and are compared too.
 *
 * The last resort. When the options define a key (ignore_case, numeric or
 * column > 1) and two lines' keys are equal, GNU sort compares the whole
 * lines (bytes, or strcoll() in LOCALE mode; reversed with -r) unless -s
 * or -u is given. Without a key the whole line is the key and there is no
 * further comparison: in LOCALE mode, lines strcoll() finds equal but whose
 * bytes differ stay in input order (coreutils 9 does not compare bytes as a
 * last resort). The sort itself is always stable: lines that compare equal
 * on everything above keep their input order, which is what GNU sort
 * outputs too. */
typedef enum
{
  WEFT_SORT_COLLATION_BYTES,
  WEFT_SORT_COLLATION_LOCALE,
} WeftSortCollation;

typedef struct
{
  WeftSortCollation collation;
  const char       *locale;       /* LOCALE mode: locale name; NULL: current */
  gboolean          ignore_case;  /* -f */
  gboolean          numeric;      /* -n */
  gboolean          reverse;      /* -r */
  gboolean          unique;       /* -u */
  gboolean          stable;       /* -s */
  guint             column;       /* -k N; 0 or 1: whole line */
} WeftSortOptions;

/* Layer 1: the pieces, each a pure function of its inputs, so that a
 * backend can run them as jobs (in threads or, given the same text, in
 * worker processes).
 *
 * A WeftSortIndex is the line table of one text plus each line's sort key.
 * It borrows @text, which must stay unchanged until the index is freed.
 * weft_sort_index_prepare_keys() may run on disjoint line ranges from
 * several threads at once; everything else only reads the index, so after
 * the keys are prepared (and that is made visible, e.g. by joining the
 * threads) any number of threads may sort, merge and write concurrently. */
typedef struct _WeftSortIndex WeftSortIndex;

/* Splits @text into lines (sequential, O(@len)). To sort a byte range of
 * a larger text (a selection), pass its start and length: the range is the
 * text as far as sorting goes, and the result replaces exactly it. Fails with
 * WEFT_ERROR_TOO_LARGE beyond 2^32 - 1 lines, WEFT_ERROR_FAILED for an
 * unknown locale. */
WeftSortIndex *weft_sort_index_new          (const char                *text,
                                             size_t                     len,
                                             const WeftSortOptions     *opts,
                                             GError                   **error);
void           weft_sort_index_free         (WeftSortIndex             *index);
size_t         weft_sort_index_get_n_lines  (const WeftSortIndex       *index);
/* Whether the text ends in '\n' (or is empty). */
gboolean       weft_sort_index_get_final_newline (const WeftSortIndex       *index);

/* Computes the keys of lines [@first_line, @first_line + @n_lines): key
 * offsets, cached prefixes and, in LOCALE mode, primary collation weights
 * from strxfrm(). Every line
 * must be prepared once before it is sorted. @cancel may be NULL. Fails
 * only with WEFT_ERROR_CANCELLED. */
gboolean       weft_sort_index_prepare_keys (WeftSortIndex             *index,
                                             size_t                     first_line,
                                             size_t                     n_lines,
                                             const WeftSortCancelFlag  *cancel,
                                             GError                   **error);

/* Sorts lines [@first_line, @first_line + @n_lines) into @out_perm (@n_lines
 * line numbers, in the sort order). @out_lcp (may be NULL) receives for
 * each position the number of key bytes its line shares with the line
 * before it (0 for the first), which lets merges skip those bytes. Fails
 * only with WEFT_ERROR_CANCELLED. */
gboolean       weft_sort_run                (const WeftSortIndex       *index,
                                             size_t                     first_line,
                                             size_t                     n_lines,
                                             guint32                   *out_perm,
                                             guint32                   *out_lcp,
                                             const WeftSortCancelFlag  *cancel,
                                             GError                   **error);

/* weft_sort_run() for @n_lines arbitrary lines, listed in input order in
 * @lines (their input order is what equal lines keep). */
gboolean       weft_sort_run_lines          (const WeftSortIndex       *index,
                                             const guint32             *lines,
                                             size_t                     n_lines,
                                             guint32                   *out_perm,
                                             guint32                   *out_lcp,
                                             const WeftSortCancelFlag  *cancel,
                                             GError                   **error);

/* Runs by key range (not in numeric mode): @n_buckets - 1 splitters from a
 * sample of the prepared cached prefixes, then each line's bucket. Every
 * line of bucket b sorts before every line of bucket b + 1, so runs made
 * of whole buckets (lines in input order) sorted with
 * weft_sort_run_lines() and laid end to end are the sorted text, with no
 * merge. Lines sharing a prefix share a bucket: with few distinct
 * prefixes the buckets are unbalanced, and runs by position plus merges
 * are the better plan. */
void           weft_sort_choose_splitters   (const WeftSortIndex       *index,
                                             guint                      n_buckets,
                                             guint64                   *out_splitters);
guint          weft_sort_bucket_of          (const WeftSortIndex       *index,
                                             guint32                    line,
                                             const guint64             *splitters,
                                             guint                      n_buckets);

/* Co-ranking for a parallel merge of the sorted runs @a and @b: how many of
 * the first @out_pos merged elements come from @a. The order is total, so
 * the slices [co-rank(p), co-rank(q)) of several threads never overlap. */
size_t         weft_sort_merge_corank       (const WeftSortIndex       *index,
                                             const guint32             *a,
                                             size_t                     n_a,
                                             const guint32             *b,
                                             size_t                     n_b,
                                             size_t                     out_pos);

/* Writes merged elements [@out_begin, @out_end) of @a and @b to
 * @out[0 .. @out_end - @out_begin). With the runs' LCP arrays (@a_lcp and
 * @b_lcp, as weft_sort_run() or an earlier merge produced them) the merge
 * reads far less text, and @out_lcp (may be NULL; needs both) receives the
 * merged LCPs for the next round. Without them, plain comparisons. */
void           weft_sort_merge_slice        (const WeftSortIndex       *index,
                                             const guint32             *a,
                                             const guint32             *a_lcp,
                                             size_t                     n_a,
                                             const guint32             *b,
                                             const guint32             *b_lcp,
                                             size_t                     n_b,
                                             size_t                     out_begin,
                                             size_t                     out_end,
                                             guint32                   *out,
                                             guint32                   *out_lcp);

/* For unique mode: whether @line must be dropped as a duplicate of @prev,
 * the line before it in the sorted order. */
gboolean       weft_sort_is_duplicate       (const WeftSortIndex       *index,
                                             guint32                    prev,
                                             guint32                    line);

/* Drops duplicates (unique mode) from the fully sorted @perm in place;
 * returns the new length. Sequential. */
size_t         weft_sort_unique             (const WeftSortIndex       *index,
                                             guint32                   *perm,
                                             size_t                     n_perm);

/* Bytes that positions [@first, @first + @count) of the sorted @perm
 * (@n_perm lines in all) take in the output, and writing them to @out. Only
 * the line at position @n_perm - 1 lacks its '\n', and only when the text
 * had no final newline. */
size_t         weft_sort_output_length      (const WeftSortIndex       *index,
                                             const guint32             *perm,
                                             size_t                     n_perm,
                                             size_t                     first,
                                             size_t                     count);
void           weft_sort_output_write       (const WeftSortIndex       *index,
                                             const guint32             *perm,
                                             size_t                     n_perm,
                                             size_t                     first,
                                             size_t                     count,
                                             char                      *out);

/* Layer 2: the whole sort on the caller's thread plus @n_threads - 1
 * pthreads (@n_threads 0 means the number of cores): keys in parallel,
 * then runs by key range sorted in parallel when the prefixes spread the
 * lines evenly enough, else runs by position sorted in parallel and merged
 * in parallel rounds (each round's output cut into one co-ranked slice per
 * thread). @cancel (may be NULL) is polled every few thousand
 * lines; once it reads true the call returns WEFT_ERROR_CANCELLED. */
typedef struct _WeftSortResult WeftSortResult;

WeftSortResult *weft_sort_parallel          (const char                *text,
                                             size_t                     len,
                                             const WeftSortOptions     *opts,
                                             guint                      n_threads,
                                             const WeftSortCancelFlag  *cancel,
                                             GError                   **error);
void            weft_sort_result_free       (WeftSortResult            *result);
const WeftSortIndex *weft_sort_result_get_index (const WeftSortResult      *result);
/* The sorted line numbers (after unique mode's removals). */
const guint32  *weft_sort_result_get_permutation (const WeftSortResult      *result,
                                                  size_t                    *out_n);
/* Length of the sorted text; equal to the input's without unique mode. */
size_t          weft_sort_result_get_text_length (const WeftSortResult      *result);
/* Materialises the sorted text into @out (get_text_length() bytes, not
 * NUL-terminated) using @n_threads threads (0: cores). */
void            weft_sort_result_write_text (const WeftSortResult      *result,
                                             char                      *out,
                                             guint                      n_threads);

/* Layer 3: the two job kinds a sort on a WeftBackend is made of
 * (weft-sort-task.h drives them; weft-job.c runs them, in a thread or a
 * worker process alike). The text is cut into @n_parts runs of whole
 * lines at even byte offsets (weft_sort_job_run_start()).
 *
 * WEFT_JOB_SORT_RUN, part k: every run job first samples the whole text
 * alike and picks one of two plans, which its output announces in its
 * first u32 (all u32 in host order, both ends being the same build):
 *
 *   buckets (2), when key prefixes spread the lines evenly (not in numeric
 *   mode): n_parts - 1 splitters cut the key space into one bucket per
 *   part; the output lists run k's lines by bucket: u32 plan, line count,
 *   n_parts, then each bucket's count, then the lines' byte offsets in the
 *   run, bucket by bucket, in input order. Every line of bucket b sorts
 *   before every line of bucket b + 1, so nothing needs merging.
 *
 *   merge (1), otherwise: run k sorted alone, as u32 plan, line count,
 *   entries, then the entries: the run's own line numbers, 0-based, in
 *   sorted order. In unique mode the run's own duplicates are already gone.
 *
 * WEFT_JOB_SORT_BUCKET, part k (after the buckets plan): given the text and
 * every run's output laid end to end (the job's second input), gathers
 * bucket k's lines and returns their sorted text, every line with its
 * newline (see below).
 *
 * WEFT_JOB_SORT_MERGE, part k: given the text and every run's output laid
 * end to end (the job's second input), takes the lines between splitters
 * k - 1 and k (chosen alike by every part from samples of the runs), merges
 * them and returns their sorted text, every line with its newline. The
 * parts' texts laid end to end are the sorted text, except that a text
 * without a final newline gets one: the caller drops it. It checks the runs first: a permutation that does not
 * fit the text fails the job (WEFT_ERROR_FAILED), it never picks wrong
 * lines.
 *
 * Both kinds fail with WEFT_ERROR_CANCELLED once @is_cancelled says so. */
GBytes        *weft_sort_job_options        (const WeftSortOptions     *opts,
                                             guint                      part,
                                             guint                      n_parts);
/* Checks every field; *out_locale (freed with g_free()) backs
 * out_opts->locale. */
gboolean       weft_sort_job_options_parse  (GBytes                    *options,
                                             WeftSortOptions           *out_opts,
                                             char                     **out_locale,
                                             guint                     *out_part,
                                             guint                     *out_n_parts,
                                             GError                   **error);
gboolean       weft_sort_job_sort_bucket    (const char                *text,
                                             size_t                     len,
                                             const void                *runs_data,
                                             size_t                     runs_len,
                                             GBytes                    *options,
                                             WeftSortCancelFunc         is_cancelled,
                                             gpointer                   cancel_data,
                                             GBytes                   **out_result,
                                             GError                   **error);
/* Which phase-2 kind follows a run job's @output: WEFT_JOB_SORT_MERGE (5)
 * or WEFT_JOB_SORT_BUCKET (6); 0 for an output that names no plan. */
guint          weft_sort_job_next_kind      (GBytes                    *run_output);
/* Where run @part of @n_parts starts: 0 for the first, @len for
 * @part == @n_parts, else the first line start at or after the even cut. */
size_t         weft_sort_job_run_start      (const char                *text,
                                             size_t                     len,
                                             guint                      part,
                                             guint                      n_parts);
gboolean       weft_sort_job_sort_run       (const char                *text,
                                             size_t                     len,
                                             GBytes                    *options,
                                             WeftSortCancelFunc         is_cancelled,
                                             gpointer                   cancel_data,
                                             GBytes                   **out_result,
                                             GError                   **error);
gboolean       weft_sort_job_merge          (const char                *text,
                                             size_t                     len,
                                             const void                *runs_data,
                                             size_t                     runs_len,
                                             GBytes                    *options,
                                             WeftSortCancelFunc         is_cancelled,
                                             gpointer                   cancel_data,
                                             GBytes                   **out_result,
                                             GError                   **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftSortIndex, weft_sort_index_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftSortResult, weft_sort_result_free)

G_END_DECLS
