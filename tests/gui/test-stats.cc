// test-stats.cc: the stats panel, the Compare window and switching backends
// with work in flight, on the real window under a headless X server.
#include <gtest/gtest.h>

#include <glib/gstdio.h>
#include <sys/resource.h>
#include <string>
#include <vector>

#include "gui-app.h"
#include "gui-file-chooser.h"
#include "gui-wait.h"

extern "C" {
#include "weft-application.h"
#include "weft-compare-window.h"
#include "weft-stats-panel.h"
#include "weft-window.h"
}

namespace {

WeftApplication *the_app = nullptr;

guint64
SaveJobs (WeftBackendKind kind)
{
  WeftBackendStats stats;
  weft_application_get_backend_stats (the_app, kind, &stats);
  return stats.jobs_by_kind[WEFT_JOB_SAVE];
}

class WeftStatsTest : public ::testing::Test
{
protected:
  void SetUp () override
  {
    g_setenv ("WEFT_WORKER_PATH", WEFT_WORKER_FOR_TESTS, TRUE);
    settings_ = g_settings_new ("io.github.weftedit.Weft");
    // Drafts only when the test flushes: no timer adds a write behind its back.
    g_settings_set_uint (settings_, "autosave-delay", 600);
    g_settings_set_uint (settings_, "autosave-max-interval", 3600);
    window_ = weft_application_new_window (the_app);
    ASSERT_TRUE (WaitUntil ([&] { return gtk_widget_get_mapped (GTK_WIDGET (window_)); }));
    session_ = weft_application_get_session (the_app);
  }

  void TearDown () override
  {
    gtk_window_destroy (GTK_WINDOW (window_));
    Drain ();
    g_settings_reset (settings_, "autosave-delay");
    g_settings_reset (settings_, "autosave-max-interval");
    g_settings_reset (settings_, "worker-backend");
    g_clear_object (&settings_);
  }

  static void Type (WeftPage *page, const char *text)
  {
    g_signal_emit_by_name (weft_page_get_view (page), "insert-at-cursor", text);
  }

  std::string DraftOf (WeftPage *page)
  {
    g_autoptr (GFile) draft = weft_session_dup_draft_file (session_, weft_page_get_document (page));
    g_autofree char *path = draft != nullptr ? g_file_get_path (draft) : nullptr;
    g_autofree char *bytes = nullptr;
    gsize len = 0;
    if (path == nullptr || !g_file_get_contents (path, &bytes, &len, nullptr))
      return "<missing>";
    return std::string (bytes, len);
  }

  WeftStatsPanel *ShowPanel ()
  {
    g_action_group_change_action_state (G_ACTION_GROUP (window_), "show-stats", g_variant_new_boolean (TRUE));
    auto *panel = FindDescendant<WeftStatsPanel> (GTK_WIDGET (window_), WEFT_TYPE_STATS_PANEL);
    EXPECT_NE (panel, nullptr);
    EXPECT_TRUE (WaitUntil ([&] { return gtk_widget_get_mapped (GTK_WIDGET (panel)); }));
    return panel;
  }

