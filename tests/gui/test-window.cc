// test-window.cc: the real Weft window under a headless X server, driven through
// its actions, its dialogs and (for the single-instance test) real key events.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <vector>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <string>

#include "gui-app.h"
#include "gui-file-chooser.h"
#include "gui-wait.h"

extern "C" {
#include "weft-application.h"
#include "weft-fault.h"
#include "weft-spell.h"
#include "weft-window.h"
}

namespace {

WeftApplication *the_app = nullptr;
// libweft-fault's control block: every test runs with the shim preloaded,
// injecting nothing unless a test says so.
WeftFaultControl *fault_control = nullptr;

std::string
MirrorText (WeftDocument *document)
{
  g_autoptr (WeftSnapshot) snapshot = weft_document_dup_snapshot (document);
  size_t len = 0;
  g_autofree char *text = weft_snapshot_dup_utf8 (snapshot, &len);
  return std::string (text, len);
}

std::string
BufferText (WeftPage *page)
{
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (weft_page_get_document (page)));
  GtkTextIter start, end;
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  g_autofree char *text = gtk_text_buffer_get_text (buffer, &start, &end, TRUE);
  return text;
}

// Every label under @widget, popovers and toasts included.
bool
ShowsText (GtkWidget *widget, const char *needle)
{
  if (GTK_IS_LABEL (widget))
    {
      const char *text = gtk_label_get_text (GTK_LABEL (widget));
      if (text != nullptr && strstr (text, needle) != nullptr && gtk_widget_get_mapped (widget))
        return true;
    }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != nullptr;
       child = gtk_widget_get_next_sibling (child))
    if (ShowsText (child, needle))
      return true;
  return false;
}

template <typename T>
T *
FindToplevel (GType type)
{
  g_autoptr (GList) toplevels = gtk_window_list_toplevels ();
  for (GList *l = toplevels; l != nullptr; l = l->next)
    if (G_TYPE_CHECK_INSTANCE_TYPE (l->data, type) && gtk_widget_get_visible (GTK_WIDGET (l->data)))
      return reinterpret_cast<T *> (l->data);
  return nullptr;
}

class WeftWindowTest : public ::testing::Test
{
protected:
  void SetUp () override
  {
    dir_ = g_dir_make_tmp ("weft-gui-XXXXXX", nullptr);
    ASSERT_NE (dir_, nullptr);
    window_ = weft_application_new_window (the_app);
    ASSERT_TRUE (WaitUntil ([&] { return gtk_widget_get_mapped (GTK_WIDGET (window_)); }));
  }

  void TearDown () override
  {
    // Close for real: leftover dialogs first, then the window without asking.
    if (AdwMessageDialog *dialog = FindToplevel<AdwMessageDialog> (ADW_TYPE_MESSAGE_DIALOG))
      gtk_window_destroy (GTK_WINDOW (dialog));
    gtk_window_destroy (GTK_WINDOW (window_));
    Drain ();
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir_);
    ASSERT_EQ (system (cmd), 0);
    g_free (dir_);
  }

  std::string Path (const char *name) const
  {
    g_autofree char *p = g_build_filename (dir_, name, nullptr);
    return p;
  }

  static void WriteFile (const std::string &path, const std::string &bytes)
  {
    ASSERT_TRUE (g_file_set_contents (path.c_str (), bytes.data (), (gssize) bytes.size (), nullptr));
  }

  static std::string ReadFile (const std::string &path)
  {
    g_autofree char *buf = nullptr;
    gsize len = 0;
    if (!g_file_get_contents (path.c_str (), &buf, &len, nullptr))
      return "<missing>";
    return std::string (buf, len);
  }

  WeftPage *Open (const std::string &path, int line = 0)
  {
    g_autoptr (GFile) file = g_file_new_for_path (path.c_str ());
    weft_window_open_file (window_, file, line);
    WeftPage *page = nullptr;
    EXPECT_TRUE (WaitUntil ([&] {
      page = weft_window_get_active_page (window_);
      return page != nullptr && !weft_document_get_busy (weft_page_get_document (page)) &&
             weft_document_get_file (weft_page_get_document (page)) != nullptr;
    }));
    return page;
  }

  void Activate (const char *action)
  {
    ASSERT_TRUE (g_action_group_has_action (G_ACTION_GROUP (window_), action)) << action;
    g_action_group_activate_action (G_ACTION_GROUP (window_), action, nullptr);
  }

  static void Type (WeftPage *page, const char *text)
  {
    // The view's own keybinding signal: the same interactive insertion that
    // typing goes through, including undo grouping.
    g_signal_emit_by_name (weft_page_get_view (page), "insert-at-cursor", text);
  }

  static void MoveCursorToEnd (WeftPage *page)
  {
    GtkTextBuffer *buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (weft_page_get_document (page)));
    GtkTextIter end;
    gtk_text_buffer_get_end_iter (buffer, &end);
    gtk_text_buffer_place_cursor (buffer, &end);
  }

  AdwMessageDialog *WaitForDialog ()
  {
    AdwMessageDialog *dialog = nullptr;
    EXPECT_TRUE (WaitUntil ([&] {
      dialog = FindToplevel<AdwMessageDialog> (ADW_TYPE_MESSAGE_DIALOG);
      return dialog != nullptr && gtk_widget_get_mapped (GTK_WIDGET (dialog));
    }));
    return dialog;
  }

  char *dir_ = nullptr;
  WeftWindow *window_ = nullptr;
};

TEST_F (WeftWindowTest, OpenTypeUndoSaveWritesExactBytes)
{
  WriteFile (Path ("notes.txt"), "first line\nsecond ✓\n");
  WeftPage *page = Open (Path ("notes.txt"));
  ASSERT_NE (page, nullptr);
  EXPECT_EQ (BufferText (page), "first line\nsecond ✓\n");
  EXPECT_STREQ (gtk_window_get_title (GTK_WINDOW (window_)), "notes.txt — Weft");

  MoveCursorToEnd (page);
  Type (page, "typo");
  EXPECT_TRUE (weft_document_get_modified (weft_page_get_document (page)));
  EXPECT_STREQ (gtk_window_get_title (GTK_WINDOW (window_)), "• notes.txt — Weft");

  gtk_widget_activate_action (GTK_WIDGET (weft_page_get_view (page)), "text.undo", nullptr);
  EXPECT_EQ (BufferText (page), "first line\nsecond ✓\n");

  Type (page, "third — ünïcode\n");
  Activate ("save");
  ASSERT_TRUE (WaitUntil ([&] { return !weft_document_get_modified (weft_page_get_document (page)); }));
  EXPECT_EQ (ReadFile (Path ("notes.txt")), "first line\nsecond ✓\nthird — ünïcode\n");
  EXPECT_STREQ (gtk_window_get_title (GTK_WINDOW (window_)), "notes.txt — Weft");
}

static bool
CursorIsOnScreen (WeftPage *page)
{
  GtkTextView *view = GTK_TEXT_VIEW (weft_page_get_view (page));
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (view);
  GtkTextIter iter;
  GdkRectangle visible, cursor;

  gtk_text_buffer_get_iter_at_mark (buffer, &iter, gtk_text_buffer_get_insert (buffer));
  gtk_text_view_get_visible_rect (view, &visible);
  gtk_text_view_get_iter_location (view, &iter, &cursor);
  return visible.height > 0 && cursor.y >= visible.y && cursor.y + cursor.height <= visible.y + visible.height;
}

TEST_F (WeftWindowTest, OpenAtLinePutsTheCursorThereAndShowsIt)
{
  std::string text;
  for (int i = 1; i <= 400; i++)
    text += "line " + std::to_string (i) + "\n";
  WriteFile (Path ("lines.txt"), text);
  // A second tab, so the file opens in a view that was never shown before.
  weft_window_new_document (window_);
  Type (weft_window_get_active_page (window_), "keep this tab");
  WeftPage *page = Open (Path ("lines.txt"), 300);
  ASSERT_NE (page, nullptr);
  int line = 0, column = 0;
  ASSERT_TRUE (WaitUntil ([&] {
    weft_page_get_cursor (page, &line, &column);
    return line == 300;
  }));
  EXPECT_EQ (column, 1);
  // Once GTK has laid the lines out, line 300 is on screen.
  EXPECT_TRUE (WaitUntil ([&] { return CursorIsOnScreen (page); }));
  EXPECT_TRUE (WaitUntil ([&] { return !g_main_context_pending (nullptr); }));
  EXPECT_TRUE (CursorIsOnScreen (page));
}

TEST_F (WeftWindowTest, SyntaxHighlightingFollowsTheFileName)
{
  WriteFile (Path ("prog.c"), "int main (void) { return 0; }\n");
  WeftPage *page = Open (Path ("prog.c"));
  ASSERT_NE (page, nullptr);
  GtkSourceLanguage *language = gtk_source_buffer_get_language (weft_document_get_buffer (weft_page_get_document (page)));
  ASSERT_NE (language, nullptr);
  EXPECT_STREQ (gtk_source_language_get_id (language), "c");
}

TEST_F (WeftWindowTest, SaveAsWritesTheNewFileAndRetitles)
{
  WeftPage *page = weft_window_new_document (window_);
  Type (page, "fresh text\n");
  Activate ("save-as");

  g_autoptr (GFile) target = g_file_new_for_path (Path ("saved-as.txt").c_str ());
  ASSERT_TRUE (AcceptFileChooser (target));

  ASSERT_TRUE (WaitUntil ([&] { return !weft_document_get_modified (weft_page_get_document (page)); }));
  EXPECT_EQ (ReadFile (Path ("saved-as.txt")), "fresh text\n");
  EXPECT_STREQ (weft_document_get_title (weft_page_get_document (page)), "saved-as.txt");
  EXPECT_STREQ (gtk_window_get_title (GTK_WINDOW (window_)), "saved-as.txt — Weft");
}

TEST_F (WeftWindowTest, UnsavedChangesCancelKeepsTheTab)
{
  WriteFile (Path ("keep.txt"), "original\n");
  WeftPage *page = Open (Path ("keep.txt"));
  Type (page, "edit ");
  Activate ("close-page");

  AdwMessageDialog *dialog = WaitForDialog ();
  ASSERT_NE (dialog, nullptr);
  adw_message_dialog_response (dialog, "cancel");
  Drain ();

  EXPECT_EQ (weft_window_get_n_pages (window_), 1u);
  EXPECT_EQ (BufferText (page), "edit original\n");
  EXPECT_EQ (ReadFile (Path ("keep.txt")), "original\n");
}

TEST_F (WeftWindowTest, UnsavedChangesDiscardClosesWithoutWriting)
{
  WriteFile (Path ("discard.txt"), "original\n");
  WeftPage *page = Open (Path ("discard.txt"));
  Type (page, "throw away ");
  Activate ("close-page");

  AdwMessageDialog *dialog = WaitForDialog ();
  ASSERT_NE (dialog, nullptr);
  adw_message_dialog_response (dialog, "discard");
  ASSERT_TRUE (WaitUntil ([&] { return weft_window_get_n_pages (window_) == 0; }));
  EXPECT_EQ (ReadFile (Path ("discard.txt")), "original\n");
}

TEST_F (WeftWindowTest, UnsavedChangesSaveWritesThenCloses)
{
  WriteFile (Path ("save.txt"), "original\n");
  WeftPage *page = Open (Path ("save.txt"));
  Type (page, "kept ");
  Activate ("close-page");

  AdwMessageDialog *dialog = WaitForDialog ();
  ASSERT_NE (dialog, nullptr);
  adw_message_dialog_response (dialog, "save");
  ASSERT_TRUE (WaitUntil ([&] { return weft_window_get_n_pages (window_) == 0; }));
  EXPECT_EQ (ReadFile (Path ("save.txt")), "kept original\n");
}

