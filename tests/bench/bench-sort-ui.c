/* bench-sort-ui.c: how long the real window's main loop stalls while the
 * Sort Lines dialog opens, while the sort it starts runs and its result is
 * applied, while GTK then measures the new lines, and while the sort is
 * undone, beside the same window sitting idle, in one run. Runs under
 * tests/headless-session, on the backend its argument names (threads by
 * default); prints one JSON line per phase with the UI-stall watchdog's
 * figures (with the longest span of Weft's own work among them, and what
 * it was), then a ratio row. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-common.h"
#include "bench-ui.h"
#include "weft-application.h"
#include "weft-document.h"
#include "weft-page.h"
#include "weft-window.h"

/* The sort issue's document: a million lines, 63 MB. */
#define N_LINES ((size_t) 1000000)

typedef struct
{
  const char       *phase;
  WeftWatchdogStats stats;
  double            seconds;
  double            steal_ms;  /* at the start, then what the hypervisor took meanwhile; or -1 */
  gboolean          timed_out;
} Phase;

static WeftDocument *
active_document (WeftWindow *window)
{
  WeftPage *page = weft_window_get_active_page (window);

  return page != NULL ? weft_page_get_document (page) : NULL;
}

static gboolean
loaded (gpointer data)
{
  WeftDocument *doc = active_document (data);

  return doc != NULL && !weft_document_get_busy (doc) && weft_document_get_file (doc) != NULL;
}

static gboolean
not_busy (gpointer data)
{
  return !weft_document_get_busy (data) && !weft_document_get_applying (data);
}

/* The sort and the undo start in a dispatch of the loop, as they do from
 * a key press: Sort Lines opens its dialog, whose default button (Return)
 * starts the sort; Undo undoes it. */
typedef struct
{
  WeftWindow   *window;
  WeftDocument *doc;
  GtkWindow    *dialog;
  gboolean      done;
  gboolean      ok;
  gboolean      seen_busy;
} Step;

static void
open_sort_dialog (gpointer data)
{
  Step *step = data;

  g_action_group_activate_action (G_ACTION_GROUP (step->window), "sort-lines", NULL);
  step->done = TRUE;
}

static gboolean
sort_dialog_shown (gpointer data)
{
  Step *step = data;
  g_autoptr (GList) toplevels = gtk_window_list_toplevels ();

  for (GList *l = toplevels; l != NULL; l = l->next)
    if (g_str_equal (G_OBJECT_TYPE_NAME (l->data), "WeftSortDialog") && gtk_widget_get_mapped (l->data))
      step->dialog = l->data;
  return step->dialog != NULL;
}

static void
press_sort (gpointer data)
{
  Step *step = data;
  GtkWidget *button = gtk_window_get_default_widget (step->dialog);

  /* A button shows itself pressed for a moment before it is clicked: the
   * sort starts a little later (see sort_finished()). */
  step->ok = button != NULL && gtk_widget_activate (button);
  step->seen_busy = FALSE;
  step->done = TRUE;
}

static gboolean
sort_finished (gpointer data)
{
  Step *step = data;

  if (weft_document_get_busy (step->doc))
    step->seen_busy = TRUE;
  return step->seen_busy && not_busy (step->doc);
}

static void
press_undo (gpointer data)
{
  Step *step = data;

  step->ok = weft_document_undo (step->doc);
  step->done = TRUE;
}

static gboolean
step_done (gpointer data)
{
  return ((Step *) data)->done;
}

/* Runs @func in a dispatch of its own and waits until it has run. */
static gboolean
run_step (GSourceOnceFunc func,
          Step           *step)
{
  step->done = FALSE;
  step->ok = TRUE;
  g_idle_add_once (func, step);
  return weft_bench_ui_run_until (step_done, step) && step->ok;
}

typedef struct
{
  gint64 until;
} Idle;

static gboolean
time_is_up (gpointer data)
{
  return g_get_monotonic_time () >= ((Idle *) data)->until;
}

/* The phase's start on the monotonic clock, on stderr, to read beside a
 * trace of the same run. */
static gint64
begin_phase (WeftWatchdog *watchdog,
             Phase        *phase)
{
  gint64 now = g_get_monotonic_time ();

  weft_watchdog_reset (watchdog);
  phase->steal_ms = weft_bench_ui_steal_ms ();
  fprintf (stderr, "%s: from t=%.3f s\n", phase->phase, now / 1e6);
  return now;
}

