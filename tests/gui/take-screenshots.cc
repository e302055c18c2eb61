// take-screenshots.cc: the stats panel and a Compare chart as they really are,
// in the light and the dark style, for data/screenshots. Run it through
// `meson compile -C build screenshots` (under tests/headless-session).
#include <string>

#include "gui-wait.h"

extern "C" {
#include "weft-application.h"
#include "weft-compare.h"
#include "weft-compare-window.h"
#include "weft-stats-panel.h"
#include "weft-window.h"
}

namespace {

std::string out_dir;

bool
Shoot (GtkWidget *window, const char *name)
{
  // Let a frame or two be drawn before the X server is read.
  gint64 until = g_get_monotonic_time () + 500 * 1000;
  WaitUntil ([&] { return g_get_monotonic_time () > until; });
  int width = gtk_widget_get_width (window), height = gtk_widget_get_height (window);
  g_autofree char *path = g_build_filename (out_dir.c_str (), name, nullptr);
  g_autofree char *cmd = g_strdup_printf ("import -window root -crop %dx%d+0+0 +repage '%s'", width, height, path);
  int status = 0;
  if (!g_spawn_command_line_sync (cmd, nullptr, nullptr, &status, nullptr) || !g_spawn_check_wait_status (status, nullptr))
    {
      g_printerr ("could not take %s\n", path);
      return false;
    }
  g_print ("%s\n", path);
  return true;
}

void
SetDark (bool dark)
{
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (),
                                      dark ? ADW_COLOR_SCHEME_FORCE_DARK : ADW_COLOR_SCHEME_FORCE_LIGHT);
}

guint64
SaveJobs (WeftApplication *app, WeftBackendKind kind)
{
  WeftBackendStats stats;
  weft_application_get_backend_stats (app, kind, &stats);
  return stats.jobs_by_kind[WEFT_JOB_SAVE];
}

// A few drafts on @backend, as typing and autosave would make them.
bool
WriteDrafts (WeftApplication *app, WeftWindow *window, GSettings *settings, const char *backend, int n)
{
  WeftBackendKind kind;
  weft_backend_kind_from_name (backend, &kind);
  g_settings_set_string (settings, "worker-backend", backend);
  WeftPage *page = weft_window_get_active_page (window);
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (weft_page_get_document (page)));
  GtkTextIter end;
  // Edits at the end, out of the screenshot's way.
  gtk_text_buffer_get_end_iter (buffer, &end);
  gtk_text_buffer_place_cursor (buffer, &end);
  for (int i = 0; i < n; i++)
    {
      guint64 before = SaveJobs (app, kind);
      std::string line = std::string ("Drafts on ") + backend + ", edit " + std::to_string (i) + "\n";
      g_signal_emit_by_name (weft_page_get_view (page), "insert-at-cursor", line.c_str ());
      weft_session_flush (weft_application_get_session (app));
      if (!WaitUntil ([&] { return SaveJobs (app, kind) > before; }))
        {
          g_printerr ("no draft was written on %s\n", backend);
          return false;
        }
    }
  return true;
}

bool
WaitIdle (WeftWindow *window)
{
  return WaitUntil ([&] {
    WeftPage *page = weft_window_get_active_page (window);
    return page != nullptr && !weft_document_get_busy (weft_page_get_document (page));
  });
}

// Sorts the whole active document on @backend, as Sort Lines does.
bool
SortOn (WeftWindow *window, GSettings *settings, const char *backend, gboolean reverse)
{
  g_settings_set_string (settings, "worker-backend", backend);
  WeftDocument *document = weft_page_get_document (weft_window_get_active_page (window));
  int n_chars = gtk_text_buffer_get_char_count (GTK_TEXT_BUFFER (weft_document_get_buffer (document)));
  WeftSortOptions options = {};
  options.collation = WEFT_SORT_COLLATION_BYTES;
  options.reverse = reverse;
  struct { bool done = false; bool ok = false; } state;
  weft_document_sort_lines_async (
      document, 0, n_chars, &options, nullptr,
      [] (GObject *source, GAsyncResult *result, gpointer data) {
        auto *st = static_cast<decltype (state) *> (data);
        st->ok = weft_document_sort_lines_finish (WEFT_DOCUMENT (source), result, nullptr);
        st->done = true;
      },
      &state);
  if (!WaitUntil ([&] { return state.done; }, 120000) || !state.ok)
    {
      g_printerr ("sorting on %s failed\n", backend);
      return false;
    }
  return WaitIdle (window);
}