TEST_F (WeftWindowTest, ClosingTheWindowAsksAboutEachModifiedDocument)
{
  WriteFile (Path ("a.txt"), "a\n");
  WriteFile (Path ("b.txt"), "b\n");
  Type (Open (Path ("a.txt")), "A");
  Type (Open (Path ("b.txt")), "B");
  ASSERT_EQ (weft_window_get_n_pages (window_), 2u);

  gtk_window_close (GTK_WINDOW (window_));
  AdwMessageDialog *first = WaitForDialog ();
  ASSERT_NE (first, nullptr);
  adw_message_dialog_response (first, "discard");
  ASSERT_TRUE (WaitUntil ([&] {
    AdwMessageDialog *d = FindToplevel<AdwMessageDialog> (ADW_TYPE_MESSAGE_DIALOG);
    return d != nullptr && d != first;
  }));
  // Cancelling the second keeps the window and both documents.
  adw_message_dialog_response (FindToplevel<AdwMessageDialog> (ADW_TYPE_MESSAGE_DIALOG), "cancel");
  Drain ();
  EXPECT_TRUE (gtk_widget_get_visible (GTK_WIDGET (window_)));
  EXPECT_EQ (weft_window_get_n_pages (window_), 2u);
  EXPECT_EQ (ReadFile (Path ("a.txt")), "a\n");
}

TEST_F (WeftWindowTest, InvalidUtf8ShowsAMessageAndChangesNothing)
{
  const std::string latin1 = "caf\xe9 cr\xe8me\n";
  WriteFile (Path ("latin1.txt"), latin1);
  g_autoptr (GFile) file = g_file_new_for_path (Path ("latin1.txt").c_str ());
  weft_window_open_file (window_, file, 0);

  ASSERT_TRUE (WaitUntil ([&] { return ShowsText (GTK_WIDGET (window_), "is not valid UTF-8 text"); }));
  EXPECT_TRUE (ShowsText (GTK_WIDGET (window_), "latin1.txt"));
  EXPECT_EQ (weft_window_get_n_pages (window_), 0u);
  EXPECT_EQ (ReadFile (Path ("latin1.txt")), latin1);
}

// The first slice of a file shows while the rest is read; a file that
// turns out not to be UTF-8 further on must still come to nothing.
TEST_F (WeftWindowTest, InvalidUtf8AfterTheFirstScreenfulShowsAMessageAndChangesNothing)
{
  std::string text;
  while (text.size () < 200 * 1024)
    text += "a perfectly good line of text\n";
  text += "caf\xe9\n";
  WriteFile (Path ("late-latin1.txt"), text);
  g_autoptr (GFile) file = g_file_new_for_path (Path ("late-latin1.txt").c_str ());
  weft_window_open_file (window_, file, 0);

  ASSERT_TRUE (WaitUntil ([&] { return ShowsText (GTK_WIDGET (window_), "is not valid UTF-8 text"); }));
  EXPECT_EQ (weft_window_get_n_pages (window_), 0u);
  EXPECT_EQ (ReadFile (Path ("late-latin1.txt")), text);
}

TEST_F (WeftWindowTest, MissingFileShowsAMessage)
{
  g_autoptr (GFile) file = g_file_new_for_path (Path ("does-not-exist.txt").c_str ());
  weft_window_open_file (window_, file, 0);

  ASSERT_TRUE (WaitUntil ([&] { return ShowsText (GTK_WIDGET (window_), "does-not-exist.txt"); }));
  EXPECT_TRUE (ShowsText (GTK_WIDGET (window_), "does not exist"));
  EXPECT_EQ (weft_window_get_n_pages (window_), 0u);
}

TEST_F (WeftWindowTest, DirectoryShowsAMessage)
{
  g_autoptr (GFile) file = g_file_new_for_path (dir_);
  weft_window_open_file (window_, file, 0);
  ASSERT_TRUE (WaitUntil ([&] { return ShowsText (GTK_WIDGET (window_), "is a folder"); }));
}

TEST_F (WeftWindowTest, FailedSaveShowsWhyAndKeepsTheEdits)
{
  ASSERT_TRUE (g_mkdir_with_parents (Path ("gone").c_str (), 0700) == 0);
  WriteFile (Path ("gone/x.txt"), "on disk\n");
  WeftPage *page = Open (Path ("gone/x.txt"));
  Type (page, "unsaved ");
  // The folder disappears behind the editor's back.
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s/gone'", dir_);
  ASSERT_EQ (system (cmd), 0);

  Activate ("save");
  ASSERT_TRUE (WaitUntil ([&] { return ShowsText (GTK_WIDGET (window_), "Could not save"); }));
  EXPECT_TRUE (weft_document_get_modified (weft_page_get_document (page)));
  EXPECT_EQ (BufferText (page), "unsaved on disk\n");
}

TEST_F (WeftWindowTest, SearchCountsMatchesAndReplacesAll)
{
  WriteFile (Path ("search.txt"), "foo bar\nFoo baz foo\nqux\n");
  WeftPage *page = Open (Path ("search.txt"));
  Activate ("replace");

  GtkSearchEntry *entry = FindDescendant<GtkSearchEntry> (GTK_WIDGET (page), GTK_TYPE_SEARCH_ENTRY);
  ASSERT_NE (entry, nullptr);
  gtk_editable_set_text (GTK_EDITABLE (entry), "foo");
  // Case-insensitive by default: foo, Foo, foo.
  ASSERT_TRUE (WaitUntil ([&] { return weft_search_bar_get_n_matches (weft_page_get_search_bar (page)) == 3; }));
  ASSERT_TRUE (WaitUntil ([&] { return ShowsText (GTK_WIDGET (page), "of 3"); }));

  Activate ("find-next");
  ASSERT_TRUE (WaitUntil ([&] { return ShowsText (GTK_WIDGET (page), "2 of 3"); }));

  GtkEntry *replace = nullptr;
  for (GtkWidget *w = GTK_WIDGET (entry); w != nullptr && replace == nullptr; w = gtk_widget_get_parent (w))
    for (GtkWidget *c = gtk_widget_get_first_child (w); c != nullptr && replace == nullptr; c = gtk_widget_get_next_sibling (c))
      replace = FindDescendant<GtkEntry> (c, GTK_TYPE_ENTRY);
  ASSERT_NE (replace, nullptr);
  gtk_editable_set_text (GTK_EDITABLE (replace), "zap");
  weft_search_bar_replace_all (weft_page_get_search_bar (page));
  EXPECT_EQ (BufferText (page), "zap bar\nzap baz zap\nqux\n");
  ASSERT_TRUE (WaitUntil ([&] { return ShowsText (GTK_WIDGET (page), "No matches"); }));
}

TEST_F (WeftWindowTest, GoToLineMovesTheCursor)
{
  WriteFile (Path ("goto.txt"), "1\n2\n3\n4\n5\n6\n");
  WeftPage *page = Open (Path ("goto.txt"));
  weft_page_go_to_line (page, 4, 0);
  int line = 0, column = 0;
  weft_page_get_cursor (page, &line, &column);
  EXPECT_EQ (line, 5);
  EXPECT_TRUE (WaitUntil ([&] { return ShowsText (GTK_WIDGET (window_), "Ln 5, Col 1"); }));
}

TEST_F (WeftWindowTest, OpeningTheSameFileTwiceSelectsItsTab)
{
  WriteFile (Path ("once.txt"), "x\n");
  Open (Path ("once.txt"));
  weft_window_new_document (window_);
  ASSERT_EQ (weft_window_get_n_pages (window_), 2u);
  WeftPage *again = Open (Path ("once.txt"));
  EXPECT_EQ (weft_window_get_n_pages (window_), 2u);
  EXPECT_STREQ (weft_document_get_title (weft_page_get_document (again)), "once.txt");
}

// `weft a.txt b.txt` opens both at once, with no main-loop turn between:
// a new tab's load waits for its first frame, and the second file must not
// take that tab, which looks empty until then.
TEST_F (WeftWindowTest, FilesOpenedTogetherEachGetTheirOwnTab)
{
  WriteFile (Path ("a.txt"), "first\n");
  WriteFile (Path ("b.txt"), "second\n");
  WriteFile (Path ("c.txt"), "third\n");
  g_autoptr (GFile) a = g_file_new_for_path (Path ("a.txt").c_str ());
  g_autoptr (GFile) b = g_file_new_for_path (Path ("b.txt").c_str ());
  g_autoptr (GFile) c = g_file_new_for_path (Path ("c.txt").c_str ());
  // Into the window's untouched tab if it has one, then into new tabs.
  weft_window_new_document (window_);
  const guint before = weft_window_get_n_pages (window_);
  weft_window_open_file (window_, a, 0);
  weft_window_open_file (window_, b, 0);
  weft_window_open_file (window_, c, 0);

  auto loaded = [&] (guint i) {
    WeftDocument *doc = weft_page_get_document (weft_window_get_page (window_, i));
    return weft_document_get_file (doc) != nullptr && !weft_document_get_busy (doc);
  };
  ASSERT_TRUE (WaitUntil ([&] {
    guint n = weft_window_get_n_pages (window_);
    for (guint i = 0; i < n; i++)
      if (!loaded (i))
        return false;
    return n >= 3;
  }));
  ASSERT_EQ (weft_window_get_n_pages (window_), before + 2);
  guint n = weft_window_get_n_pages (window_);
  EXPECT_EQ (BufferText (weft_window_get_page (window_, n - 3)), "first\n");
  EXPECT_EQ (BufferText (weft_window_get_page (window_, n - 2)), "second\n");
  EXPECT_EQ (BufferText (weft_window_get_page (window_, n - 1)), "third\n");
}

TEST_F (WeftWindowTest, SavedFilesAppearInRecentFiles)
{
  WriteFile (Path ("recent.txt"), "r\n");
  Open (Path ("recent.txt"));
  g_autofree char *uri = g_filename_to_uri (Path ("recent.txt").c_str (), nullptr, nullptr);
  ASSERT_TRUE (WaitUntil ([&] {
    return gtk_recent_manager_has_item (gtk_recent_manager_get_default (), uri);
  }));
  // Reopening from the menu's action opens it again after the tab is gone.
  Activate ("close-page");
  ASSERT_TRUE (WaitUntil ([&] { return weft_window_get_n_pages (window_) == 0; }));
  g_action_group_activate_action (G_ACTION_GROUP (window_), "open-recent", g_variant_new_string (uri));
  ASSERT_TRUE (WaitUntil ([&] {
    WeftPage *p = weft_window_get_active_page (window_);
    return p != nullptr && !weft_document_get_busy (weft_page_get_document (p)) &&
           weft_document_get_file (weft_page_get_document (p)) != nullptr;
  }));
  EXPECT_EQ (BufferText (weft_window_get_active_page (window_)), "r\n");
}

TEST_F (WeftWindowTest, DroppedFilesOpenInTabs)
{
  WriteFile (Path ("dropped.txt"), "dropped\n");
  GtkDropTarget *target = nullptr;
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (window_));
  for (guint i = 0; i < g_list_model_get_n_items (controllers) && target == nullptr; i++)
    {
      g_autoptr (GObject) controller = G_OBJECT (g_list_model_get_item (controllers, i));
      if (GTK_IS_DROP_TARGET (controller))
        target = GTK_DROP_TARGET (controller);
    }
  ASSERT_NE (target, nullptr);

  g_autoptr (GFile) file = g_file_new_for_path (Path ("dropped.txt").c_str ());
  GSList *files = g_slist_prepend (nullptr, file);
  GValue value = G_VALUE_INIT;
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_set_boxed (&value, files);
  gboolean accepted = FALSE;
  g_signal_emit_by_name (target, "drop", &value, 10.0, 10.0, &accepted);
  g_value_unset (&value);
  g_slist_free (files);

  EXPECT_TRUE (accepted);
  ASSERT_TRUE (WaitUntil ([&] {
    WeftPage *p = weft_window_get_active_page (window_);
    return p != nullptr && !weft_document_get_busy (weft_page_get_document (p)) && BufferText (p) == "dropped\n";
  }));
}

