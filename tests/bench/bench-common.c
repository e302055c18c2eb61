/* bench-common.c: options, timing, statistics, deterministic inputs and table/JSON output for weft-bench. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench-common.h"
#include "weft-compare.h"

gboolean
weft_bench_parse_options (const char         *subcommand,
                          const char         *summary,
                          int                 argc,
                          char              **argv,
                          const GOptionEntry *extra,
                          WeftBenchOptions   *opts,
                          GError            **error)
{
  const GOptionEntry common[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &opts->json, "Print JSON Lines, one object per row", NULL },
    { "check", 0, 0, G_OPTION_ARG_NONE, &opts->check, "Exit with status 1 when a bar is missed", NULL },
    { "runs", 0, 0, G_OPTION_ARG_INT, &opts->runs, "Number of timed samples per row", "N" },
    { "backend", 0, 0, G_OPTION_ARG_STRING, &opts->backend, "Worker backend", "threads|processes|both" },
    { "workers", 0, 0, G_OPTION_ARG_INT, &opts->workers, "Number of workers (default: cores)", "N" },
    { "input", 0, 0, G_OPTION_ARG_FILENAME, &opts->input, "Use FILE instead of generated text", "FILE" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = NULL;
  g_autofree char *parameter = g_strdup_printf ("%s - %s", subcommand, summary);

  memset (opts, 0, sizeof *opts);

  context = g_option_context_new (parameter);
  g_option_context_add_main_entries (context, common, NULL);
  if (extra != NULL)
    g_option_context_add_main_entries (context, extra, NULL);

  if (!g_option_context_parse (context, &argc, &argv, error))
    return FALSE;

  if (argc > 1)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "unexpected argument “%s”", argv[1]);
      return FALSE;
    }
  if (opts->runs < 0 || opts->workers < 0)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--runs and --workers must not be negative");
      return FALSE;
    }

  return TRUE;
}

void
weft_bench_options_clear (WeftBenchOptions *opts)
{
  g_clear_pointer (&opts->backend, g_free);
  g_clear_pointer (&opts->input, g_free);
}

gint64
weft_bench_now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

double
weft_bench_elapsed_ms (gint64 start_ns,
                       gint64 end_ns)
{
  return (double) (end_ns - start_ns) / 1e6;
}

static int
compare_doubles (const void *a,
                 const void *b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return (x > y) - (x < y);
}

void
weft_bench_row_set_samples (WeftBenchRow *row,
                            double       *samples_ms,
                            size_t        n)
{
  double sum = 0;

  g_return_if_fail (n > 0);

  qsort (samples_ms, n, sizeof (double), compare_doubles);
  for (size_t i = 0; i < n; i++)
    sum += samples_ms[i];

  row->runs = n;
  row->min_ms = samples_ms[0];
  row->max_ms = samples_ms[n - 1];
  row->median_ms = n % 2 ? samples_ms[n / 2] : (samples_ms[n / 2 - 1] + samples_ms[n / 2]) / 2;
  row->p99_ms = samples_ms[(size_t) ((double) (n - 1) * 0.99)];
  row->mean_ms = sum / (double) n;
}

static void
print_json_string (const char *s)
{
  putchar ('"');
  for (; *s != '\0'; s++)
    {
      unsigned char c = (unsigned char) *s;

      if (c == '"' || c == '\\')
        printf ("\\%c", c);
      else if (c < 0x20)
        printf ("\\u%04x", c);
      else
        putchar (c);
    }
  putchar ('"');
}

void
weft_bench_print_header (const WeftBenchOptions *opts)
{
  if (opts->json)
    return;

  printf ("%-16s %-10s %7s %12s %8s %12s %12s %12s %12s\n",
          "bench", "backend", "workers", "input_bytes", "runs",
          "median_ms", "min_ms", "p99_ms", "max_ms");
}

void
weft_bench_print_row (const WeftBenchOptions *opts,
                      const WeftBenchRow     *row)
{
  if (!opts->json)
    {
      printf ("%-16s %-10s %7d %12zu %8zu %12.4g %12.4g %12.4g %12.4g\n",
              row->bench, row->backend, row->workers, row->input_bytes, row->runs,
              row->median_ms, row->min_ms, row->p99_ms, row->max_ms);
      fflush (stdout);
      return;
    }

  printf ("{\"bench\": ");
  print_json_string (row->bench);
  printf (", \"backend\": ");
  print_json_string (row->backend);
  /* %.9g keeps nanosecond resolution of sub-millisecond rows. */
  printf (", \"workers\": %d, \"input_bytes\": %zu, \"runs\": %zu"
          ", \"median_ms\": %.9g, \"min_ms\": %.9g, \"max_ms\": %.9g"
          ", \"p99_ms\": %.9g, \"mean_ms\": %.9g",
          row->workers, row->input_bytes, row->runs,
          row->median_ms, row->min_ms, row->max_ms, row->p99_ms, row->mean_ms);
  if (row->extra_json != NULL && row->extra_json[0] != '\0')
    printf (", %s", row->extra_json);
  printf ("}\n");
  fflush (stdout);
}

void
weft_bench_print_note (const WeftBenchOptions *opts,
                       const char             *format,
                       ...)
{
  va_list args;

  va_start (args, format);
  vfprintf (opts->json ? stderr : stdout, format, args);
  va_end (args);
  fputc ('\n', opts->json ? stderr : stdout);
}

char *
weft_bench_make_lines (size_t  n_lines,
                       size_t *out_len)
{
  /* The editor's Compare and `weft --bench` generate the same document. */
  return weft_compare_make_lines (n_lines, out_len);
}

char *
weft_bench_worker_path (void)
{
  const char *env = g_getenv ("WEFT_WORKER_PATH");
  g_autofree char *built = g_build_filename (WEFT_BUILD_ROOT, "src", "worker", "weft-worker", NULL);

  if (env != NULL)
    return g_strdup (env);
  if (access (built, X_OK) == 0)
    return g_steal_pointer (&built);
  return g_build_filename (LIBEXECDIR, "weft-worker", NULL);
}
