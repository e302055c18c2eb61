/* weft-parallel.h: one piece of work per thread, for the few loops that split a large copy or scan across the cores. */
#pragma once

#include <stddef.h>
#include <sys/resource.h>

#include <glib.h>

G_BEGIN_DECLS

/* The most items weft_run_parallel() takes. */
#define WEFT_PARALLEL_MAX 64

/* Runs @func on each of the @n (1 ... WEFT_PARALLEL_MAX) items of @size
 * bytes at @items and returns when all are done: the first on the calling
 * thread, the others on threads of their own, which inherit its priority.
 * An item whose thread cannot start runs on the calling thread instead,
 * after the first: items must not wait for one another. */
void weft_run_parallel (void  *(*func) (void *),
                        void   *items,
                        size_t  size,
                        guint   n);

/* The CPU time (user and system, µs) that the threads of the calls to
 * weft_run_parallel() made on this thread have used in all. getrusage
 * (RUSAGE_THREAD) does not see those threads: work measured between two
 * readings of it adds the difference between two readings of this. */
void weft_parallel_helper_cpu (gint64 *user_us,
                               gint64 *sys_us);

/* A reading of what the calling thread has used: its own getrusage
 * (RUSAGE_THREAD), and its weft_run_parallel() helpers' CPU time. */
typedef struct
{
  struct rusage usage;
  gint64        helpers_user_us;
  gint64        helpers_sys_us;
} WeftThreadCpu;

void weft_thread_cpu_read  (WeftThreadCpu       *out);
/* The CPU time (µs) used between @before and @after, both read on the
 * same thread, helpers included. */
void weft_thread_cpu_since (const WeftThreadCpu *before,
                            const WeftThreadCpu *after,
                            gint64              *user_us,
                            gint64              *sys_us);

G_END_DECLS