TEST_F (WeftWindowTest, ZoomAndWrapChangeTheView)
{
  WeftPage *page = weft_window_new_document (window_);
  GtkTextView *view = GTK_TEXT_VIEW (weft_page_get_view (page));
  g_autoptr (GSettings) settings = g_settings_new ("io.github.weftedit.Weft");

  g_settings_set_boolean (settings, "wrap-text", FALSE);
  EXPECT_EQ (gtk_text_view_get_wrap_mode (view), GTK_WRAP_NONE);
  Activate ("wrap-text");
  EXPECT_NE (gtk_text_view_get_wrap_mode (view), GTK_WRAP_NONE);
  Activate ("wrap-text");
  EXPECT_EQ (gtk_text_view_get_wrap_mode (view), GTK_WRAP_NONE);

  g_settings_set_double (settings, "font-scale", 1.0);
  Drain ();
  auto font_size = [&] {
    return pango_font_description_get_size (
        pango_context_get_font_description (gtk_widget_get_pango_context (GTK_WIDGET (view))));
  };
  const int before = font_size ();
  Activate ("zoom-in");
  EXPECT_GT (g_settings_get_double (settings, "font-scale"), 1.0);
  ASSERT_TRUE (WaitUntil ([&] { return font_size () > before; }));
  Activate ("zoom-reset");
  EXPECT_DOUBLE_EQ (g_settings_get_double (settings, "font-scale"), 1.0);
}

TEST_F (WeftWindowTest, DarkStyleSwitchesTheColourScheme)
{
  WeftPage *page = weft_window_new_document (window_);
  GtkSourceBuffer *buffer = weft_document_get_buffer (weft_page_get_document (page));
  AdwStyleManager *style = adw_style_manager_get_default ();

  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_DARK);
  EXPECT_STREQ (gtk_source_style_scheme_get_id (gtk_source_buffer_get_style_scheme (buffer)), "Adwaita-dark");
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_LIGHT);
  EXPECT_STREQ (gtk_source_style_scheme_get_id (gtk_source_buffer_get_style_scheme (buffer)), "Adwaita");
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_DEFAULT);
}

TEST_F (WeftWindowTest, AboutAndShortcutsWindowsOpen)
{
  g_action_group_activate_action (G_ACTION_GROUP (the_app), "about", nullptr);
  AdwAboutWindow *about = nullptr;
  ASSERT_TRUE (WaitUntil ([&] { return (about = FindToplevel<AdwAboutWindow> (ADW_TYPE_ABOUT_WINDOW)) != nullptr; }));
  EXPECT_STREQ (adw_about_window_get_application_name (about), "Weft");
  // Its icons come with the application, installed or not.
  GtkIconTheme *theme = gtk_icon_theme_get_for_display (gtk_widget_get_display (GTK_WIDGET (about)));
  EXPECT_TRUE (gtk_icon_theme_has_icon (theme, "io.github.weftedit.Weft"));
  EXPECT_TRUE (gtk_icon_theme_has_icon (theme, "io.github.weftedit.Weft-symbolic"));
  gtk_window_destroy (GTK_WINDOW (about));

  Activate ("show-help-overlay");
  GtkShortcutsWindow *shortcuts = nullptr;
  ASSERT_TRUE (WaitUntil ([&] { return (shortcuts = FindToplevel<GtkShortcutsWindow> (GTK_TYPE_SHORTCUTS_WINDOW)) != nullptr; }));
  gtk_window_destroy (GTK_WINDOW (shortcuts));
}

TEST_F (WeftWindowTest, PreferencesChangeEveryOpenView)
{
  WeftPage *page = weft_window_new_document (window_);
  GtkSourceView *view = weft_page_get_view (page);
  g_autoptr (GSettings) settings = g_settings_new ("io.github.weftedit.Weft");

  g_action_group_activate_action (G_ACTION_GROUP (the_app), "preferences", nullptr);
  AdwPreferencesWindow *prefs = nullptr;
  ASSERT_TRUE (WaitUntil ([&] {
    return (prefs = FindToplevel<AdwPreferencesWindow> (ADW_TYPE_PREFERENCES_WINDOW)) != nullptr &&
           gtk_widget_get_mapped (GTK_WIDGET (prefs));
  }));

  // The rows act on the settings, and the settings on the view, at once.
  GtkSpinButton *tab_width = FindDescendant<GtkSpinButton> (GTK_WIDGET (prefs), GTK_TYPE_SPIN_BUTTON);
  ASSERT_NE (tab_width, nullptr);
  gtk_spin_button_set_value (tab_width, 4);
  EXPECT_EQ (g_settings_get_uint (settings, "tab-width"), 4u);
  EXPECT_EQ (gtk_source_view_get_tab_width (view), 4u);

  g_settings_set_boolean (settings, "insert-spaces", TRUE);
  EXPECT_TRUE (gtk_source_view_get_insert_spaces_instead_of_tabs (view));
  g_settings_set_boolean (settings, "show-line-numbers", FALSE);
  EXPECT_FALSE (gtk_source_view_get_show_line_numbers (view));

  g_settings_set_string (settings, "custom-font", "Serif 15");
  g_settings_set_boolean (settings, "use-custom-font", TRUE);
  ASSERT_TRUE (WaitUntil ([&] {
    const PangoFontDescription *desc = pango_context_get_font_description (gtk_widget_get_pango_context (GTK_WIDGET (view)));
    // CSS sizes fonts in pixels: 15 pt is 20 px at 96 dpi.
    return g_strcmp0 (pango_font_description_get_family (desc), "Serif") == 0 &&
           pango_font_description_get_size (desc) == 20 * PANGO_SCALE;
  }));

  for (const char *key : { "tab-width", "insert-spaces", "show-line-numbers", "custom-font", "use-custom-font" })
    g_settings_reset (settings, key);
  gtk_window_destroy (GTK_WINDOW (prefs));
}

// New tabs are built ahead while the window is idle: a tab built before a
// preference changed still follows it, and each tab has its own document.
TEST_F (WeftWindowTest, TabsBuiltAheadFollowLaterPreferences)
{
  g_autoptr (GSettings) settings = g_settings_new ("io.github.weftedit.Weft");
  Drain ();

  g_settings_set_boolean (settings, "show-line-numbers", FALSE);
  g_settings_set_uint (settings, "tab-width", 3);
  WeftPage *first = weft_window_new_document (window_);
  Drain ();
  g_settings_set_uint (settings, "tab-width", 5);
  WeftPage *second = weft_window_new_document (window_);

  EXPECT_FALSE (gtk_source_view_get_show_line_numbers (weft_page_get_view (first)));
  EXPECT_FALSE (gtk_source_view_get_show_line_numbers (weft_page_get_view (second)));
  EXPECT_EQ (gtk_source_view_get_tab_width (weft_page_get_view (first)), 5u);
  EXPECT_EQ (gtk_source_view_get_tab_width (weft_page_get_view (second)), 5u);
  EXPECT_NE (weft_page_get_document (first), weft_page_get_document (second));
  EXPECT_EQ (weft_window_get_n_pages (window_), 2u);

  Type (first, "one");
  EXPECT_EQ (BufferText (first), "one");
  EXPECT_EQ (BufferText (second), "");

  for (const char *key : { "show-line-numbers", "tab-width" })
    g_settings_reset (settings, key);
}

// A window that is never shown paints no frame to wait for: the file loads.
TEST_F (WeftWindowTest, AWindowNotShownStillLoadsTheFile)
{
  WriteFile (Path ("hidden.txt"), "not shown\n");
  WeftWindow *hidden = weft_window_new (GTK_APPLICATION (the_app));
  g_autoptr (GFile) file = g_file_new_for_path (Path ("hidden.txt").c_str ());

  weft_window_open_file (hidden, file, 0);
  WeftPage *page = nullptr;
  ASSERT_TRUE (WaitUntil ([&] {
    page = weft_window_get_active_page (hidden);
    return page != nullptr && !weft_document_get_busy (weft_page_get_document (page)) &&
           weft_document_get_file (weft_page_get_document (page)) != nullptr;
  }));
  EXPECT_EQ (BufferText (page), "not shown\n");
  gtk_window_destroy (GTK_WINDOW (hidden));
}

TEST_F (WeftWindowTest, ColourSchemeKeepsItsVariantInTheDark)
{
  WeftPage *page = weft_window_new_document (window_);
  GtkSourceBuffer *buffer = weft_document_get_buffer (weft_page_get_document (page));
  g_autoptr (GSettings) settings = g_settings_new ("io.github.weftedit.Weft");
  AdwStyleManager *style = adw_style_manager_get_default ();

  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_LIGHT);
  g_settings_set_string (settings, "style-scheme", "solarized-light");
  EXPECT_STREQ (gtk_source_style_scheme_get_id (gtk_source_buffer_get_style_scheme (buffer)), "solarized-light");
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_DARK);
  EXPECT_STREQ (gtk_source_style_scheme_get_id (gtk_source_buffer_get_style_scheme (buffer)), "solarized-dark");
  // A scheme with no variant stays itself.
  g_settings_set_string (settings, "style-scheme", "cobalt");
  EXPECT_STREQ (gtk_source_style_scheme_get_id (gtk_source_buffer_get_style_scheme (buffer)), "cobalt");

  g_settings_reset (settings, "style-scheme");
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_DEFAULT);
}

static std::string
LargeTextForRestore ()
{
  std::string text;
  for (int i = 0; i < 50000; i++)
    text += "restored line " + std::to_string (i) + "\n";
  return text;
}

class WeftAutosaveTest : public WeftWindowTest
{
protected:
  void SetUp () override
  {
    WeftWindowTest::SetUp ();
    settings_ = g_settings_new ("io.github.weftedit.Weft");
    g_settings_set_uint (settings_, "autosave-delay", 1);
    session_ = weft_application_get_session (the_app);
    ASSERT_NE (session_, nullptr);
  }

  void TearDown () override
  {
    g_settings_reset (settings_, "autosave-delay");
    g_clear_object (&settings_);
    WeftWindowTest::TearDown ();
  }

  std::string DraftOf (WeftPage *page)
  {
    g_autoptr (GFile) draft = weft_session_dup_draft_file (session_, weft_page_get_document (page));
    if (draft == nullptr)
      return "<untracked>";
    g_autofree char *path = g_file_get_path (draft);
    return ReadFile (path);
  }

  std::string DraftPath (WeftPage *page)
  {
    g_autoptr (GFile) draft = weft_session_dup_draft_file (session_, weft_page_get_document (page));
    g_autofree char *path = g_file_get_path (draft);
    return path;
  }

  GSettings *settings_ = nullptr;
  WeftSession *session_ = nullptr;
};

TEST_F (WeftAutosaveTest, WritesAPrivateDraftSoonAfterTyping)
{
  WeftPage *page = weft_window_new_document (window_);
  Type (page, "draft text ✓");
  ASSERT_TRUE (WaitUntil ([&] { return DraftOf (page) == "draft text ✓"; })) << DraftOf (page) << " at " << DraftPath (page);

  struct stat st;
  ASSERT_EQ (stat (DraftPath (page).c_str (), &st), 0);
  EXPECT_EQ (st.st_mode & 0777, 0600u);
  ASSERT_EQ (stat (weft_session_get_dir (session_), &st), 0);
  EXPECT_EQ (st.st_mode & 0777, 0700u);
  // Still unsaved: the draft is a copy, not a save.
  EXPECT_TRUE (weft_document_get_modified (weft_page_get_document (page)));

  // The session file lists the document and its draft.
  g_autofree char *session_path = g_build_filename (weft_session_get_dir (session_), "session.ini", nullptr);
  ASSERT_TRUE (WaitUntil ([&] { return ReadFile (session_path).find ("draft=true") != std::string::npos; }));

  // Later edits reach the draft too.
  Type (page, " more");
  ASSERT_TRUE (WaitUntil ([&] { return DraftOf (page) == "draft text ✓ more"; }));
}

TEST_F (WeftAutosaveTest, DraftsAreWrittenBySandboxedWorkerProcessesToo)
{
  g_setenv ("WEFT_WORKER_PATH", WEFT_WORKER_FOR_TESTS, TRUE);
  g_settings_set_string (settings_, "worker-backend", "processes");
  ASSERT_STREQ (weft_backend_get_name (weft_application_get_backend (the_app)), "processes");

  WeftPage *page = weft_window_new_document (window_);
  Type (page, "written by a worker process");
  ASSERT_TRUE (WaitUntil ([&] { return DraftOf (page) == "written by a worker process"; }));
  struct stat st;
  ASSERT_EQ (stat (DraftPath (page).c_str (), &st), 0);
  EXPECT_EQ (st.st_mode & 0777, 0600u);

  // The file is in place a moment before the job's result reaches the stats.
  EXPECT_TRUE (WaitUntil ([&] {
    WeftBackendStats stats;
    weft_backend_get_stats (weft_application_get_backend (the_app), &stats);
    return stats.completed >= 1 && stats.ipc_bytes > 0;
  }));
  g_settings_reset (settings_, "worker-backend");
}