static void
end_phase (WeftWatchdog *watchdog,
           Phase        *phase,
           gint64        start)
{
  double steal = weft_bench_ui_steal_ms ();

  phase->seconds = (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
  weft_watchdog_get_stats (watchdog, &phase->stats);
  phase->steal_ms = phase->steal_ms >= 0 && steal >= 0 ? steal - phase->steal_ms : -1;
}

static void
print_phase (const char  *backend,
             const Phase *p,
             size_t       bytes)
{
  printf ("{\"bench\": \"sort-ui\", \"backend\": \"%s\", \"phase\": \"%s\", \"input_bytes\": %zu, "
          "\"seconds\": %.2f, ", backend, p->phase, bytes, p->seconds);
  weft_bench_ui_print_stats (&p->stats);
  printf ("\"host_steal_ms\": %.0f, \"timed_out\": %s}\n", p->steal_ms, p->timed_out ? "true" : "false");
}

static int
compare_lines (const void *a,
               const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The text's lines in byte order, as `LC_ALL=C sort` gives them (the
 * generated lines hold no NUL). */
static char *
sorted_copy (const char *text,
             size_t      len)
{
  g_autofree char *copy = g_memdup2 (text, len + 1);
  g_autofree char **lines = g_new (char *, N_LINES);
  char *out = g_malloc (len + 1), *p = out;
  size_t n = 0;

  for (char *line = copy; line < copy + len && n < N_LINES; n++)
    {
      char *nl = strchr (line, '\n');

      lines[n] = line;
      *nl = '\0';
      line = nl + 1;
    }
  qsort (lines, n, sizeof *lines, compare_lines);
  for (size_t i = 0; i < n; i++)
    {
      size_t l = strlen (lines[i]);

      memcpy (p, lines[i], l);
      p[l] = '\n';
      p += l + 1;
    }
  *p = '\0';
  return out;
}

/* Whether @snap holds exactly @text. */
static gboolean
holds (WeftSnapshot *snap,
       const char   *text,
       size_t        len)
{
  g_autofree char *bytes = NULL;
  gboolean same;

  same = weft_snapshot_get_n_bytes (snap) == len;
  if (same)
    {
      bytes = g_malloc (len + 1);
      weft_snapshot_copy_range (snap, 0, len, bytes);
      same = memcmp (bytes, text, len) == 0;
    }
  return same;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_autofree char *expected = NULL;
  g_autoptr (GFile) file = NULL;
  g_autoptr (GSettings) settings = NULL;
  WeftApplication *app;
  WeftWatchdog *watchdog;
  WeftWindow *window;
  WeftDocument *doc;
  WeftSnapshot *after_sort, *after_undo;
  Step step = { NULL, NULL, NULL, FALSE, FALSE, FALSE };
  Phase idle = { "idle", { 0 }, 0, FALSE }, dialog = { "dialog", { 0 }, 0, FALSE };
  Phase sort = { "sort+apply", { 0 }, 0, FALSE };
  Phase sort_settle = { "after apply", { 0 }, 0, FALSE }, undo = { "undo", { 0 }, 0, FALSE };
  Idle wait;
  size_t len = 0;
  gint64 start;
  const char *backend = argc == 2 ? argv[1] : "threads";
  int rc = 0;

  if (argc > 2 || (argc == 2 && strcmp (argv[1], "threads") != 0 && strcmp (argv[1], "processes") != 0))
    {
      fprintf (stderr, "Usage: weft-bench-sort-ui [threads|processes]\n");
      return 2;
    }
  weft_bench_ui_init (argv);
  text = weft_bench_make_lines (N_LINES, &len);
  path = weft_bench_ui_write_file ("lines.txt", text, len, &error);
  if (path == NULL)
    {
      fprintf (stderr, "weft-bench-sort-ui: %s\n", error->message);
      return 1;
    }
  file = g_file_new_for_path (path);
  expected = sorted_copy (text, len);
  app = (WeftApplication *) weft_bench_ui_start_app (&error);
  if (app == NULL)
    {
      fprintf (stderr, "weft-bench-sort-ui: cannot register: %s\n", error->message);
      return 1;
    }
  settings = g_settings_new (APP_ID);
  g_settings_set_boolean (settings, "spell-check", FALSE);
  g_settings_set_string (settings, "worker-backend", backend);
  g_settings_set_string (settings, "sort-collation", "bytes");
  watchdog = weft_application_get_watchdog (app);

  /* Open the document and let GTK finish measuring its lines: the sort
   * starts from an editor at rest, as a user's would. */
  window = weft_application_new_window (app);
  if (!weft_bench_ui_run_until (weft_bench_ui_mapped, window))
    return 1;
  start = g_get_monotonic_time ();
  weft_window_open_file (window, file, 0);
  if (!weft_bench_ui_run_until (loaded, window) || !weft_bench_ui_run_until (weft_bench_ui_quiet, NULL))
    {
      fprintf (stderr, "weft-bench-sort-ui: the document did not load\n");
      return 1;
    }
  doc = active_document (window);
  step.window = window;
  step.doc = doc;
  fprintf (stderr, "opened and laid out in %.1f s\n", (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC);

  /* The baseline: the same window, idle for 3 s. */
  start = begin_phase (watchdog, &idle);
  wait.until = start + 3 * G_USEC_PER_SEC;
  weft_bench_ui_run_until (time_is_up, &wait);
  end_phase (watchdog, &idle, start);

  start = begin_phase (watchdog, &dialog);
  if (!run_step (open_sort_dialog, &step) || !weft_bench_ui_run_until (sort_dialog_shown, &step))
    {
      fprintf (stderr, "weft-bench-sort-ui: the Sort Lines dialog did not open\n");
      return 1;
    }
  dialog.timed_out = !weft_bench_ui_run_until (weft_bench_ui_quiet, NULL);
  end_phase (watchdog, &dialog, start);

  start = begin_phase (watchdog, &sort);
  if (!run_step (press_sort, &step) || !weft_bench_ui_run_until (sort_finished, &step))
    {
      fprintf (stderr, "weft-bench-sort-ui: the sort did not start or finish\n");
      return 1;
    }
  end_phase (watchdog, &sort, start);
  start = begin_phase (watchdog, &sort_settle);
  sort_settle.timed_out = !weft_bench_ui_run_until (weft_bench_ui_quiet, NULL);
  end_phase (watchdog, &sort_settle, start);
  /* Checked at the end: copying 63 MB here would be a stall of the bench's
   * own in the next phase. */
  after_sort = weft_document_dup_snapshot (doc);

  start = begin_phase (watchdog, &undo);
  if (!run_step (press_undo, &step) || !weft_bench_ui_run_until (not_busy, doc))
    {
      fprintf (stderr, "weft-bench-sort-ui: undo did not start or finish\n");
      return 1;
    }
  end_phase (watchdog, &undo, start);
  after_undo = weft_document_dup_snapshot (doc);
  if (!holds (after_sort, expected, len))
    {
      fprintf (stderr, "weft-bench-sort-ui: the document was not the sorted text\n");
      rc = 1;
    }
  if (!holds (after_undo, text, len))
    {
      fprintf (stderr, "weft-bench-sort-ui: undo did not restore the text\n");
      rc = 1;
    }
  weft_snapshot_unref (after_sort);
  weft_snapshot_unref (after_undo);

  print_phase (backend, &idle, len);
  print_phase (backend, &dialog, len);
  print_phase (backend, &sort, len);
  print_phase (backend, &sort_settle, len);
  print_phase (backend, &undo, len);
  printf ("{\"bench\": \"sort-ui\", \"backend\": \"%s\", \"phase\": \"sort+apply/idle\", \"watchdog_max_ratio\": %.2f, "
          "\"watchdog_p99_ratio\": %.2f, \"bar_max_ms\": 16, \"met\": %s}\n", backend,
          idle.stats.max_us > 0 ? (double) sort.stats.max_us / (double) idle.stats.max_us : 0.0,
          idle.stats.p99_us > 0 ? (double) sort.stats.p99_us / (double) idle.stats.p99_us : 0.0,
          sort.stats.max_us <= 16000 ? "true" : "false");

  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_application_release (G_APPLICATION (app));
  g_object_unref (app);
  weft_bench_ui_remove_file (path);
  return rc;
}
