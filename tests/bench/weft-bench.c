/* weft-bench.c: the weft-bench entry point, which hands each subcommand its own arguments. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bench-common.h"

typedef struct
{
  const char *name;
  const char *summary;
  int       (*run) (int argc, char **argv);
} WeftBenchCommand;

/* A new subcommand is a bench-<name>.c file, a prototype in bench-common.h
 * and one line here. */
static const WeftBenchCommand commands[] = {
  { "snapshot", "main-thread cost of a document snapshot at 1 MB and 63 MB", weft_bench_snapshot },
  { "roundtrip", "latency and throughput of an empty job, 1 MB and 63 MB payloads", weft_bench_roundtrip },
  { "sort", "parallel sort of 1M lines beside GNU sort --parallel=1/2", weft_bench_sort },
  { "spell", "spell-check throughput, 1 and N threads beside hunspell -l", weft_bench_spell },
  { "save", "main-thread cost and end-to-end time of an autosave beside write+fsync+rename", weft_bench_save },
};

static void
print_usage (FILE *out)
{
  fprintf (out,
           "Usage: weft-bench COMMAND [--json] [--runs N] [--backend threads|processes|both]\n"
           "                  [--workers N] [--input FILE] [--check]\n"
           "\n"
           "Commands:\n");
  for (size_t i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-12s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\nRun 'weft-bench COMMAND --help' for a command's options.\n");
}

int
main (int    argc,
      char **argv)
{
  if (argc < 2)
    {
      print_usage (stderr);
      return 2;
    }

  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 ||
      strcmp (argv[1], "help") == 0)
    {
      print_usage (stdout);
      return 0;
    }

  for (size_t i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].run (argc - 1, argv + 1);

  fprintf (stderr, "weft-bench: unknown command “%s”\n\n", argv[1]);
  print_usage (stderr);
  return 2;
}