TEST_F (WeftAutosaveTest, EachDraftJobReportsToTheStatsUnderTheWatchdog)
{
  WeftBackend *backend = weft_application_get_backend (the_app);
  WeftWatchdog *watchdog = weft_application_get_watchdog (the_app);
  ASSERT_NE (watchdog, nullptr);
  WeftBackendStats before;
  weft_backend_get_stats (backend, &before);
  weft_watchdog_reset (watchdog);

  WeftPage *page = weft_window_new_document (window_);
  Type (page, "counted");
  ASSERT_TRUE (WaitUntil ([&] { return DraftOf (page) == "counted"; }));

  // The job's result reaches the stats a moment after its file is in place.
  WeftBackendStats after;
  EXPECT_TRUE (WaitUntil ([&] {
    weft_backend_get_stats (backend, &after);
    return after.completed > before.completed;
  }));
  EXPECT_GT (after.submitted, before.submitted);
  EXPECT_GT (after.run_us, before.run_us);
  EXPECT_EQ (after.failed, before.failed);
  // The main loop that submitted it and took its result was watched.
  WeftWatchdogStats watched;
  weft_watchdog_get_stats (watchdog, &watched);
  EXPECT_GT (watched.n_iterations, 0u);
  EXPECT_GT (watched.busy_us, 0);

  // A failed draft counts as failed.
  weft_fault_control_set (fault_control, (std::string ("ops=open errno=EIO path=") +
                                          weft_session_get_dir (session_) + "/.*.weft-*").c_str ());
  Type (page, " again");
  bool failed = WaitUntil ([&] {
    weft_backend_get_stats (backend, &after);
    return after.failed > before.failed;
  });
  weft_fault_control_set (fault_control, "");
  EXPECT_TRUE (failed);
  EXPECT_TRUE (WaitUntil ([&] { return DraftOf (page) == "counted again"; }));
}

TEST_F (WeftAutosaveTest, SavingAndClosingRemoveTheDraft)
{
  WriteFile (Path ("kept.txt"), "on disk\n");
  WeftPage *page = Open (Path ("kept.txt"));
  Type (page, "typed ");
  ASSERT_TRUE (WaitUntil ([&] { return DraftOf (page) == "typed on disk\n"; }));
  const std::string draft = DraftPath (page);

  Activate ("save");
  ASSERT_TRUE (WaitUntil ([&] { return !g_file_test (draft.c_str (), G_FILE_TEST_EXISTS); }));
  EXPECT_EQ (ReadFile (Path ("kept.txt")), "typed on disk\n");

  Type (page, "again ");
  ASSERT_TRUE (WaitUntil ([&] { return g_file_test (draft.c_str (), G_FILE_TEST_EXISTS); }));
  Activate ("close-page");
  AdwMessageDialog *dialog = WaitForDialog ();
  ASSERT_NE (dialog, nullptr);
  adw_message_dialog_response (dialog, "discard");
  ASSERT_TRUE (WaitUntil ([&] { return !g_file_test (draft.c_str (), G_FILE_TEST_EXISTS); }));
}

TEST_F (WeftAutosaveTest, RestoringADraftBringsBackTheUnsavedChanges)
{
  WriteFile (Path ("restore.txt"), "saved text\n");
  WriteFile (Path ("restore.draft"), "saved text\nunsaved line\n");
  WeftSessionEntry entry = {};
  entry.id = (char *) "restore-test";
  g_autoptr (GFile) file = g_file_new_for_path (Path ("restore.txt").c_str ());
  g_autoptr (GFile) draft = g_file_new_for_path (Path ("restore.draft").c_str ());
  entry.file = file;
  entry.draft = draft;
  entry.line = 1;
  entry.column = 3;

  weft_window_restore (window_, &entry);
  WeftPage *page = nullptr;
  ASSERT_TRUE (WaitUntil ([&] {
    page = weft_window_get_active_page (window_);
    return page != nullptr && !weft_document_get_busy (weft_page_get_document (page)) &&
           weft_document_get_file (weft_page_get_document (page)) != nullptr;
  }));
  WeftDocument *document = weft_page_get_document (page);
  EXPECT_EQ (BufferText (page), "saved text\nunsaved line\n");
  EXPECT_TRUE (weft_document_get_modified (document)) << "restored changes are unsaved changes";
  EXPECT_TRUE (g_file_equal (weft_document_get_file (document), file));
  EXPECT_EQ (ReadFile (Path ("restore.txt")), "saved text\n");
  int line = 0, column = 0;
  weft_page_get_cursor (page, &line, &column);
  EXPECT_EQ (line, 2);
  EXPECT_EQ (column, 4);
}

TEST_F (WeftAutosaveTest, OpeningAFileBeingRestoredDoesNotOpenItTwice)
{
  WriteFile (Path ("twice.txt"), LargeTextForRestore ());
  WeftSessionEntry entry = {};
  entry.id = (char *) "twice-test";
  g_autoptr (GFile) file = g_file_new_for_path (Path ("twice.txt").c_str ());
  entry.file = file;

  weft_window_restore (window_, &entry);
  // The same file from the command line, while the restored tab still loads.
  weft_window_open_file (window_, file, 0);
  ASSERT_TRUE (WaitUntil ([&] {
    WeftPage *p = weft_window_get_active_page (window_);
    return p != nullptr && !weft_document_get_busy (weft_page_get_document (p));
  }));
  EXPECT_EQ (weft_window_get_n_pages (window_), 1u);
}

TEST_F (WeftAutosaveTest, AFailingDraftIsSaidOnceAndRecovers)
{
  WeftPage *page = weft_window_new_document (window_);
  Type (page, "first");
  ASSERT_TRUE (WaitUntil ([&] { return DraftOf (page) == "first"; }));

  // Writes past 4 bytes now fail (EFBIG), in every thread of this process.
  struct rlimit old_limit;
  ASSERT_EQ (getrlimit (RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit tiny = { 4, old_limit.rlim_max };
  void (*old_handler) (int) = signal (SIGXFSZ, SIG_IGN);
  ASSERT_EQ (setrlimit (RLIMIT_FSIZE, &tiny), 0);

  Type (page, " second");
  bool shown = WaitUntil ([&] { return ShowsText (GTK_WIDGET (window_), "could not be written to a draft"); });
  // The previous draft is intact.
  std::string during = DraftOf (page);

  ASSERT_EQ (setrlimit (RLIMIT_FSIZE, &old_limit), 0);
  signal (SIGXFSZ, old_handler);

  EXPECT_TRUE (shown);
  EXPECT_EQ (during, "first");

  Type (page, " third");
  ASSERT_TRUE (WaitUntil ([&] { return DraftOf (page) == "first second third"; }));
  EXPECT_TRUE (WaitUntil ([&] { return !ShowsText (GTK_WIDGET (window_), "could not be written to a draft"); }));
}

TEST_F (WeftAutosaveTest, AnInjectedErrorIsSaidOnceAndSavingResumesByItself)
{
  struct Case
  {
    const char *backend;
    const char *op;
    const char *errname;
    bool to_file;  // autosave to the document's own file rather than a draft
  };
  const Case cases[] = {
    { "threads", "open", "ENOSPC", false },   { "processes", "write", "EIO", false },
    { "threads", "fsync", "EACCES", false },  { "processes", "rename", "EROFS", false },
    { "processes", "write", "ENOSPC", true },
  };
  int n_failed = 0, n_recovered = 0;
  gulong failed_id = g_signal_connect_swapped (session_, "autosave-failed", G_CALLBACK (+[] (int *n) { (*n)++; }),
                                               &n_failed);
  gulong recovered_id = g_signal_connect_swapped (session_, "autosave-recovered",
                                                  G_CALLBACK (+[] (int *n) { (*n)++; }), &n_recovered);
  g_setenv ("WEFT_WORKER_PATH", WEFT_WORKER_FOR_TESTS, TRUE);

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case &c = cases[i];
      SCOPED_TRACE (std::string (c.backend) + " " + c.op + " " + c.errname + (c.to_file ? " to the file" : ""));
      const std::string path = Path (("user-" + std::to_string (i) + ".txt").c_str ());
      const char *banner = c.to_file ? "could not be saved automatically" : "could not be written to a draft";

      g_settings_set_string (settings_, "worker-backend", c.backend);
      g_settings_set_boolean (settings_, "autosave-to-file", c.to_file);
      WriteFile (path, "on disk\n");
      WeftPage *page = Open (path);
      ASSERT_NE (page, nullptr);
      WeftDocument *document = weft_page_get_document (page);
      Type (page, "first ");
      if (c.to_file)
        ASSERT_TRUE (WaitUntil ([&] { return ReadFile (path) == "first on disk\n" && !weft_document_get_modified (document); }));
      else
        ASSERT_TRUE (WaitUntil ([&] { return DraftOf (page) == "first on disk\n"; }));
      n_failed = n_recovered = 0;

      // Every temp file in the drafts folder (drafts and the session file),
      // or the document's, now fails; reading the drafts still works.
      g_autofree char *config = g_strdup_printf ("ops=%s errno=%s path=%s", c.op, c.errname,
                                                 c.to_file ? (std::string (dir_) + "/.user-" + std::to_string (i) + ".txt.weft-*").c_str ()
                                                           : (std::string (weft_session_get_dir (session_)) + "/.*.weft-*").c_str ());
      weft_fault_control_set (fault_control, config);
      Type (page, "second ");
      // Typed once: the further attempts are the editor's own retries.
      bool retried = WaitUntil ([&] { return weft_fault_control_get_injected (fault_control) >= 3; });
      bool shown = ShowsText (GTK_WIDGET (window_), banner);
      std::string file_during = ReadFile (path);
      std::string draft_during = DraftOf (page);
      weft_fault_control_set (fault_control, "");

      EXPECT_TRUE (retried);
      EXPECT_TRUE (shown);
      EXPECT_EQ (n_failed, 1) << "one banner, however many attempts";
      EXPECT_EQ (n_recovered, 0);
      EXPECT_EQ (file_during, c.to_file ? "first on disk\n" : "on disk\n");
      if (!c.to_file)
        {
          EXPECT_EQ (draft_during, "first on disk\n");
        }

      // Lifted: the next retry writes without any typing, and the banner goes.
      if (c.to_file)
        EXPECT_TRUE (WaitUntil ([&] { return ReadFile (path) == "first second on disk\n"; }));
      else
        EXPECT_TRUE (WaitUntil ([&] { return DraftOf (page) == "first second on disk\n"; }));
      EXPECT_TRUE (WaitUntil ([&] { return !ShowsText (GTK_WIDGET (window_), banner); }));
      EXPECT_EQ (n_failed, 1);
      EXPECT_EQ (n_recovered, 1);
      if (!c.to_file)
        {
          EXPECT_EQ (ReadFile (path), "on disk\n");
        }
    }

  g_signal_handler_disconnect (session_, failed_id);
  g_signal_handler_disconnect (session_, recovered_id);
  g_settings_reset (settings_, "worker-backend");
  g_settings_reset (settings_, "autosave-to-file");
}

// A text GTK takes seconds to measure once it is in (it measures every line
// in the background): 6 MB of long lines.
std::string
SlowToMeasureText ()
{
  std::string line;
  for (int i = 0; i < 40; i++)
    line += "the quick brown fox jumps over ";
  std::string text;
  for (int i = 0; i < 5000; i++)
    text += line + "\n";
  return text;
}

// The height of line @line: 0 until GTK has measured it.
int
LineHeight (WeftPage *page, int line)
{
  GtkTextIter iter;
  int y = 0, height = -1;

  gtk_text_buffer_get_iter_at_line (GTK_TEXT_BUFFER (weft_document_get_buffer (weft_page_get_document (page))), &iter,
                                    line);
  gtk_text_view_get_line_yrange (GTK_TEXT_VIEW (weft_page_get_view (page)), &iter, &y, &height);
  return height;
}

// The height of the document's last line of text (the one before the
// empty line after its final newline): 0 until GTK has measured it.
int
LastLineHeight (WeftPage *page)
{
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (weft_page_get_document (page)));

  return LineHeight (page, MAX (0, gtk_text_buffer_get_line_count (buffer) - 2));
}