  GSettings *settings_ = nullptr;
  WeftWindow *window_ = nullptr;
  WeftSession *session_ = nullptr;
};

// Reads "12" or "12 / 3" as its first number; -1 when it is not one.
long long
FirstNumber (const char *text)
{
  char *end = nullptr;
  long long n = g_ascii_strtoll (text, &end, 10);
  return end == text ? -1 : n;
}

// "3.2 ms" or "120 ms" in microseconds; -1 when the text is not a time.
double
Milliseconds (const std::string &text)
{
  char *end = nullptr;
  double ms = g_ascii_strtod (text.c_str (), &end);
  if (end == text.c_str () || strstr (end, "ms") == nullptr)
    return -1;
  return ms;
}

class WeftStatsPanelTest : public WeftStatsTest, public ::testing::WithParamInterface<const char *>
{
protected:
  // Makes the test's backend the one in use and shows the panel.
  WeftStatsPanel *UseBackend (WeftBackendKind *out_kind)
  {
    const char *backend = GetParam ();
    EXPECT_TRUE (weft_backend_kind_from_name (backend, out_kind));
    g_settings_set_string (settings_, "worker-backend", backend);
    EXPECT_STREQ (weft_backend_get_name (weft_application_get_backend (the_app)), backend);
    return ShowPanel ();
  }
};

TEST_P (WeftStatsPanelTest, ShowsPlausibleNumbersAfterAnAutosave)
{
  const char *backend = GetParam ();
  WeftBackendKind kind;
  WeftStatsPanel *panel = UseBackend (&kind);
  ASSERT_FALSE (HasFailure ());
  guint64 before = SaveJobs (kind);

  WeftPage *page = weft_window_new_document (window_);
  Type (page, "a draft for the stats panel\n");
  weft_session_flush (session_);
  ASSERT_TRUE (WaitUntil ([&] { return DraftOf (page) == "a draft for the stats panel\n"; }));
  // The panel reads the numbers again every second while it is shown.
  ASSERT_TRUE (WaitUntil ([&] {
    return FirstNumber (weft_stats_panel_get_value (panel, "jobs-save", backend)) >= (long long) before + 1;
  })) << weft_stats_panel_get_value (panel, "jobs-save", backend);

  std::string latency = weft_stats_panel_get_value (panel, "latency", backend);
  double p50 = Milliseconds (latency);
  EXPECT_GT (p50, 0.0) << latency;
  EXPECT_LT (p50, 20000.0) << latency;
  EXPECT_GE (Milliseconds (latency.substr (latency.find ('/') + 1)), p50) << latency;
  EXPECT_GT (FirstNumber (weft_stats_panel_get_value (panel, "workers", backend)), 0);
  EXPECT_EQ (FirstNumber (weft_stats_panel_get_value (panel, "crashes", backend)), 0);
  EXPECT_EQ (FirstNumber (weft_stats_panel_get_value (panel, "jobs-failed", backend)), 0);
  EXPECT_GE (Milliseconds (weft_stats_panel_get_value (panel, "cpu", backend)), 0.0);
  EXPECT_NE (std::string (weft_stats_panel_get_value (panel, "throughput", backend)), "–");
  EXPECT_GT (Milliseconds (weft_stats_panel_get_value (panel, "watchdog-max", backend)), 0.0);

  WeftBackendStats stats;
  weft_application_get_backend_stats (the_app, kind, &stats);
  EXPECT_GT (stats.run_us, 0);
  if (kind == WEFT_BACKEND_KIND_PROCESSES)
    {
      // The draft's bytes went to the worker: at least the text itself.
      EXPECT_GE (stats.ipc_bytes, strlen ("a draft for the stats panel\n"));
      EXPECT_GT (stats.worker_maxrss_kb, 0);
      // The worker's own peak, not the editor's that started it.
      struct rusage editor;
      getrusage (RUSAGE_SELF, &editor);
      EXPECT_LT (stats.worker_maxrss_kb, editor.ru_maxrss);
      EXPECT_STRNE (weft_stats_panel_get_value (panel, "memory", backend), "shared");
    }
  else
    {
      EXPECT_EQ (stats.ipc_bytes, 0u);
      EXPECT_STREQ (weft_stats_panel_get_value (panel, "ipc", backend), "0 bytes");
    }

  // Hidden, it stops reading: the numbers stay as they were.
  g_action_group_change_action_state (G_ACTION_GROUP (window_), "show-stats", g_variant_new_boolean (FALSE));
  EXPECT_TRUE (WaitUntil ([&] { return !gtk_widget_get_mapped (GTK_WIDGET (panel)); }));
}

TEST_P (WeftStatsPanelTest, ShowsTheSortJobsOfSortLines)
{
  const char *backend = GetParam ();
  WeftBackendKind kind;
  WeftStatsPanel *panel = UseBackend (&kind);
  ASSERT_FALSE (HasFailure ());
  long long before = FirstNumber (weft_stats_panel_get_value (panel, "jobs-sort", backend));
  ASSERT_GE (before, 0);
  guint workers = weft_backend_get_workers (weft_application_get_backend (the_app));

  WeftPage *page = weft_window_new_document (window_);
  Type (page, "cherry\napple\nbanana\n");
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (weft_page_get_document (page)));
  auto text = [&] {
    GtkTextIter start, end;
    gtk_text_buffer_get_bounds (buffer, &start, &end);
    g_autofree char *t = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
    return std::string (t);
  };

