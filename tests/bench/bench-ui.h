/* bench-ui.h: what the benchmarks that drive the real window share. */
#pragma once

#include <gtk/gtk.h>

#include "weft-watchdog.h"

G_BEGIN_DECLS

/* Only catches a broken build: every wait ends on a condition. */
#define WEFT_BENCH_UI_MAX_WAIT_US ((gint64) 900 * G_USEC_PER_SEC)

/* Runs the default main context until @done returns TRUE for @data, or
 * WEFT_BENCH_UI_MAX_WAIT_US has passed (then FALSE). */
gboolean weft_bench_ui_run_until (gboolean (*done) (gpointer),
                                  gpointer   data);
/* Conditions for it: @widget is mapped; nothing is left to dispatch (the
 * view has laid out what it wanted to). */
gboolean weft_bench_ui_mapped    (gpointer   widget);
gboolean weft_bench_ui_quiet     (gpointer   unused);
/* What both benches do first, as the editor's main() does: GSlice in its
 * malloc mode (may start the program again), settings in memory. */
void     weft_bench_ui_init      (char     **argv);
/* Writes @text to @name in a new temporary folder; returns its path, or
 * NULL with @error set. Remove with weft_bench_ui_remove_file(). */
char    *weft_bench_ui_write_file (const char  *name,
                                   const char  *text,
                                   size_t       len,
                                   GError     **error);
void     weft_bench_ui_remove_file (const char *path);
/* A registered, held application with animations off, or NULL with
 * @error set. */
GApplication *weft_bench_ui_start_app (GError **error);
/* The watchdog's figures as JSON members, each followed by ", ". */
void     weft_bench_ui_print_stats (const WeftWatchdogStats *stats);
/* The CPU time the hypervisor has taken from this machine since boot
 * ("steal" in /proc/stat, all CPUs), in ms; -1 where it is not known. A
 * stall can come from there rather than from the editor: the benches
 * print how much was taken during each phase. */
double   weft_bench_ui_steal_ms    (void);

G_END_DECLS