// A text whose lines GTK measures for seconds after it is in: 100,000
// short lines.
std::string
ManyLinesText ()
{
  std::string text;
  for (int i = 0; i < 100000; i++)
    text += std::to_string (1000000 + i) + " lorem ipsum dolor sit amet, consectetur adipiscing elit\n";
  return text;
}

bool
CursorShown (WeftPage *page)
{
  GtkTextView *view = GTK_TEXT_VIEW (weft_page_get_view (page));
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (view);
  GdkRectangle rect, cursor;
  GtkTextIter iter;

  gtk_text_view_get_visible_rect (view, &rect);
  gtk_text_buffer_get_iter_at_mark (buffer, &iter, gtk_text_buffer_get_insert (buffer));
  gtk_text_view_get_iter_location (view, &iter, &cursor);
  return cursor.y >= rect.y && cursor.y + cursor.height <= rect.y + rect.height;
}

int
TopLine (WeftPage *page)
{
  GtkTextView *view = GTK_TEXT_VIEW (weft_page_get_view (page));
  GdkRectangle rect;
  GtkTextIter iter;

  gtk_text_view_get_visible_rect (view, &rect);
  gtk_text_view_get_line_at_y (view, &iter, rect.y, nullptr);
  return gtk_text_iter_get_line (&iter);
}

// Runs the main loop for @ms milliseconds and counts the iterations after
// which @holds is false.
template <typename F>
int
CountFailures (int ms, F holds)
{
  gint64 until = g_get_monotonic_time () + (gint64) ms * 1000;
  int failures = 0;

  while (g_get_monotonic_time () < until)
    {
      g_main_context_iteration (nullptr, FALSE);
      if (!holds ())
        failures++;
    }
  return failures;
}

// While GTK still measures the lines of a large text, Ctrl+End shows the
// end and keeps showing it, and so does typing there. (GTK 4.8 alone
// stopped the scroll a tenth of the way down, and showed the lines being
// measured between keys.)
TEST_F (WeftWindowTest, TheEndStaysInViewWhileGtkMeasuresLines)
{
  WriteFile (Path ("many.txt"), ManyLinesText ());
  WeftPage *page = Open (Path ("many.txt"));
  GtkWidget *view = GTK_WIDGET (weft_page_get_view (page));

  gtk_widget_grab_focus (view);
  ASSERT_EQ (LastLineHeight (page), 0) << "GTK measured every line before the test began";
  g_signal_emit_by_name (view, "move-cursor", GTK_MOVEMENT_BUFFER_ENDS, 1, FALSE);
  ASSERT_TRUE (WaitUntil ([&] { return CursorShown (page); }, 2000)) << "the view did not get to the end";
  EXPECT_EQ (CountFailures (1000, [&] { return CursorShown (page); }), 0);
  for (int i = 0; i < 5; i++)
    {
      g_signal_emit_by_name (view, "insert-at-cursor", "x");
      EXPECT_EQ (CountFailures (200, [&] { return CursorShown (page); }), 0) << "after key " << i;
    }
  EXPECT_EQ (LineHeight (page, 90000), 0) << "GTK measured every line before the test ended";
}

// Scrolled near the end and left there, the view keeps its first line
// while GTK measures the lines above it.
TEST_F (WeftWindowTest, AScrolledViewKeepsItsLinesWhileGtkMeasuresLines)
{
  WriteFile (Path ("many.txt"), ManyLinesText ());
  WeftPage *page = Open (Path ("many.txt"));
  GtkAdjustment *adj = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (weft_page_get_view (page)));

  ASSERT_EQ (LastLineHeight (page), 0) << "GTK measured every line before the test began";
  gtk_adjustment_set_value (adj, gtk_adjustment_get_upper (adj) - gtk_adjustment_get_page_size (adj));
  const int top = TopLine (page);
  ASSERT_GT (top, 0);
  EXPECT_EQ (CountFailures (1000, [&] { return TopLine (page) == top; }), 0) << "first line was " << top;
  EXPECT_EQ (LastLineHeight (page), 0) << "GTK measured every line before the test ended";
}

// The session does not wait for GTK to measure a large text: a tab opened
// meanwhile is in the session file, for a restart after kill -9.
TEST_F (WeftAutosaveTest, TheSessionListsATabOpenedWhileALargeTextIsMeasured)
{
  WriteFile (Path ("measured.txt"), SlowToMeasureText ());
  WriteFile (Path ("second.txt"), "second\n");
  WeftPage *large = Open (Path ("measured.txt"));
  Open (Path ("second.txt"));
  g_autofree char *session_path = g_build_filename (weft_session_get_dir (session_), "session.ini", nullptr);

  ASSERT_TRUE (WaitUntil ([&] { return ReadFile (session_path).find ("second.txt") != std::string::npos; }));
  EXPECT_EQ (LastLineHeight (large), 0) << "the session was written only once the large text was measured";
}

static GtkButton *
FindButton (GtkWidget *widget, const char *label)
{
  if (GTK_IS_BUTTON (widget) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), label) == 0)
    return GTK_BUTTON (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != nullptr;
       child = gtk_widget_get_next_sibling (child))
    if (GtkButton *found = FindButton (child, label))
      return found;
  return nullptr;
}

TEST_F (WeftWindowTest, AnotherProgramsChangeIsOfferedForReload)
{
  WriteFile (Path ("shared.txt"), "mine\n");
  WeftPage *page = Open (Path ("shared.txt"));
  ASSERT_NE (page, nullptr);

  WriteFile (Path ("shared.txt"), "theirs\n");
  ASSERT_TRUE (WaitUntil ([&] { return ShowsText (GTK_WIDGET (page), "was changed by another program"); }));
  // Nothing happens to the text until the user says so.
  EXPECT_EQ (BufferText (page), "mine\n");

  GtkButton *reload = FindButton (GTK_WIDGET (page), "_Reload");
  ASSERT_NE (reload, nullptr);
  gtk_widget_activate (GTK_WIDGET (reload));
  ASSERT_TRUE (WaitUntil ([&] { return BufferText (page) == "theirs\n"; }));
  EXPECT_FALSE (weft_document_get_modified (weft_page_get_document (page)));
  EXPECT_TRUE (WaitUntil ([&] { return !ShowsText (GTK_WIDGET (page), "was changed by another program"); }));
}

TEST_F (WeftWindowTest, SavingOverAnotherProgramsChangeAsksFirst)
{
  WriteFile (Path ("contested.txt"), "v1\n");
  WeftPage *page = Open (Path ("contested.txt"));
  Type (page, "mine ");
  WriteFile (Path ("contested.txt"), "theirs\n");
  ASSERT_TRUE (WaitUntil ([&] { return weft_document_get_disk_changed (weft_page_get_document (page)); }));

  Activate ("save");
  AdwMessageDialog *dialog = WaitForDialog ();
  ASSERT_NE (dialog, nullptr);
  adw_message_dialog_response (dialog, "cancel");
  Drain ();
  EXPECT_EQ (ReadFile (Path ("contested.txt")), "theirs\n");

  Activate ("save");
  dialog = WaitForDialog ();
  ASSERT_NE (dialog, nullptr);
  adw_message_dialog_response (dialog, "replace");
  ASSERT_TRUE (WaitUntil ([&] { return ReadFile (Path ("contested.txt")) == "mine v1\n"; }));
  ASSERT_TRUE (WaitUntil ([&] { return !weft_document_get_modified (weft_page_get_document (page)); }));
}

TEST_F (WeftWindowTest, ADeletedFileIsSaidAndSavingWritesItAgain)
{
  WriteFile (Path ("gone.txt"), "keep me\n");
  WeftPage *page = Open (Path ("gone.txt"));
  ASSERT_EQ (g_unlink (Path ("gone.txt").c_str ()), 0);
  ASSERT_TRUE (WaitUntil ([&] { return ShowsText (GTK_WIDGET (page), "was deleted or moved"); }));
  EXPECT_EQ (BufferText (page), "keep me\n");
  Activate ("save");
  ASSERT_TRUE (WaitUntil ([&] { return ReadFile (Path ("gone.txt")) == "keep me\n"; }));
}

// Sorts every line of @document and waits for the result to be in;
// @each_iteration runs on every main-loop turn meanwhile.
static bool
SortAllLines (WeftDocument                *document,
              const WeftSortOptions       &options,
              const std::function<void ()> &each_iteration = [] {})
{
  bool done = false;
  bool ok = false;
  struct Closure { bool *done; bool *ok; } closure = { &done, &ok };

  weft_document_sort_lines_async (
      document, 0, G_MAXINT, &options, nullptr,
      [] (GObject *object, GAsyncResult *result, gpointer user_data) {
        auto *c = static_cast<Closure *> (user_data);
        *c->ok = weft_document_sort_lines_finish (WEFT_DOCUMENT (object), result, nullptr);
        *c->done = true;
      },
      &closure);
  if (!WaitUntil ([&] { each_iteration (); return done; }, 60000))
    return false;
  return ok;
}

TEST_F (WeftWindowTest, SortingLargeTextReplacesItAndUndoRestoresIt)
{
  // 200,000 lines in a scrambled but fixed order.
  std::vector<std::string> lines;
  for (guint i = 0; i < 200000; i++)
    lines.push_back ("item " + std::to_string ((i * 7919u) % 200000u) + " ümlaut");
  std::string original;
  for (const auto &line : lines)
    original += line + "\n";
  std::vector<std::string> expected_lines = lines;
  std::sort (expected_lines.begin (), expected_lines.end ());
  std::string expected;
  for (const auto &line : expected_lines)
    expected += line + "\n";

  WriteFile (Path ("unsorted.txt"), original);
  WeftPage *page = Open (Path ("unsorted.txt"));
  ASSERT_NE (page, nullptr);
  WeftDocument *document = weft_page_get_document (page);
  ASSERT_TRUE (WaitUntil ([&] { return !weft_document_get_loading (document); }));

  WeftSortOptions options = {};
  options.collation = WEFT_SORT_COLLATION_BYTES;
  WeftBackendStats before, after;
  weft_backend_get_stats (weft_application_get_backend (the_app), &before);
  // While the result goes in, nobody may type: what is typed meanwhile is
  // refused, and the view hides its cursor.
  bool saw_read_only = false;
  ASSERT_TRUE (SortAllLines (document, options, [&] {
    if (!weft_document_get_read_only (document))
      return;
    saw_read_only = true;
    EXPECT_FALSE (gtk_text_view_get_cursor_visible (GTK_TEXT_VIEW (weft_page_get_view (page))));
    Type (page, "typed while sorting");
  }));
  EXPECT_TRUE (saw_read_only);
  EXPECT_TRUE (gtk_text_view_get_cursor_visible (GTK_TEXT_VIEW (weft_page_get_view (page))));
  // Sorted by the application's workers: a run and a merge job per worker.
  weft_backend_get_stats (weft_application_get_backend (the_app), &after);
  EXPECT_GE (after.completed - before.completed, 2u);
  EXPECT_FALSE (weft_document_get_read_only (document));
  // Plain comparisons: a diff of two long texts would take the test down.
  EXPECT_TRUE (BufferText (page) == expected);
  EXPECT_TRUE (weft_document_get_modified (document));

  // Typing after the sort is undone by the buffer's own undo, at once.
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (document));
  MoveCursorToEnd (page);
  Type (page, "typed after");
  ASSERT_TRUE (weft_document_undo (document));
  EXPECT_TRUE (BufferText (page) == expected);

  // The sort itself is not in the buffer's history (its undo would put
  // the whole text back in one blocking call) but in the document's, which
  // puts it back in slices while the view is read-only.
  EXPECT_FALSE (gtk_text_buffer_get_can_undo (buffer));
  ASSERT_TRUE (weft_document_get_can_undo (document));
  ASSERT_TRUE (weft_document_undo (document));
  EXPECT_TRUE (weft_document_get_read_only (document));
  ASSERT_TRUE (WaitUntil ([&] { return !weft_document_get_read_only (document); }, 60000));
  EXPECT_TRUE (BufferText (page) == original) << BufferText (page).substr (0, 200);
  EXPECT_TRUE (MirrorText (document) == original);
  // Back to the text that was loaded, so nothing is unsaved.
  EXPECT_FALSE (weft_document_get_modified (document));

  // Redo sorts again, also in slices; typing then drops what could be redone.
  ASSERT_TRUE (weft_document_get_can_redo (document));
  ASSERT_TRUE (weft_document_redo (document));
  ASSERT_TRUE (WaitUntil ([&] { return !weft_document_get_read_only (document); }, 60000));
  EXPECT_TRUE (BufferText (page) == expected);
  EXPECT_TRUE (weft_document_get_modified (document));
  ASSERT_TRUE (weft_document_undo (document));
  ASSERT_TRUE (WaitUntil ([&] { return !weft_document_get_read_only (document); }, 60000));
  Type (page, "new branch");
  EXPECT_FALSE (weft_document_get_can_redo (document));
  EXPECT_FALSE (weft_document_redo (document));
}

