/* bench-cores.c: a throughput probe of the cores the machine gives, and medians over the samples taken with all of them. */
#include "config.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "bench-common.h"
#include "bench-cores.h"

#define PROBE_MAX_THREADS 64
/* About 20 ms on one thread of a 2.5 GHz core. */
#define PROBE_ROUNDS      15000000

static void *
probe_thread (void *data)
{
  guint64 *out = data;
  guint64 a = 1, b = 3, c = 5, d = 7;

  /* Four independent chains keep a core's multiplier busy every cycle; a
   * second hardware thread on the same core cannot add to that. The empty
   * asm keeps the compiler from folding or vectorising the loop. */
  for (guint64 i = 0; i < PROBE_ROUNDS; i++)
    {
      a = a * G_GUINT64_CONSTANT (6364136223846793005) + 1;
      b = b * G_GUINT64_CONSTANT (6364136223846793005) + 3;
      c = c * G_GUINT64_CONSTANT (6364136223846793005) + 5;
      d = d * G_GUINT64_CONSTANT (6364136223846793005) + 7;
      __asm__ volatile ("" : "+r" (a), "+r" (b), "+r" (c), "+r" (d));
    }
  *out = a ^ b ^ c ^ d;
  return NULL;
}

static double
probe_ms (unsigned n)
{
  pthread_t threads[PROBE_MAX_THREADS];
  guint64 results[PROBE_MAX_THREADS];
  unsigned started = 0;
  gint64 t0 = weft_bench_now_ns ();

  for (; started < n; started++)
    if (pthread_create (&threads[started], NULL, probe_thread, &results[started]) != 0)
      break;
  for (unsigned i = 0; i < started; i++)
    pthread_join (threads[i], NULL);
  return started == n ? weft_bench_elapsed_ms (t0, weft_bench_now_ns ()) : -1;
}

double
weft_bench_cores_probe (unsigned n_threads)
{
  double one_ms, n_ms;

  n_threads = CLAMP (n_threads, 1, PROBE_MAX_THREADS);
  one_ms = probe_ms (1);
  n_ms = probe_ms (n_threads);
  if (one_ms <= 0 || n_ms <= 0)
    return 0;
  return (double) n_threads * one_ms / n_ms;
}

double
weft_bench_cores_full (unsigned n_threads)
{
  return 0.85 * (double) n_threads;
}

WeftBenchFullMedian
weft_bench_full_median (const WeftBenchCores *cores,
                        const double         *samples,
                        const double         *capacity,
                        size_t                n)
{
  g_autofree double *kept = g_new (double, MAX (n, 1));
  double min_capacity = weft_bench_cores_full (cores->n_threads);
  WeftBenchRow row = { 0 };
  size_t k = 0;

  for (size_t i = 0; i < n; i++)
    if (capacity[i] >= min_capacity)
      kept[k++] = samples[i];
  if (k == 0)
    return (WeftBenchFullMedian) { 0, 0 };
  weft_bench_row_set_samples (&row, kept, k);
  return (WeftBenchFullMedian) { row.median_ms, k };
}

double
weft_bench_full_ratio (const WeftBenchFullMedian *a,
                       const WeftBenchFullMedian *b)
{
  return a->n > 0 && b->n > 0 ? a->median_ms / b->median_ms : 0;
}

static double
take_probe (WeftBenchCores *cores)
{
  cores->last = weft_bench_cores_probe (cores->n_threads);
  cores->n_probes++;
  if (cores->last >= weft_bench_cores_full (cores->n_threads))
    cores->n_full++;
  return cores->last;
}

void
weft_bench_cores_init (WeftBenchCores *cores,
                       unsigned        n_threads)
{
  memset (cores, 0, sizeof *cores);
  cores->n_threads = n_threads > 0 ? n_threads : (unsigned) MAX (1, sysconf (_SC_NPROCESSORS_ONLN));
  take_probe (cores);
}

double
weft_bench_cores_after (WeftBenchCores *cores)
{
  double before = cores->last;

  return MIN (before, take_probe (cores));
}
