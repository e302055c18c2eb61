/* bench-ui.c: what the benchmarks that drive the real window share. */
#include "config.h"

#include <stdio.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "bench-ui.h"
#include "weft-application.h"

void
weft_bench_ui_init (char **argv)
{
  weft_application_exec_with_malloc_slices (argv);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_set_prgname ("weft");
  g_set_application_name ("Weft");
}

char *
weft_bench_ui_write_file (const char  *name,
                          const char  *text,
                          size_t       len,
                          GError     **error)
{
  g_autofree char *dir = g_dir_make_tmp ("weft-bench-ui-XXXXXX", error);
  g_autofree char *path = NULL;

  if (dir == NULL)
    return NULL;
  path = g_build_filename (dir, name, NULL);
  if (!g_file_set_contents (path, text, (gssize) len, error))
    {
      g_rmdir (dir);
      return NULL;
    }
  return g_steal_pointer (&path);
}

void
weft_bench_ui_remove_file (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);

  g_unlink (path);
  g_rmdir (dir);
}

GApplication *
weft_bench_ui_start_app (GError **error)
{
  GApplication *app = G_APPLICATION (weft_application_new (G_APPLICATION_NON_UNIQUE));

  if (!g_application_register (app, NULL, error))
    {
      g_object_unref (app);
      return NULL;
    }
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);
  g_application_hold (app);
  return app;
}

static gboolean
wake (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

gboolean
weft_bench_ui_run_until (gboolean (*done) (gpointer),
                         gpointer   data)
{
  gint64 deadline = g_get_monotonic_time () + WEFT_BENCH_UI_MAX_WAIT_US;
  guint tick = g_timeout_add (50, wake, NULL);
  gboolean ok = TRUE;

  while (!done (data))
    {
      if (g_get_monotonic_time () > deadline)
        {
          ok = FALSE;
          break;
        }
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (tick);
  return ok;
}

gboolean
weft_bench_ui_mapped (gpointer widget)
{
  return gtk_widget_get_mapped (GTK_WIDGET (widget));
}

gboolean
weft_bench_ui_quiet (gpointer unused)
{
  return !g_main_context_pending (NULL);
}

void
weft_bench_ui_print_stats (const WeftWatchdogStats *stats)
{
  printf ("\"watchdog_max_ms\": %.1f, \"watchdog_p99_ms\": %.1f, \"watchdog_p50_ms\": %.1f, "
          "\"over_16ms\": %" G_GUINT64_FORMAT ", \"iterations\": %" G_GUINT64_FORMAT ", "
          "\"busy_ms\": %.0f, \"work_max_ms\": %.1f, \"work_max_what\": \"%s\", "
          "\"work_over_4ms\": %" G_GUINT64_FORMAT ", \"work_cpu_max_ms\": %.1f, \"work_cpu_max_what\": \"%s\", "
          "\"work_cpu_over_4ms\": %" G_GUINT64_FORMAT ", ",
          stats->max_us / 1000.0, stats->p99_us / 1000.0, stats->p50_us / 1000.0,
          stats->over_16ms, stats->n_iterations, stats->busy_us / 1000.0,
          stats->work_max_us / 1000.0, stats->work_max_what != NULL ? stats->work_max_what : "",
          stats->work_over_budget, stats->work_cpu_max_us / 1000.0,
          stats->work_cpu_max_what != NULL ? stats->work_cpu_max_what : "", stats->work_cpu_over_budget);
}

double
weft_bench_ui_steal_ms (void)
{
  g_autofree char *contents = NULL;
  unsigned long long v[8];
  long ticks = sysconf (_SC_CLK_TCK);

  if (ticks <= 0 || !g_file_get_contents ("/proc/stat", &contents, NULL, NULL) ||
      sscanf (contents, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
              &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
    return -1;
  return (double) v[7] * 1000.0 / (double) ticks;
}