TEST_F (WeftWindowTest, UndoPastALargeReplacementComesBackThroughEarlierTyping)
{
  WriteFile (Path ("few.txt"), "c\nb\na\n");
  WeftPage *page = Open (Path ("few.txt"));
  ASSERT_NE (page, nullptr);
  WeftDocument *document = weft_page_get_document (page);
  ASSERT_TRUE (WaitUntil ([&] { return !weft_document_get_loading (document); }));

  MoveCursorToEnd (page);
  Type (page, "d\n");
  WeftSortOptions options = {};
  options.collation = WEFT_SORT_COLLATION_BYTES;
  bool done = false;
  weft_document_sort_lines_async (
      document, 0, G_MAXINT, &options, nullptr,
      [] (GObject *object, GAsyncResult *result, gpointer user_data) {
        EXPECT_TRUE (weft_document_sort_lines_finish (WEFT_DOCUMENT (object), result, nullptr));
        *static_cast<bool *> (user_data) = true;
      },
      &done);
  ASSERT_TRUE (WaitUntil ([&] { return done; }));
  EXPECT_EQ (BufferText (page), "a\nb\nc\nd\n");

  // Undo: the sort, then the typing before it, then nothing more.
  ASSERT_TRUE (weft_document_undo (document));
  ASSERT_TRUE (WaitUntil ([&] { return !weft_document_get_read_only (document); }));
  EXPECT_EQ (BufferText (page), "c\nb\na\nd\n");
  EXPECT_TRUE (weft_document_get_modified (document));
  ASSERT_TRUE (weft_document_undo (document));
  ASSERT_TRUE (WaitUntil ([&] { return !weft_document_get_read_only (document); }));
  EXPECT_EQ (BufferText (page), "c\nb\na\n");
  EXPECT_FALSE (weft_document_get_modified (document));
  EXPECT_FALSE (weft_document_get_can_undo (document));

  // And forward again through both.
  ASSERT_TRUE (weft_document_redo (document));
  ASSERT_TRUE (WaitUntil ([&] { return !weft_document_get_read_only (document); }));
  ASSERT_TRUE (weft_document_redo (document));
  ASSERT_TRUE (WaitUntil ([&] { return !weft_document_get_read_only (document); }));
  EXPECT_EQ (BufferText (page), "a\nb\nc\nd\n");
  EXPECT_EQ (MirrorText (document), "a\nb\nc\nd\n");
}

TEST_F (WeftWindowTest, UndoingASortOfSomeLinesLeavesTheOthersAlone)
{
  WriteFile (Path ("middle.txt"), "x\nc\nb\nä\ny\n");
  WeftPage *page = Open (Path ("middle.txt"));
  ASSERT_NE (page, nullptr);
  WeftDocument *document = weft_page_get_document (page);
  ASSERT_TRUE (WaitUntil ([&] { return !weft_document_get_loading (document); }));

  // The lines "c", "b" and "ä" only: chars 2 to 8.
  WeftSortOptions options = {};
  options.collation = WEFT_SORT_COLLATION_BYTES;
  bool done = false;
  weft_document_sort_lines_async (
      document, 2, 8, &options, nullptr,
      [] (GObject *object, GAsyncResult *result, gpointer user_data) {
        EXPECT_TRUE (weft_document_sort_lines_finish (WEFT_DOCUMENT (object), result, nullptr));
        *static_cast<bool *> (user_data) = true;
      },
      &done);
  ASSERT_TRUE (WaitUntil ([&] { return done; }));
  EXPECT_EQ (BufferText (page), "x\nb\nc\nä\ny\n");

  ASSERT_TRUE (weft_document_undo (document));
  ASSERT_TRUE (WaitUntil ([&] { return !weft_document_get_read_only (document); }));
  EXPECT_EQ (BufferText (page), "x\nc\nb\nä\ny\n");
  EXPECT_EQ (MirrorText (document), "x\nc\nb\nä\ny\n");
  ASSERT_TRUE (weft_document_redo (document));
  ASSERT_TRUE (WaitUntil ([&] { return !weft_document_get_read_only (document); }));
  EXPECT_EQ (BufferText (page), "x\nb\nc\nä\ny\n");
  EXPECT_EQ (MirrorText (document), "x\nb\nc\nä\ny\n");
}

TEST_F (WeftWindowTest, SortingOnTheProcessBackendGivesTheSameText)
{
  g_autoptr (GSettings) settings = g_settings_new ("io.github.weftedit.Weft");
  g_setenv ("WEFT_WORKER_PATH", WEFT_WORKER_FOR_TESTS, TRUE);
  g_settings_set_string (settings, "worker-backend", "processes");
  ASSERT_STREQ (weft_backend_get_name (weft_application_get_backend (the_app)), "processes");

  std::vector<std::string> lines;
  for (guint i = 0; i < 20000; i++)
    lines.push_back ("row " + std::to_string ((i * 7919u) % 20000u));
  std::string original;
  for (const auto &line : lines)
    original += line + "\n";
  std::sort (lines.begin (), lines.end ());
  std::string expected;
  for (const auto &line : lines)
    expected += line + "\n";

  WriteFile (Path ("rows.txt"), original);
  WeftPage *page = Open (Path ("rows.txt"));
  ASSERT_NE (page, nullptr);
  WeftDocument *document = weft_page_get_document (page);
  ASSERT_TRUE (WaitUntil ([&] { return !weft_document_get_loading (document); }));

  WeftSortOptions options = {};
  WeftBackendStats before, after;
  weft_backend_get_stats (weft_application_get_backend (the_app), &before);
  ASSERT_TRUE (SortAllLines (document, options));
  EXPECT_TRUE (BufferText (page) == expected);
  weft_backend_get_stats (weft_application_get_backend (the_app), &after);
  EXPECT_GE (after.completed - before.completed, 2u);
  EXPECT_GT (after.ipc_bytes, before.ipc_bytes);
  g_settings_reset (settings, "worker-backend");
}

TEST_F (WeftWindowTest, SortLinesDialogPreviewsAndSortsTheSelection)
{
  g_autoptr (GSettings) settings = g_settings_new ("io.github.weftedit.Weft");
  g_settings_set_string (settings, "sort-collation", "bytes");
  WriteFile (Path ("few.txt"), "header\ncherry\napple\nbanana\nfooter\n");
  WeftPage *page = Open (Path ("few.txt"));
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (weft_page_get_document (page)));
  GtkTextIter start, end;
  gtk_text_buffer_get_iter_at_line (buffer, &start, 1);
  gtk_text_buffer_get_iter_at_line (buffer, &end, 4);
  gtk_text_buffer_select_range (buffer, &start, &end);

  Activate ("sort-lines");
  GtkWindow *dialog = WaitForMappedWindow ("WeftSortDialog");
  ASSERT_NE (dialog, nullptr);
  EXPECT_TRUE (ShowsText (GTK_WIDGET (dialog), "apple\nbanana\ncherry"));
  GtkButton *sort = FindButton (GTK_WIDGET (dialog), "_Sort");
  ASSERT_NE (sort, nullptr);
  gtk_widget_activate (GTK_WIDGET (sort));

  ASSERT_TRUE (WaitUntil ([&] { return BufferText (page) == "header\napple\nbanana\ncherry\nfooter\n"; }));
  ASSERT_TRUE (WaitUntil ([&] { return !gtk_widget_get_mapped (GTK_WIDGET (dialog)); }));

  // The same dialog comes back for the next sort, previewing its lines.
  ASSERT_TRUE (WaitUntil ([&] { return !weft_document_get_busy (weft_page_get_document (page)); }));
  g_settings_set_boolean (settings, "sort-reverse", TRUE);
  gtk_text_buffer_get_iter_at_line (buffer, &start, 0);
  gtk_text_buffer_get_iter_at_line (buffer, &end, 3);
  gtk_text_buffer_select_range (buffer, &start, &end);
  Activate ("sort-lines");
  ASSERT_EQ (WaitForMappedWindow ("WeftSortDialog"), dialog);
  EXPECT_TRUE (ShowsText (GTK_WIDGET (dialog), "header\nbanana\napple"));
  EXPECT_FALSE (ShowsText (GTK_WIDGET (dialog), "cherry"));
  gtk_widget_activate (GTK_WIDGET (sort));
  ASSERT_TRUE (WaitUntil ([&] { return BufferText (page) == "header\nbanana\napple\ncherry\nfooter\n"; }));

  g_settings_reset (settings, "sort-collation");
  g_settings_reset (settings, "sort-reverse");
}

struct JobOutcome
{
  bool done = false;
  bool ok = false;
  bool on_main_thread = false;
  std::string backend;
};

static void
OnJobDone (const WeftJobResult *result, gpointer user_data)
{
  auto *outcome = static_cast<JobOutcome *> (user_data);
  outcome->done = true;
  outcome->ok = result->error == nullptr && result->output != nullptr;
  outcome->on_main_thread = g_main_context_is_owner (g_main_context_default ());
}

static JobOutcome
RunEchoJob (WeftBackend *backend)
{
  JobOutcome outcome;
  g_autoptr (GBytes) bytes = g_bytes_new_static ("ping", 4);
  g_autoptr (WeftJobInput) input = weft_job_input_new_bytes (bytes);
  WeftJobSpec spec = {};
  spec.kind = WEFT_JOB_ECHO;
  spec.input = input;
  outcome.backend = weft_backend_get_name (backend);
  weft_backend_submit (backend, &spec, OnJobDone, &outcome);
  EXPECT_TRUE (WaitUntil ([&] { return outcome.done; }));
  return outcome;
}

TEST_F (WeftWindowTest, TheBackendFollowsThePreferenceLive)
{
  g_autoptr (GSettings) settings = g_settings_new ("io.github.weftedit.Weft");
  g_setenv ("WEFT_WORKER_PATH", WEFT_WORKER_FOR_TESTS, TRUE);

  g_settings_set_string (settings, "worker-backend", "threads");
  JobOutcome threads = RunEchoJob (weft_application_get_backend (the_app));
  EXPECT_EQ (threads.backend, "threads");
  EXPECT_TRUE (threads.ok);
  EXPECT_TRUE (threads.on_main_thread);

  g_settings_set_string (settings, "worker-backend", "processes");
  JobOutcome processes = RunEchoJob (weft_application_get_backend (the_app));
  EXPECT_EQ (processes.backend, "processes");
  EXPECT_TRUE (processes.ok);
  EXPECT_TRUE (processes.on_main_thread);

  g_settings_set_uint (settings, "worker-count", 3);
  EXPECT_EQ (weft_backend_get_workers (weft_application_get_backend (the_app)), 3u);

  g_settings_reset (settings, "worker-count");
  g_settings_reset (settings, "worker-backend");
  EXPECT_STREQ (weft_backend_get_name (weft_application_get_backend (the_app)), "threads");
}

static std::string
LargeText (int lines)
{
  std::string text;
  text.reserve ((size_t) lines * 64);
  for (int i = 0; i < lines; i++)
    text += "line " + std::to_string (i) + ": the quick brown fox jumps over the lazy dög\n";
  return text;
}