  // Sort Lines as the user runs it: the dialog, then its default button.
  g_action_group_activate_action (G_ACTION_GROUP (window_), "sort-lines", nullptr);
  GtkWindow *dialog = WaitForMappedWindow ("WeftSortDialog");
  ASSERT_NE (dialog, nullptr);
  GtkWidget *sort = gtk_window_get_default_widget (dialog);
  ASSERT_NE (sort, nullptr);
  gtk_widget_activate (sort);
  ASSERT_TRUE (WaitUntil ([&] { return text () == "apple\nbanana\ncherry\n"; })) << text ();

  // A run and a bucket or merge job per worker, on the backend in use; the
  // panel reads the numbers again every second while it is shown.
  ASSERT_TRUE (WaitUntil ([&] {
    return FirstNumber (weft_stats_panel_get_value (panel, "jobs-sort", backend)) >= before + 2 * (long long) workers;
  })) << weft_stats_panel_get_value (panel, "jobs-sort", backend) << " after " << before;
  EXPECT_EQ (FirstNumber (weft_stats_panel_get_value (panel, "jobs-failed", backend)), 0);
  if (kind == WEFT_BACKEND_KIND_PROCESSES)
    {
      EXPECT_STRNE (weft_stats_panel_get_value (panel, "ipc", backend), "0 bytes");
    }
}

TEST_F (WeftStatsTest, ThePanelsNumbersExportAsJsonAndCsv)
{
  g_autofree char *dir = g_dir_make_tmp ("weft-export-XXXXXX", nullptr);
  ShowPanel ();
  for (const char *format : { "json", "csv" })
    {
      g_autofree char *name = g_strdup_printf ("stats.%s", format);
      g_autofree char *path = g_build_filename (dir, name, nullptr);
      g_autoptr (GFile) target = g_file_new_for_path (path);
      g_action_group_activate_action (G_ACTION_GROUP (window_), "export-stats", g_variant_new_string (format));
      ASSERT_TRUE (AcceptFileChooser (target)) << format;
      ASSERT_TRUE (WaitUntil ([&] { return g_file_test (path, G_FILE_TEST_EXISTS); }));
      g_autofree char *contents = nullptr;
      // Written off the main thread: wait until the whole of it is there.
      ASSERT_TRUE (WaitUntil ([&] {
        g_clear_pointer (&contents, g_free);
        return g_file_get_contents (path, &contents, nullptr, nullptr) && g_str_has_suffix (contents, "\n");
      }));
      if (g_str_equal (format, "json"))
        {
          EXPECT_TRUE (g_str_has_prefix (contents, "{\"backends\": [")) << contents;
          EXPECT_NE (strstr (contents, "\"backend\": \"processes\""), nullptr);
          EXPECT_NE (strstr (contents, "\"watchdog\": {"), nullptr);
        }
      else
        {
          EXPECT_TRUE (g_str_has_prefix (contents, "backend,workers,jobs_save,")) << contents;
          EXPECT_NE (strstr (contents, "\nthreads,"), nullptr);
          EXPECT_NE (strstr (contents, "\nprocesses,"), nullptr);
        }
      g_unlink (path);
    }
  g_rmdir (dir);
}

// Every AdwComboRow under @widget.
void
FindComboRows (GtkWidget *widget, std::vector<AdwComboRow *> *out)
{
  if (ADW_IS_COMBO_ROW (widget))
    out->push_back (ADW_COMBO_ROW (widget));
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != nullptr;
       child = gtk_widget_get_next_sibling (child))
    FindComboRows (child, out);
}

