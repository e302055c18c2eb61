/* bench-common.h: what every weft-bench subcommand shares: options, timing, statistics, inputs and output rows. */
#pragma once

#include <stddef.h>
#include <glib.h>

G_BEGIN_DECLS

/* Options every subcommand accepts, so that scripts can pass the same ones
 * to all of them; a subcommand ignores those that mean nothing to it (and
 * reports backend "none" and workers 0 in its rows). */
typedef struct
{
  gboolean json;     /* --json: JSON Lines instead of a table */
  gboolean check;    /* --check: exit status 1 when a bar is missed */
  int      runs;     /* --runs N; 0 means the subcommand's default */
  char    *backend;  /* --backend threads|processes|both; NULL: subcommand default */
  int      workers;  /* --workers N; 0 means the number of cores */
  char    *input;    /* --input FILE instead of generated text; NULL: generate */
} WeftBenchOptions;

/* Parses the common options plus @extra (may be NULL) for @subcommand, whose
 * arguments are @argc / @argv with argv[0] the subcommand's name. */
gboolean weft_bench_parse_options (const char         *subcommand,
                                   const char         *summary,
                                   int                 argc,
                                   char              **argv,
                                   const GOptionEntry *extra,
                                   WeftBenchOptions   *opts,
                                   GError            **error);
void     weft_bench_options_clear (WeftBenchOptions   *opts);

/* CLOCK_MONOTONIC in nanoseconds. Samples are differences of these, kept
 * in integers until then so that sub-microsecond rows stay exact. */
gint64   weft_bench_now_ns        (void);
double   weft_bench_elapsed_ms    (gint64 start_ns,
                                   gint64 end_ns);

/* One output row. The JSON Lines schema, shared by every subcommand:
 *   bench        what was measured (e.g. "snapshot", "type+snapshot")
 *   backend      "threads", "processes", "none" when no worker is involved,
 *                or a peer tool's name for a comparison row
 *   workers      number of workers (0 when none)
 *   input_bytes  size of the input document or payload
 *   runs         number of timed samples
 *   median_ms, min_ms, max_ms, p99_ms, mean_ms   over those samples
 * plus any members a subcommand adds through extra_json. */
typedef struct
{
  const char *bench;
  const char *backend;
  int         workers;
  size_t      input_bytes;
  size_t      runs;
  double      median_ms;
  double      min_ms;
  double      max_ms;
  double      p99_ms;
  double      mean_ms;
  const char *extra_json;  /* optional: further `"key": value` members, comma-separated */
} WeftBenchRow;

/* Fills the statistics of @row from @n samples (sorted in place). */
void     weft_bench_row_set_samples (WeftBenchRow *row,
                                     double       *samples_ms,
                                     size_t        n);

void     weft_bench_print_header  (const WeftBenchOptions *opts);
void     weft_bench_print_row     (const WeftBenchOptions *opts,
                                   const WeftBenchRow     *row);
/* A free-form line for the table; nothing in JSON mode (stdout stays pure JSON
 * Lines), where it goes to stderr instead. */
void     weft_bench_print_note    (const WeftBenchOptions *opts,
                                   const char             *format,
                                   ...) G_GNUC_PRINTF (2, 3);

/* A deterministic document of @n_lines lines of exactly 63 bytes each (62 of
 * text, mostly ASCII words with some 2- and 3-byte UTF-8, then '\n'), the
 * same on every machine: 1,000,000 lines make the 63 MB reference input.
 * NUL-terminated; free with g_free(). */
char    *weft_bench_make_lines    (size_t  n_lines,
                                   size_t *out_len);

/* The weft-worker to run: $WEFT_WORKER_PATH, else the build tree's, else the
 * installed one. Free with g_free(). */
char    *weft_bench_worker_path   (void);
/* The spell bench's generated prose (fixed seed), about @target_bytes long. */
char    *weft_bench_make_prose    (size_t   target_bytes,
                                   size_t  *out_len,
                                   GError **error);

/* Subcommands: each takes the arguments after "weft-bench" (argv[0] is the
 * subcommand's name) and returns the process exit status. */
int      weft_bench_snapshot      (int    argc,
                                   char **argv);
int      weft_bench_roundtrip     (int    argc,
                                   char **argv);
int      weft_bench_sort          (int    argc,
                                   char **argv);
int      weft_bench_spell         (int    argc,
                                   char **argv);
int      weft_bench_save          (int    argc,
                                   char **argv);

G_END_DECLS