// A sort goes in slice by slice, and the line count drifts meanwhile: here
// each deletion (16 K characters, most of them of two bytes) takes about
// twice the lines the insertion beside it (16 KB) brings, so 10,001 lines
// dip below 10,000. The line numbers keep their width all along: each
// change of it would lay out every line of the document again.
TEST_F (WeftWindowTest, ALargeReplacementKeepsTheLineNumbersWidth)
{
  std::string text;
  for (guint i = 0; i < 10000; i++)
    {
      for (int j = 0; j < 25; j++)
        text += "ö";
      text += " " + std::to_string ((i * 7919u) % 10000u) + "\n";
    }
  WriteFile (Path ("numbered.txt"), text);
  WeftPage *page = Open (Path ("numbered.txt"));
  ASSERT_NE (page, nullptr);
  WeftDocument *document = weft_page_get_document (page);
  ASSERT_TRUE (WaitUntil ([&] { return !weft_document_get_loading (document); }));
  GtkSourceView *view = weft_page_get_view (page);
  ASSERT_TRUE (gtk_source_view_get_show_line_numbers (view));
  GtkWidget *gutter = GTK_WIDGET (gtk_source_view_get_gutter (view, GTK_TEXT_WINDOW_LEFT));
  ASSERT_TRUE (WaitUntil ([&] { return gtk_widget_get_width (gutter) > 0; }));
  const int width = gtk_widget_get_width (gutter);

  int narrowest = width, widest = width;
  bool saw_fewer_digits = false;
  auto watch = [&] {
    GtkTextBuffer *buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (document));
    saw_fewer_digits = saw_fewer_digits || gtk_text_buffer_get_line_count (buffer) < 10000;
    narrowest = std::min (narrowest, gtk_widget_get_width (gutter));
    widest = std::max (widest, gtk_widget_get_width (gutter));
  };
  WeftSortOptions options = {};
  options.collation = WEFT_SORT_COLLATION_BYTES;
  ASSERT_TRUE (SortAllLines (document, options, watch));
  // The drift this test is about did happen.
  EXPECT_TRUE (saw_fewer_digits);
  ASSERT_TRUE (weft_document_undo (document));
  ASSERT_TRUE (WaitUntil ([&] { watch (); return !weft_document_get_read_only (document); }, 60000));
  EXPECT_EQ (BufferText (page), text);
  EXPECT_EQ (narrowest, width);
  EXPECT_EQ (widest, width);
}

TEST_F (WeftWindowTest, LargeFileLoadsInSlicesReadOnlyThenEditable)
{
  const std::string text = LargeText (150000);
  WriteFile (Path ("large.txt"), text);
  g_autoptr (GFile) file = g_file_new_for_path (Path ("large.txt").c_str ());
  weft_window_open_file (window_, file, 0);

  WeftPage *page = nullptr;
  ASSERT_TRUE (WaitUntil ([&] {
    page = weft_window_get_active_page (window_);
    return page != nullptr && weft_document_get_loading (weft_page_get_document (page));
  }));
  WeftDocument *document = weft_page_get_document (page);
  // Part of the file is in, the rest is still coming, and nobody may type:
  // what is typed now is refused.
  EXPECT_TRUE (weft_document_get_read_only (document));
  EXPECT_FALSE (gtk_text_view_get_cursor_visible (GTK_TEXT_VIEW (weft_page_get_view (page))));
  Type (page, "typed while loading");
  EXPECT_FALSE (weft_document_get_modified (document));
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (document));
  EXPECT_LT (gtk_text_buffer_get_char_count (buffer), (int) g_utf8_strlen (text.c_str (), -1));

  ASSERT_TRUE (WaitUntil ([&] { return !weft_document_get_loading (document); }));
  EXPECT_FALSE (weft_document_get_read_only (document));
  EXPECT_TRUE (gtk_text_view_get_cursor_visible (GTK_TEXT_VIEW (weft_page_get_view (page))));
  EXPECT_FALSE (weft_document_get_modified (document));
  EXPECT_EQ (BufferText (page), text);
  // The mirror built off the main thread is the same text.
  g_autoptr (WeftSnapshot) snapshot = weft_document_dup_snapshot (document);
  size_t len = 0;
  g_autofree char *mirrored = weft_snapshot_dup_utf8 (snapshot, &len);
  EXPECT_EQ (std::string (mirrored, len), text);
  // Loading is not an edit the user can undo.
  EXPECT_FALSE (gtk_text_buffer_get_can_undo (buffer));
}

TEST_F (WeftWindowTest, CancellingALoadClosesItsTabAndSaysNothing)
{
  const std::string text = LargeText (150000);
  WriteFile (Path ("cancel.txt"), text);
  weft_window_new_document (window_);
  Type (weft_window_get_active_page (window_), "other work");
  g_autoptr (GFile) file = g_file_new_for_path (Path ("cancel.txt").c_str ());
  weft_window_open_file (window_, file, 0);

  WeftPage *page = nullptr;
  ASSERT_TRUE (WaitUntil ([&] {
    page = weft_window_get_active_page (window_);
    return page != nullptr && weft_document_get_loading (weft_page_get_document (page));
  }));
  ASSERT_EQ (weft_window_get_n_pages (window_), 2u);
  weft_document_cancel_load (weft_page_get_document (page));

  ASSERT_TRUE (WaitUntil ([&] { return weft_window_get_n_pages (window_) == 1; }));
  EXPECT_EQ (BufferText (weft_window_get_active_page (window_)), "other work");
  EXPECT_FALSE (ShowsText (GTK_WIDGET (window_), "cancel.txt"));
  EXPECT_EQ (ReadFile (Path ("cancel.txt")), text);
}

TEST_F (WeftWindowTest, ClosingATabWhileItLoadsDoesNotAsk)
{
  WriteFile (Path ("closing.txt"), LargeText (150000));
  g_autoptr (GFile) file = g_file_new_for_path (Path ("closing.txt").c_str ());
  weft_window_open_file (window_, file, 0);
  ASSERT_TRUE (WaitUntil ([&] {
    WeftPage *p = weft_window_get_active_page (window_);
    return p != nullptr && weft_document_get_loading (weft_page_get_document (p));
  }));
  Activate ("close-page");
  ASSERT_TRUE (WaitUntil ([&] { return weft_window_get_n_pages (window_) == 0; }));
  EXPECT_EQ (FindToplevel<AdwMessageDialog> (ADW_TYPE_MESSAGE_DIALOG), nullptr);
}


// ---------------------------------------------------------------------------
// Spell-checking

// The underlined words, in text order.
std::vector<std::string>
Underlined (WeftPage *page)
{
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (weft_page_get_document (page)));
  GtkTextTag *tag = gtk_text_tag_table_lookup (gtk_text_buffer_get_tag_table (buffer), "weft-misspelled");
  std::vector<std::string> words;
  GtkTextIter iter;

  if (tag == nullptr)
    return words;
  gtk_text_buffer_get_start_iter (buffer, &iter);
  if (!gtk_text_iter_starts_tag (&iter, tag))
    gtk_text_iter_forward_to_tag_toggle (&iter, tag);
  while (gtk_text_iter_starts_tag (&iter, tag))
    {
      GtkTextIter end = iter;
      gtk_text_iter_forward_to_tag_toggle (&end, tag);
      g_autofree char *word = gtk_text_iter_get_slice (&iter, &end);
      words.emplace_back (word);
      iter = end;
      if (!gtk_text_iter_starts_tag (&iter, tag))
        gtk_text_iter_forward_to_tag_toggle (&iter, tag);
    }
  return words;
}

using Words = std::vector<std::string>;

// Waits until the checker is idle and has counted what it underlined.
bool
SpellSettled (WeftPage *page)
{
  WeftSpellController *spell = weft_page_get_spell_controller (page);

  return WaitUntil ([&] {
    return !weft_spell_controller_get_busy (spell) &&
           weft_spell_controller_get_n_misspelled (spell) == (int) Underlined (page).size ();
  });
}

GtkTextBuffer *
BufferOf (WeftPage *page)
{
  return GTK_TEXT_BUFFER (weft_document_get_buffer (weft_page_get_document (page)));
}

TEST_F (WeftWindowTest, SpellUnderlinesMisspelledWordsOnOpen)
{
  WriteFile (Path ("prose.txt"), "The cat sat.\nA dgo and teh end.\nhttp://teh.example/ fine\n");
  WeftPage *page = Open (Path ("prose.txt"));

  ASSERT_TRUE (SpellSettled (page));
  EXPECT_EQ (Underlined (page), (Words { "dgo", "teh" }));
  EXPECT_EQ (weft_spell_controller_get_n_misspelled (weft_page_get_spell_controller (page)), 2);
  EXPECT_TRUE (ShowsText (GTK_WIDGET (window_), "2 misspelled"));
}

// Misspelled words get GTK's dotted error underline, except where the window
// renders with cairo, which redraws every dot at each frame: a plain line in
// the error red there.
TEST_F (WeftWindowTest, SpellUnderlineSuitsTheRenderer)
{
  WriteFile (Path ("prose.txt"), "A dgo.\n");
  WeftPage *page = Open (Path ("prose.txt"));

  ASSERT_TRUE (SpellSettled (page));
  ASSERT_EQ (Underlined (page), (Words { "dgo" }));
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (window_));
  ASSERT_NE (renderer, nullptr);
  GtkTextTag *tag = gtk_text_tag_table_lookup (gtk_text_buffer_get_tag_table (BufferOf (page)), "weft-misspelled");
  PangoUnderline underline;
  gboolean rgba_set;
  g_autoptr (GdkRGBA) rgba = nullptr;
  g_object_get (tag, "underline", &underline, "underline-rgba-set", &rgba_set, "underline-rgba", &rgba, NULL);
  if (GSK_IS_CAIRO_RENDERER (renderer))
    {
      EXPECT_EQ (underline, PANGO_UNDERLINE_SINGLE);
      ASSERT_TRUE (rgba_set);
      EXPECT_GT (rgba->red, 0.8f);
      EXPECT_LT (rgba->green, 0.2f);
    }
  else
    {
      EXPECT_EQ (underline, PANGO_UNDERLINE_ERROR);
      EXPECT_FALSE (rgba_set);
    }
}

TEST_F (WeftWindowTest, SpellRechecksAWordTypedInto)
{
  WriteFile (Path ("insert.txt"), "The cat sat.\nA dog ran.\n");
  WeftPage *page = Open (Path ("insert.txt"));
  GtkTextBuffer *buffer = BufferOf (page);
  GtkTextIter iter;

  ASSERT_TRUE (SpellSettled (page));
  EXPECT_EQ (Underlined (page), Words {});
  // "cat" -> "caxt", inside the word.
  gtk_text_buffer_get_iter_at_offset (buffer, &iter, 6);
  gtk_text_buffer_insert (buffer, &iter, "x", -1);
  ASSERT_TRUE (WaitUntil ([&] { return Underlined (page) == Words { "caxt" }; }));
  ASSERT_TRUE (SpellSettled (page));
  EXPECT_EQ (Underlined (page), (Words { "caxt" }));
}

TEST_F (WeftWindowTest, SpellFollowsADeleteAcrossLinesAndItsUndo)
{
  WriteFile (Path ("delete.txt"), "One teh line.\nTwo lines mkae it.\nThree dgo.\n");
  WeftPage *page = Open (Path ("delete.txt"));
  GtkTextBuffer *buffer = BufferOf (page);
  GtkTextIter a, b;

  ASSERT_TRUE (SpellSettled (page));
  ASSERT_EQ (Underlined (page), (Words { "teh", "mkae", "dgo" }));

  // Delete "line.\nTwo lines mk": the lines join into "One teh ae it."
  gtk_text_buffer_get_iter_at_offset (buffer, &a, 8);
  gtk_text_buffer_get_iter_at_offset (buffer, &b, 8 + 6 + 12);
  gtk_text_buffer_begin_user_action (buffer);
  gtk_text_buffer_delete (buffer, &a, &b);
  gtk_text_buffer_end_user_action (buffer);
  ASSERT_EQ (BufferText (page), "One teh ae it.\nThree dgo.\n");
  ASSERT_TRUE (WaitUntil ([&] { return Underlined (page) == Words { "teh", "ae", "dgo" }; }));

  gtk_text_buffer_undo (buffer);
  ASSERT_EQ (BufferText (page), "One teh line.\nTwo lines mkae it.\nThree dgo.\n");
  ASSERT_TRUE (WaitUntil ([&] { return Underlined (page) == Words { "teh", "mkae", "dgo" }; }));
  ASSERT_TRUE (SpellSettled (page));
}

