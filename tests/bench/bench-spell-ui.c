/* bench-spell-ui.c: how long the real window's main loop stalls while it opens
 * a large prose document, with spell-checking off (the baseline) and on, in
 * the same run. Runs under tests/headless-session; prints one JSON line per
 * mode with the UI-stall watchdog's figures over the load and the check
 * until everything has settled (with the longest span of Weft's own work
 * among them, and what it was), then a ratio row. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bench-common.h"
#include "bench-ui.h"
#include "weft-application.h"
#include "weft-page.h"
#include "weft-spell-controller.h"
#include "weft-window.h"

/* Ten megabytes, as issue 6's acceptance asks. */
#define PROSE_BYTES ((size_t) 10 * 1024 * 1024)
typedef struct
{
  WeftWatchdogStats stats;
  double            seconds;
  double            steal_ms;      /* taken by the hypervisor meanwhile, or -1 */
  int               n_misspelled;
  gboolean          timed_out;
} Result;

typedef struct
{
  WeftWindow *window;
  gboolean    spell;
} Opening;

static gboolean
settled (gpointer data)
{
  Opening *o = data;
  WeftPage *page = weft_window_get_active_page (o->window);
  WeftDocument *doc;
  WeftSpellController *spell;

  if (page == NULL)
    return FALSE;
  doc = weft_page_get_document (page);
  if (weft_document_get_busy (doc) || weft_document_get_file (doc) == NULL)
    return FALSE;
  if (!o->spell)
    return TRUE;
  spell = weft_page_get_spell_controller (page);
  return !weft_spell_controller_get_busy (spell) && weft_spell_controller_get_n_misspelled (spell) >= 0;
}

static gboolean
measure (WeftApplication *app,
         GFile           *file,
         gboolean         spell,
         Result          *out)
{
  g_autoptr (GSettings) settings = g_settings_new (APP_ID);
  WeftWatchdog *watchdog = weft_application_get_watchdog (app);
  Opening o = { weft_application_new_window (app), spell };
  gint64 start;
  double steal, steal_end;
  gboolean ok;

  g_settings_set_boolean (settings, "spell-check", spell);
  if (!weft_bench_ui_run_until (weft_bench_ui_mapped, o.window))
    return FALSE;
  while (g_main_context_iteration (NULL, FALSE))
    ;

  weft_watchdog_reset (watchdog);
  steal = weft_bench_ui_steal_ms ();
  start = g_get_monotonic_time ();
  weft_window_open_file (o.window, file, 0);
  ok = weft_bench_ui_run_until (settled, &o);
  out->seconds = (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
  /* Then what the view still does because of it (layout in idle). */
  out->timed_out = !ok || !weft_bench_ui_run_until (weft_bench_ui_quiet, NULL);
  weft_watchdog_get_stats (watchdog, &out->stats);
  steal_end = weft_bench_ui_steal_ms ();
  out->steal_ms = steal >= 0 && steal_end >= 0 ? steal_end - steal : -1;
  out->n_misspelled = spell && ok ?
    weft_spell_controller_get_n_misspelled (weft_page_get_spell_controller (weft_window_get_active_page (o.window))) : -1;

  gtk_window_destroy (GTK_WINDOW (o.window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  return ok;
}

static void
print_result (const char   *mode,
              size_t        bytes,
              const Result *r)
{
  printf ("{\"bench\": \"spell-ui\", \"mode\": \"%s\", \"input_bytes\": %zu, \"seconds\": %.2f, ",
          mode, bytes, r->seconds);
  weft_bench_ui_print_stats (&r->stats);
  printf ("\"host_steal_ms\": %.0f, ", r->steal_ms);
  printf ("\"misspelled\": %d, \"timed_out\": %s}\n", r->n_misspelled, r->timed_out ? "true" : "false");
}

int
main (int    argc,
      char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GFile) file = NULL;
  WeftApplication *app;
  Result off = { 0 }, on = { 0 };
  size_t len = 0;
  int rc = 0;

  weft_bench_ui_init (argv);
  text = weft_bench_make_prose (PROSE_BYTES, &len, &error);
  if (text != NULL)
    path = weft_bench_ui_write_file ("prose.txt", text, len, &error);
  if (path == NULL)
    {
      fprintf (stderr, "weft-bench-spell-ui: %s\n", error->message);
      return 1;
    }
  g_clear_pointer (&text, g_free);
  file = g_file_new_for_path (path);
  app = (WeftApplication *) weft_bench_ui_start_app (&error);
  if (app == NULL)
    {
      fprintf (stderr, "weft-bench-spell-ui: cannot register: %s\n", error->message);
      return 1;
    }

  /* A first open warms the font and file caches for both that count. */
  if (!measure (app, file, FALSE, &off) ||
      !measure (app, file, FALSE, &off) || !measure (app, file, TRUE, &on))
    rc = 1;
  print_result ("off", len, &off);
  print_result ("on", len, &on);
  printf ("{\"bench\": \"spell-ui\", \"mode\": \"on/off\", \"watchdog_max_ratio\": %.2f, "
          "\"watchdog_p99_ratio\": %.2f}\n",
          off.stats.max_us > 0 ? (double) on.stats.max_us / (double) off.stats.max_us : 0.0,
          off.stats.p99_us > 0 ? (double) on.stats.p99_us / (double) off.stats.p99_us : 0.0);

  g_application_release (G_APPLICATION (app));
  g_object_unref (app);
  weft_bench_ui_remove_file (path);
  return rc;
}