TEST_F (WeftStatsTest, PreferencesChooseTheSpellingLanguage)
{
  g_action_group_activate_action (G_ACTION_GROUP (the_app), "preferences", nullptr);
  AdwPreferencesWindow *prefs = nullptr;
  ASSERT_TRUE (WaitUntil ([&] {
    g_autoptr (GList) toplevels = gtk_window_list_toplevels ();
    for (GList *l = toplevels; l != nullptr; l = l->next)
      if (ADW_IS_PREFERENCES_WINDOW (l->data) && gtk_widget_get_mapped (GTK_WIDGET (l->data)))
        prefs = ADW_PREFERENCES_WINDOW (l->data);
    return prefs != nullptr;
  }));

  // The language row is the one that offers the system's language first.
  std::vector<AdwComboRow *> rows;
  FindComboRows (GTK_WIDGET (prefs), &rows);
  AdwComboRow *language = nullptr;
  for (AdwComboRow *row : rows)
    {
      GListModel *model = adw_combo_row_get_model (row);
      if (GTK_IS_STRING_LIST (model) && g_list_model_get_n_items (model) > 0 &&
          g_str_equal (gtk_string_list_get_string (GTK_STRING_LIST (model), 0), "The Language of the System"))
        language = row;
    }
  ASSERT_NE (language, nullptr);
  EXPECT_EQ (adw_combo_row_get_selected (language), 0u);

  GtkStringList *names = GTK_STRING_LIST (adw_combo_row_get_model (language));
  if (g_list_model_get_n_items (G_LIST_MODEL (names)) > 1)
    {
      adw_combo_row_set_selected (language, 1);
      g_autofree char *chosen = g_settings_get_string (settings_, "spell-language");
      EXPECT_STREQ (chosen, gtk_string_list_get_string (names, 1));
    }
  g_settings_set_string (settings_, "spell-language", "");
  EXPECT_EQ (adw_combo_row_get_selected (language), 0u);

  // Without spell-checking, the language has nothing to say.
  g_settings_set_boolean (settings_, "spell-check", FALSE);
  EXPECT_FALSE (gtk_widget_get_sensitive (GTK_WIDGET (language)));
  g_settings_reset (settings_, "spell-check");
  EXPECT_TRUE (gtk_widget_get_sensitive (GTK_WIDGET (language)));
  gtk_window_destroy (GTK_WINDOW (prefs));
}

INSTANTIATE_TEST_SUITE_P (EachBackend, WeftStatsPanelTest, ::testing::Values ("threads", "processes"));

TEST_F (WeftStatsTest, SwitchingBackendWithDraftsInFlightWritesEachOnce)
{
  const int n_docs = 4;
  std::vector<WeftPage *> pages;
  std::string chunk;
  for (int i = 0; i < 2000; i++)
    chunk += "a line long enough to make the draft take its time " + std::to_string (i) + "\n";

  g_settings_set_string (settings_, "worker-backend", "threads");
  guint64 threads_before = SaveJobs (WEFT_BACKEND_KIND_THREADS);
  guint64 processes_before = SaveJobs (WEFT_BACKEND_KIND_PROCESSES);
  for (int i = 0; i < n_docs; i++)
    {
      pages.push_back (weft_window_new_document (window_));
      Type (pages.back (), chunk.c_str ());
    }

  // Every draft goes to the threads backend, and before any of their
  // results can be delivered (that needs the main loop), the user switches.
  weft_session_flush (session_);
  ASSERT_GE (weft_session_get_n_pending (session_), (guint) n_docs);
  g_settings_set_string (settings_, "worker-backend", "processes");
  ASSERT_STREQ (weft_backend_get_name (weft_application_get_backend (the_app)), "processes");

  // More edits while those drafts are in flight: each document's next
  // draft must follow its first, on the new backend.
  for (WeftPage *page : pages)
    Type (page, "after the switch\n");
  weft_session_flush (session_);

  ASSERT_TRUE (WaitUntil ([&] {
    for (WeftPage *page : pages)
      if (DraftOf (page) != chunk + "after the switch\n")
        return false;
    return weft_session_get_n_pending (session_) == 0;
  }, 60000));

  // Nothing lost, nothing twice: n_docs drafts finished where they began,
  // and n_docs on the new backend, each exactly once.
  ASSERT_TRUE (WaitUntil ([&] {
    return SaveJobs (WEFT_BACKEND_KIND_THREADS) - threads_before == (guint64) n_docs &&
           SaveJobs (WEFT_BACKEND_KIND_PROCESSES) - processes_before == (guint64) n_docs;
  })) << SaveJobs (WEFT_BACKEND_KIND_THREADS) - threads_before << " on threads, "
      << SaveJobs (WEFT_BACKEND_KIND_PROCESSES) - processes_before << " on processes";
  // Drain a little longer: no late duplicate arrives.
  Drain ();
  EXPECT_EQ (SaveJobs (WEFT_BACKEND_KIND_THREADS) - threads_before, (guint64) n_docs);
  EXPECT_EQ (SaveJobs (WEFT_BACKEND_KIND_PROCESSES) - processes_before, (guint64) n_docs);
  WeftBackendStats threads;
  weft_application_get_backend_stats (the_app, WEFT_BACKEND_KIND_THREADS, &threads);
  EXPECT_EQ (threads.n_workers, 0u);  // no longer the one in use
  EXPECT_EQ (threads.n_running, 0u);
}

