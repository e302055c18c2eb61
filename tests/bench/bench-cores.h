/* bench-cores.h: how many cores the machine gives right now, probed between a bench's samples. */
#pragma once

#include <stddef.h>
#include <glib.h>

G_BEGIN_DECLS

/* On a virtual machine the host may place two of its virtual CPUs on the
 * two hardware threads of one physical core (SMT siblings) for a while,
 * then on two cores again. Work that fills a core's execution units then
 * gets the throughput of one core, whatever the number of threads. This
 * probe runs such work (independent multiply chains) on one thread, then
 * on @n_threads at once, and returns how much more the @n_threads got
 * done per second: about @n_threads when each ran on a core of its own,
 * about 1 when they shared one. It takes about 50 ms. */
double weft_bench_cores_probe      (unsigned n_threads);

/* The probe's result at or above which @n_threads count as having a core
 * each (0.85 x @n_threads). */
double weft_bench_cores_full       (unsigned n_threads);

/* Probes taken between consecutive samples, so that each sample has one
 * just before it and one just after it. */
typedef struct
{
  unsigned n_threads;
  double   last;      /* the latest probe's result */
  size_t   n_probes;
  size_t   n_full;    /* probes at or above weft_bench_cores_full() */
} WeftBenchCores;

/* Sets @cores up for @n_threads (0: the online CPUs) and takes the first
 * probe. */
void   weft_bench_cores_init       (WeftBenchCores *cores,
                                    unsigned        n_threads);
/* Takes the probe after a sample and returns the sample's capacity: the
 * lower of this probe and the one before the sample. */
double weft_bench_cores_after      (WeftBenchCores *cores);

/* A row's median over its samples taken with a core per thread. */
typedef struct
{
  double median_ms;  /* 0 when there are none */
  size_t n;          /* how many there were */
} WeftBenchFullMedian;

/* The median of those of the @n @samples (ms) whose @capacity (as
 * weft_bench_cores_after() returned it) is at least
 * weft_bench_cores_full(). Neither array is changed. */
WeftBenchFullMedian weft_bench_full_median (const WeftBenchCores *cores,
                                            const double         *samples,
                                            const double         *capacity,
                                            size_t                n);
/* @a's median over @b's; 0 when either has no sample. */
double weft_bench_full_ratio       (const WeftBenchFullMedian *a,
                                    const WeftBenchFullMedian *b);

G_END_DECLS