// Writes @contents to ~/Documents/@name (the session's own home) and opens it.
bool
OpenDocument (WeftWindow *window, const char *name, const char *contents, gssize len)
{
  g_autofree char *dir = g_build_filename (g_get_home_dir (), "Documents", nullptr);
  g_autofree char *path = g_build_filename (dir, name, nullptr);
  g_mkdir_with_parents (dir, 0700);
  if (!g_file_set_contents (path, contents, len, nullptr))
    return false;
  g_autoptr (GFile) file = g_file_new_for_path (path);
  weft_window_open_file (window, file, 1);
  return WaitUntil ([&] {
    WeftPage *page = weft_window_get_active_page (window);
    if (page == nullptr || weft_document_get_busy (weft_page_get_document (page)))
      return false;
    GFile *shown = weft_document_get_file (weft_page_get_document (page));
    return shown != nullptr && g_file_equal (shown, file);
  });
}

int
Run (WeftApplication *app)
{
  g_autoptr (GSettings) settings = g_settings_new ("io.github.weftedit.Weft");
  g_settings_set_uint (settings, "autosave-delay", 600);

  SetDark (false);
  WeftWindow *window = weft_application_new_window (app);
  gtk_window_set_default_size (GTK_WINDOW (window), 1180, 760);
  if (!WaitUntil ([&] { return gtk_widget_get_mapped (GTK_WIDGET (window)); }))
    return 1;
  // A list sorted on each backend, then the README in front, checked for
  // spelling as it opens.
  size_t list_len = 0;
  g_autofree char *list = weft_compare_make_lines (200000, &list_len);
  if (!OpenDocument (window, "lines.txt", list, (gssize) list_len) ||
      !SortOn (window, settings, "threads", FALSE) || !SortOn (window, settings, "processes", TRUE))
    return 1;
  g_autofree char *readme = nullptr;
  gsize readme_len = 0;
  g_autofree char *readme_path = g_build_filename (WEFT_SOURCE_ROOT, "README.md", nullptr);
  if (!g_file_get_contents (readme_path, &readme, &readme_len, nullptr) ||
      !OpenDocument (window, "README.md", readme, (gssize) readme_len))
    return 1;

  if (!WriteDrafts (app, window, settings, "threads", 6) || !WriteDrafts (app, window, settings, "processes", 6) ||
      !WriteDrafts (app, window, settings, "threads", 2))
    return 1;

  g_action_group_change_action_state (G_ACTION_GROUP (window), "show-stats", g_variant_new_boolean (TRUE));
  gint64 until = g_get_monotonic_time () + 1500 * 1000;
  WaitUntil ([&] { return g_get_monotonic_time () > until; });
  if (!Shoot (GTK_WIDGET (window), "stats-panel.png"))
    return 1;
  SetDark (true);
  if (!Shoot (GTK_WIDGET (window), "stats-panel-dark.png"))
    return 1;
  SetDark (false);

  // Compare on the generated 1M-line document, as the button does on an
  // empty one.
  GtkWidget *compare = weft_compare_window_new (GTK_WINDOW (window), nullptr,
                                                "a generated document of 1,000,000 lines");
  gtk_window_present (GTK_WINDOW (compare));
  weft_compare_window_start (WEFT_COMPARE_WINDOW (compare), nullptr);
  if (!WaitUntil ([&] { return !weft_compare_window_get_running (WEFT_COMPARE_WINDOW (compare)); }, 600000))
    return 1;
  if (weft_compare_window_get_rows (WEFT_COMPARE_WINDOW (compare)) == nullptr)
    {
      g_printerr ("the comparison did not finish\n");
      return 1;
    }
  g_autofree char *jsonl = weft_compare_rows_to_jsonl (weft_compare_window_get_rows (WEFT_COMPARE_WINDOW (compare)));
  g_print ("%s", jsonl);
  if (!Shoot (compare, "compare-charts.png"))
    return 1;
  SetDark (true);
  if (!Shoot (compare, "compare-charts-dark.png"))
    return 1;

  gtk_window_destroy (GTK_WINDOW (compare));
  gtk_window_destroy (GTK_WINDOW (window));
  Drain ();
  return 0;
}

} // namespace

int
main (int argc, char **argv)
{
  if (argc != 2)
    {
      g_printerr ("usage: take-screenshots OUTPUT-DIR\n");
      return 2;
    }
  out_dir = argv[1];
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_set_prgname ("weft");
  g_set_application_name ("Weft");

  WeftApplication *app = weft_application_new (G_APPLICATION_NON_UNIQUE);
  if (!g_application_register (G_APPLICATION (app), nullptr, nullptr))
    return 1;
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, nullptr);
  g_application_hold (G_APPLICATION (app));
  int rc = Run (app);
  g_application_release (G_APPLICATION (app));
  g_object_unref (app);
  return rc;
}