TEST_F (WeftStatsTest, CompareRunsBothBackendsAndChartsThem)
{
  WeftPage *page = weft_window_new_document (window_);
  std::string text;
  for (int i = 0; i < 3000; i++)
    text += "zebra " + std::to_string (3000 - i) + " the quick brown fox\n";
  Type (page, text.c_str ());

  g_action_group_activate_action (G_ACTION_GROUP (window_), "compare-backends", nullptr);
  WeftCompareWindow *compare = nullptr;
  ASSERT_TRUE (WaitUntil ([&] {
    g_autoptr (GList) toplevels = gtk_window_list_toplevels ();
    for (GList *l = toplevels; l != nullptr; l = l->next)
      if (WEFT_IS_COMPARE_WINDOW (l->data))
        compare = WEFT_COMPARE_WINDOW (l->data);
    return compare != nullptr && gtk_widget_get_mapped (GTK_WIDGET (compare));
  }));

  WeftCompareConfig config;
  weft_compare_config_init (&config);
  config.min_workers = 1;
  config.max_workers = 2;
  config.runs = 1;
  weft_compare_window_start (compare, &config);
  ASSERT_TRUE (weft_compare_window_get_running (compare));
  ASSERT_TRUE (WaitUntil ([&] { return !weft_compare_window_get_running (compare); }, 120000));

  GArray *rows = weft_compare_window_get_rows (compare);
  ASSERT_NE (rows, nullptr);
  ASSERT_EQ (rows->len, 3u * 2u * 2u);  // workloads × backends × worker counts
  for (guint i = 0; i < rows->len; i++)
    {
      const WeftCompareRow *row = &g_array_index (rows, WeftCompareRow, i);
      EXPECT_EQ (row->input_bytes, text.size ());
      // Every workload runs on both backends (the suite installs the
      // en_US dictionary spelling needs).
      EXPECT_TRUE (row->available) << weft_workload_name (row->workload) << " " << (row->note ? row->note : "");
      EXPECT_GT (row->median_ms, 0.0);
      EXPECT_GE (row->max_ms, row->min_ms);
      if (row->workload == WEFT_WORKLOAD_SORT)
        {
          EXPECT_EQ (row->jobs, 2u * row->workers);
          // CPU time is counted in scheduler ticks: a sort this small may
          // show none, but never more than its workers could have spent.
          EXPECT_GE (row->cpu_user_ms + row->cpu_sys_ms, 0.0);
          EXPECT_LE (row->cpu_user_ms + row->cpu_sys_ms, row->workers * row->max_ms + 10.0 * row->jobs);
        }
      if (row->workload != WEFT_WORKLOAD_AUTOSAVE && row->backend == WEFT_BACKEND_KIND_PROCESSES)
        {
          EXPECT_GE (row->ipc_bytes, (double) text.size ()) << weft_workload_name (row->workload);
        }
    }
  EXPECT_GE (weft_compare_window_get_n_charted (compare), 3u);

  // A second run, cancelled at once, stops and keeps the charts it had.
  weft_compare_window_start (compare, nullptr);
  weft_compare_window_cancel (compare);
  ASSERT_TRUE (WaitUntil ([&] { return !weft_compare_window_get_running (compare); }, 60000));
  EXPECT_EQ (weft_compare_window_get_rows (compare), rows);

  // Closed while it runs: the comparison stops and the window goes away.
  weft_compare_window_start (compare, &config);
  gpointer alive = compare;
  g_object_add_weak_pointer (G_OBJECT (compare), &alive);
  gtk_window_destroy (GTK_WINDOW (compare));
  EXPECT_TRUE (WaitUntil ([&] { return alive == nullptr; }, 60000));
}

} // namespace

int
main (int argc, char **argv)
{
  return RunTestsWithApplication (argc, argv, &the_app);
}