TEST_F (WeftWindowTest, SpellShiftsResultsThroughEditsMadeWhileChecking)
{
  // Short enough to be underlined whole: only words near the view are.
  std::string text;
  for (int i = 0; i < 900; i++)
    text += "Some words here and a tpyo there.\n";
  WriteFile (Path ("big.txt"), text);
  WeftPage *page = Open (Path ("big.txt"));
  GtkTextBuffer *buffer = BufferOf (page);
  GtkTextIter start;

  // At once, while the first pass is on the workers: its results come for
  // a text that no longer starts where they say.
  gtk_text_buffer_get_start_iter (buffer, &start);
  gtk_text_buffer_insert (buffer, &start, "Hello wrold.\n\n", -1);
  ASSERT_TRUE (SpellSettled (page));
  Words words = Underlined (page);
  ASSERT_EQ (words.size (), 901u);
  EXPECT_EQ (words[0], "wrold");
  EXPECT_TRUE (std::all_of (words.begin () + 1, words.end (), [] (const std::string &w) { return w == "tpyo"; }));
}

TEST_F (WeftWindowTest, SpellContextMenuSuggestsAndReplaces)
{
  WriteFile (Path ("menu.txt"), "I recieve mail.\n");
  WeftPage *page = Open (Path ("menu.txt"));
  WeftSpellController *spell = weft_page_get_spell_controller (page);
  GMenuModel *menu = gtk_text_view_get_extra_menu (GTK_TEXT_VIEW (weft_page_get_view (page)));

  ASSERT_TRUE (SpellSettled (page));
  g_autofree char *word = weft_spell_controller_dup_word_at (spell, 4);
  EXPECT_STREQ (word, "recieve");
  ASSERT_NE (menu, nullptr);
  GMenuModel *suggestions = g_menu_model_get_item_link (menu, 0, G_MENU_LINK_SECTION);
  ASSERT_TRUE (WaitUntil ([&] {
    for (int i = 0; i < g_menu_model_get_n_items (suggestions); i++)
      {
        g_autofree char *label = nullptr;
        g_menu_model_get_item_attribute (suggestions, i, G_MENU_ATTRIBUTE_LABEL, "s", &label);
        if (g_strcmp0 (label, "receive") == 0)
          return true;
      }
    return false;
  }));
  EXPECT_LE (g_menu_model_get_n_items (suggestions), 8);
  g_object_unref (suggestions);

  gtk_widget_activate_action (GTK_WIDGET (weft_page_get_view (page)), "spell.replace", "s", "receive");
  EXPECT_EQ (BufferText (page), "I receive mail.\n");
  ASSERT_TRUE (WaitUntil ([&] { return Underlined (page).empty (); }));
}

TEST_F (WeftWindowTest, SpellAddToDictionaryPersistsAndIgnoreAllLastsTheSession)
{
  // main() left "weftish" in the personal dictionary, as a past session would.
  WriteFile (Path ("words.txt"), "weftish zorblax quuxish teh\n");
  WeftPage *page = Open (Path ("words.txt"));
  WeftSpellController *spell = weft_page_get_spell_controller (page);
  GtkWidget *view = GTK_WIDGET (weft_page_get_view (page));

  ASSERT_TRUE (SpellSettled (page));
  ASSERT_EQ (Underlined (page), (Words { "zorblax", "quuxish", "teh" }));

  g_free (weft_spell_controller_dup_word_at (spell, 9));
  gtk_widget_activate_action (view, "spell.add-word", nullptr);
  ASSERT_TRUE (WaitUntil ([&] { return Underlined (page) == Words { "quuxish", "teh" }; }));
  g_free (weft_spell_controller_dup_word_at (spell, 17));
  gtk_widget_activate_action (view, "spell.ignore-word", nullptr);
  ASSERT_TRUE (WaitUntil ([&] { return Underlined (page) == Words { "teh" }; }));
  ASSERT_TRUE (SpellSettled (page));

  g_autofree char *path = g_build_filename (g_get_user_config_dir (), "weft", "dictionaries", "en_US.txt", nullptr);
  EXPECT_EQ (ReadFile (path), "weftish\nzorblax\n");
}

TEST_F (WeftWindowTest, SpellNextMisspellingSelectsItAndWraps)
{
  WriteFile (Path ("next.txt"), "teh one\ntwo dgo\n");
  WeftPage *page = Open (Path ("next.txt"));
  GtkTextBuffer *buffer = BufferOf (page);
  GtkTextIter a, b;

  ASSERT_TRUE (SpellSettled (page));
  gtk_text_buffer_get_start_iter (buffer, &a);
  gtk_text_buffer_place_cursor (buffer, &a);
  auto selected = [&] {
    gtk_text_buffer_get_selection_bounds (buffer, &a, &b);
    g_autofree char *s = gtk_text_iter_get_slice (&a, &b);
    return std::string (s);
  };
  Activate ("next-misspelling");
  EXPECT_EQ (selected (), "teh");
  Activate ("next-misspelling");
  EXPECT_EQ (selected (), "dgo");
  Activate ("next-misspelling");
  EXPECT_EQ (selected (), "teh");
  Activate ("previous-misspelling");
  EXPECT_EQ (selected (), "dgo");
}

// Far from the view the words are counted but not underlined until the view
// gets near them; next misspelling reaches them all the same.
TEST_F (WeftWindowTest, SpellUnderlinesFarWordsOnlyOnceTheViewIsNear)
{
  std::string text = "teh start\n";
  for (int i = 0; i < 40000; i++)
    text += "The cat sat on the mat.\n";
  text += "dgo end\n";
  WriteFile (Path ("far.txt"), text);
  WeftPage *page = Open (Path ("far.txt"));
  GtkTextBuffer *buffer = BufferOf (page);
  WeftSpellController *spell = weft_page_get_spell_controller (page);
  GtkTextIter a, b;

  ASSERT_TRUE (WaitUntil ([&] {
    return !weft_spell_controller_get_busy (spell) && weft_spell_controller_get_n_misspelled (spell) == 2;
  }));
  EXPECT_EQ (Underlined (page), (Words{ "teh" }));

  gtk_text_buffer_get_start_iter (buffer, &a);
  gtk_text_buffer_place_cursor (buffer, &a);
  Activate ("next-misspelling");
  Activate ("next-misspelling");
  gtk_text_buffer_get_selection_bounds (buffer, &a, &b);
  g_autofree char *selected = gtk_text_iter_get_slice (&a, &b);
  EXPECT_STREQ (selected, "dgo");
  ASSERT_TRUE (WaitUntil ([&] { return Underlined (page) == Words{ "teh", "dgo" }; }));
  EXPECT_EQ (weft_spell_controller_get_n_misspelled (spell), 2);
}

// Once a large text is in, GTK measures every line of it in the background,
// which takes seconds: words are underlined meanwhile, not after it.
TEST_F (WeftWindowTest, SpellUnderlinesWhileTheViewStillMeasuresLines)
{
  WriteFile (Path ("measured.txt"), "teh start\n" + SlowToMeasureText ());
  WeftPage *page = Open (Path ("measured.txt"));

  ASSERT_TRUE (WaitUntil ([&] { return !Underlined (page).empty (); }));
  EXPECT_EQ (LastLineHeight (page), 0) << "the last line was measured before the first word was underlined";
  EXPECT_EQ (Underlined (page).front (), "teh");
}

// A jump to the end of a long text scrolls there in frames (GTK animates
// it): words are underlined where the view stops, not near each frame's
// position on the way, which would have the view lay out again thousands
// of lines it never shows.
TEST_F (WeftWindowTest, SpellUnderlinesWhereAJumpEndsNotOnItsWay)
{
  const int n_lines = 20000;
  std::string text;
  for (int i = 0; i < n_lines; i++)
    text += "line " + std::to_string (i) + " teh cat\n";
  WriteFile (Path ("jump.txt"), text);
  // As on a desktop, whatever the test session says; restored however the
  // test ends.
  struct Animations
  {
    gboolean before = FALSE;
    Animations ()
    {
      g_object_get (gtk_settings_get_default (), "gtk-enable-animations", &before, nullptr);
      g_object_set (gtk_settings_get_default (), "gtk-enable-animations", TRUE, nullptr);
    }
    ~Animations () { g_object_set (gtk_settings_get_default (), "gtk-enable-animations", before, nullptr); }
  } animations;
  WeftPage *page = Open (Path ("jump.txt"));
  GtkTextBuffer *buffer = BufferOf (page);
  GtkTextView *view = GTK_TEXT_VIEW (weft_page_get_view (page));
  WeftSpellController *spell = weft_page_get_spell_controller (page);
  GtkTextTag *tag = gtk_text_tag_table_lookup (gtk_text_buffer_get_tag_table (buffer), "weft-misspelled");
  auto underlined_at = [&] (int line) {
    GtkTextIter word;
    gtk_text_buffer_get_iter_at_line_offset (buffer, &word, line, (int) ("line " + std::to_string (line) + " ").size ());
    return gtk_text_iter_has_tag (&word, tag) != FALSE;
  };

  // Once GTK has measured every line, so that it knows where the end is.
  ASSERT_TRUE (WaitUntil ([&] {
    return !weft_spell_controller_get_busy (spell) && weft_spell_controller_get_n_misspelled (spell) == n_lines &&
           LastLineHeight (page) > 0;
  }));
  ASSERT_TRUE (underlined_at (0));
  ASSERT_FALSE (underlined_at (n_lines - 1));

  gtk_widget_grab_focus (GTK_WIDGET (view));
  g_signal_emit_by_name (view, "move-cursor", GTK_MOVEMENT_BUFFER_ENDS, 1, FALSE);
  EXPECT_TRUE (WaitUntil ([&] { return underlined_at (n_lines - 1) && !weft_spell_controller_get_busy (spell); }));

  // The words near the start and near the end are underlined (a few
  // thousand lines each way at most), none in the middle.
  GtkTextIter mid, mid_end;
  gtk_text_buffer_get_iter_at_line (buffer, &mid, n_lines / 4);
  gtk_text_buffer_get_iter_at_line (buffer, &mid_end, 3 * n_lines / 4);
  bool tagged = gtk_text_iter_has_tag (&mid, tag) ||
                (gtk_text_iter_forward_to_tag_toggle (&mid, tag) && gtk_text_iter_compare (&mid, &mid_end) < 0);
  EXPECT_FALSE (tagged) << "a word on the jump's way was underlined, line " << gtk_text_iter_get_line (&mid);
}

TEST_F (WeftWindowTest, SpellCanBeTurnedOff)
{
  WriteFile (Path ("off.txt"), "teh dgo\n");
  WeftPage *page = Open (Path ("off.txt"));
  g_autoptr (GSettings) settings = g_settings_new ("io.github.weftedit.Weft");

  ASSERT_TRUE (SpellSettled (page));
  ASSERT_EQ (Underlined (page).size (), 2u);
  Activate ("spell-check");
  EXPECT_FALSE (g_settings_get_boolean (settings, "spell-check"));
  EXPECT_TRUE (Underlined (page).empty ());
  EXPECT_EQ (weft_spell_controller_get_n_misspelled (weft_page_get_spell_controller (page)), -1);
  Activate ("spell-check");
  // No count until the text is checked again, not the old one nor 0.
  EXPECT_TRUE (ShowsText (GTK_WIDGET (window_), "Checking spelling…"));
  ASSERT_TRUE (WaitUntil ([&] { return Underlined (page).size () == 2; }));
  ASSERT_TRUE (WaitUntil ([&] { return ShowsText (GTK_WIDGET (window_), "2 misspelled"); }));
}

}  // namespace

int
main (int argc, char **argv)
{
  fault_control = weft_fault_preload_or_die (argv, WEFT_FAULT_SHIM, g_get_tmp_dir ());
  weft_spell_process_init ();

  // A personal dictionary from an earlier session, in a config dir of our own.
  g_autofree char *config = g_dir_make_tmp ("weft-gui-config-XXXXXX", nullptr);
  g_autofree char *dicts = g_build_filename (config, "weft", "dictionaries", nullptr);
  g_autofree char *dict = g_build_filename (dicts, "en_US.txt", nullptr);
  g_setenv ("XDG_CONFIG_HOME", config, TRUE);
  g_mkdir_with_parents (dicts, 0700);
  g_file_set_contents (dict, "weftish\n", -1, nullptr);

  return RunTestsWithApplication (argc, argv, &the_app);
}
