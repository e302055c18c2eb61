/* weft-window.c: a Weft window — tabs of documents, the header bar, the status line. */
#include "config.h"

#include <glib/gi18n.h>

#include "weft-application.h"
#include "weft-window-private.h"

G_DEFINE_FINAL_TYPE (WeftWindow, weft_window, ADW_TYPE_APPLICATION_WINDOW)

#define MAX_RECENT_ITEMS 10

WeftWindow *
weft_window_new (GtkApplication *application)
{
  return g_object_new (WEFT_TYPE_WINDOW, "application", application, NULL);
}

static WeftPage *
page_of (AdwTabPage *tab_page)
{
  return WEFT_PAGE (adw_tab_page_get_child (tab_page));
}

WeftPage *
weft_window_get_active_page (WeftWindow *self)
{
  AdwTabPage *selected;

  g_return_val_if_fail (WEFT_IS_WINDOW (self), NULL);

  selected = adw_tab_view_get_selected_page (self->tab_view);
  return selected != NULL ? page_of (selected) : NULL;
}

guint
weft_window_get_n_pages (WeftWindow *self)
{
  g_return_val_if_fail (WEFT_IS_WINDOW (self), 0);

  return (guint) adw_tab_view_get_n_pages (self->tab_view);
}

WeftPage *
weft_window_get_page (WeftWindow *self,
                      guint       position)
{
  g_return_val_if_fail (WEFT_IS_WINDOW (self), NULL);
  g_return_val_if_fail (position < weft_window_get_n_pages (self), NULL);

  return page_of (adw_tab_view_get_nth_page (self->tab_view, (int) position));
}

void
weft_window_show_message (WeftWindow *self,
                          const char *message)
{
  AdwToast *toast;

  g_return_if_fail (WEFT_IS_WINDOW (self));

  toast = adw_toast_new (message);
  /* Errors stay until dismissed: a message about lost work must not vanish
   * while the user looks elsewhere. */
  adw_toast_set_timeout (toast, 0);
  adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static char *
dup_display_title (WeftDocument *document)
{
  if (weft_document_get_modified (document))
    /* TRANSLATORS: the title of a document with unsaved changes */
    return g_strdup_printf (_("• %s"), weft_document_get_title (document));
  return g_strdup (weft_document_get_title (document));
}

static void
weft_window_update_title (WeftWindow *self)
{
  WeftPage *page = weft_window_get_active_page (self);
  g_autofree char *title = NULL;
  g_autofree char *window_title = NULL;
  g_autofree char *subtitle = NULL;
  WeftDocument *document;
  GFile *file;

  g_assert (WEFT_IS_WINDOW (self));

  if (page == NULL)
    {
      adw_window_title_set_title (self->window_title, _("Weft"));
      adw_window_title_set_subtitle (self->window_title, NULL);
      gtk_window_set_title (GTK_WINDOW (self), _("Weft"));
      return;
    }

  document = weft_page_get_document (page);
  title = dup_display_title (document);
  file = weft_document_get_file (document);
  if (file != NULL)
    {
      g_autoptr(GFile) parent = g_file_get_parent (file);
      g_autofree char *path = parent != NULL ? g_file_get_path (parent) : NULL;
      const char *home = g_get_home_dir ();

      if (path != NULL && home != NULL && g_str_has_prefix (path, home) &&
          (path[strlen (home)] == '/' || path[strlen (home)] == '\0'))
        subtitle = g_strconcat ("~", path + strlen (home), NULL);
      else
        subtitle = g_steal_pointer (&path);
    }
  else
    subtitle = g_strdup (_("Not saved yet"));

  adw_window_title_set_title (self->window_title, title);
  adw_window_title_set_subtitle (self->window_title, subtitle);
  /* TRANSLATORS: the window title: a document's name, then the application's */
  window_title = g_strdup_printf (_("%s — Weft"), title);
  gtk_window_set_title (GTK_WINDOW (self), window_title);
}

static void
weft_window_update_position (WeftWindow *self)
{
  WeftPage *page = weft_window_get_active_page (self);
  g_autofree char *label = NULL;
  int line = 0, column = 0;

  g_assert (WEFT_IS_WINDOW (self));

  gtk_widget_set_visible (GTK_WIDGET (self->position_button), page != NULL);
  if (page == NULL)
    return;

  weft_page_get_cursor (page, &line, &column);
  /* TRANSLATORS: the cursor position in the status bar: line and column */
  label = g_strdup_printf (_("Ln %d, Col %d"), line, column);
  /* Setting a menu button's label builds its child anew: only on a change. */
  if (g_strcmp0 (label, gtk_menu_button_get_label (self->position_button)) != 0)
    gtk_menu_button_set_label (self->position_button, label);
}

static gboolean
update_position_now (gpointer user_data)
{
  WeftWindow *self = user_data;

  self->position_source = 0;
  weft_window_update_position (self);
  return G_SOURCE_REMOVE;
}

/* The cursor moves with every slice of a large replacement going in
 * before it: the status bar follows once per dispatch, before the frame. */
static void
on_cursor_moved (WeftWindow *self)
{
  if (self->position_source == 0)
    self->position_source = weft_watchdog_idle_add (GDK_PRIORITY_REDRAW - 1, "updating the status bar",
                                                   update_position_now, self, NULL);
}

static void
weft_window_update_language (WeftWindow *self)
{
  WeftPage *page = weft_window_get_active_page (self);
  GtkSourceLanguage *language = NULL;

  g_assert (WEFT_IS_WINDOW (self));

  if (page != NULL)
    language = gtk_source_buffer_get_language (weft_document_get_buffer (weft_page_get_document (page)));
  gtk_label_set_text (self->language_label,
                      page == NULL ? "" :
                      language != NULL ? gtk_source_language_get_name (language) : _("Plain Text"));
}

static void
weft_window_update_spell (WeftWindow *self)
{
  WeftPage *page = weft_window_get_active_page (self);
  WeftSpellController *spell = page != NULL ? weft_page_get_spell_controller (page) : NULL;
  g_autofree char *label = NULL;
  const char *error;
  const char *tooltip;
  int n;

  g_assert (WEFT_IS_WINDOW (self));

  if (spell == NULL)
    {
      gtk_widget_set_visible (GTK_WIDGET (self->spell_label), FALSE);
      return;
    }
  error = weft_spell_controller_get_error (spell);
  n = weft_spell_controller_get_n_misspelled (spell);
  if (error != NULL)
    label = g_strdup (error);
  else if (weft_spell_controller_get_counting (spell))
    /* TRANSLATORS: in the status bar, while the whole document is checked */
    label = g_strdup (_("Checking spelling…"));
  else if (n >= 0)
    /* TRANSLATORS: in the status bar: how many words are underlined as misspelled */
    label = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d misspelled", "%d misspelled", (gulong) n), n);
  gtk_widget_set_visible (GTK_WIDGET (self->spell_label), label != NULL);
  gtk_label_set_text (self->spell_label, label != NULL ? label : "");
  tooltip = error != NULL ? error : _("Misspelled words in this document (F7 goes to the next)");
  /* Setting a tooltip asks the X server where the pointer is, every time. */
  if (g_strcmp0 (tooltip, gtk_widget_get_tooltip_text (GTK_WIDGET (self->spell_label))) != 0)
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->spell_label), tooltip);
}

/* The tab's title, tooltip and spinner follow its document. */
static void
weft_window_update_tab (WeftWindow *self,
                        AdwTabPage *tab_page)
{
  WeftDocument *document = weft_page_get_document (page_of (tab_page));
  g_autofree char *title = dup_display_title (document);
  GFile *file = weft_document_get_file (document);

  adw_tab_page_set_title (tab_page, title);
  if (file != NULL)
    {
      g_autofree char *tooltip = g_file_get_parse_name (file);

      adw_tab_page_set_tooltip (tab_page, tooltip);
    }
  adw_tab_page_set_loading (tab_page, weft_document_get_busy (document));
}

static void
on_document_changed (WeftWindow   *self,
                     GParamSpec   *pspec,
                     WeftDocument *document)
{
  guint n = weft_window_get_n_pages (self);

  for (guint i = 0; i < n; i++)
    {
      AdwTabPage *tab_page = adw_tab_view_get_nth_page (self->tab_view, (int) i);

      if (weft_page_get_document (page_of (tab_page)) == document)
        weft_window_update_tab (self, tab_page);
    }

  if (weft_window_get_active_page (self) != NULL &&
      weft_page_get_document (weft_window_get_active_page (self)) == document)
    {
      weft_window_update_title (self);
      weft_window_update_language (self);
      weft_window_update_actions (self);
    }
}

/* Brings the window's title, status area and actions up to date with the
 * selected tab. */
static void
weft_window_show_selected_page (WeftWindow *self)
{
  g_clear_handle_id (&self->selection_source, g_source_remove);
  weft_window_update_spell (self);
  weft_window_update_title (self);
  weft_window_update_position (self);
  weft_window_update_language (self);
  weft_window_update_actions (self);
}

static gboolean
show_selected_page (gpointer user_data)
{
  WeftWindow *self = user_data;

  self->selection_source = 0;
  weft_window_show_selected_page (self);
  return G_SOURCE_REMOVE;
}

/* The window listens to the selected tab, and the focus goes to it. */
static void
weft_window_follow_selected_page (WeftWindow *self)
{
  WeftPage *page = weft_window_get_active_page (self);

  g_signal_group_set_target (self->buffer_signals,
                             page != NULL ? weft_document_get_buffer (weft_page_get_document (page)) : NULL);
  g_signal_group_set_target (self->spell_signals,
                             page != NULL ? weft_page_get_spell_controller (page) : NULL);
  if (page != NULL)
    gtk_widget_grab_focus (GTK_WIDGET (page));
}

/* That at once; the rest follows in a dispatch of its own, before the next
 * frame is drawn: adding a tab already costs the main loop a few
 * milliseconds in libadwaita. */
static void
on_selected_page_changed (WeftWindow *self)
{
  weft_window_follow_selected_page (self);
  if (self->selection_source == 0)
    self->selection_source = weft_watchdog_idle_add (GDK_PRIORITY_REDRAW - 1, "showing the selected tab",
                                                     show_selected_page, self, NULL);
}

static void
on_n_pages_changed (WeftWindow *self)
{
  gtk_stack_set_visible_child_name (self->stack,
                                    weft_window_get_n_pages (self) > 0 ? "tabs" : "empty");
  weft_window_update_actions (self);
}

static gboolean
wrap_mode_from_setting (GValue   *value,
                        GVariant *variant,
                        gpointer  user_data)
{
  g_value_set_enum (value, g_variant_get_boolean (variant) ? GTK_WRAP_WORD_CHAR : GTK_WRAP_NONE);
  return TRUE;
}

static void
weft_window_bind_view_settings (WeftWindow *self,
                                WeftPage   *page)
{
  GtkSourceView *view = weft_page_get_view (page);

  g_assert (WEFT_IS_WINDOW (self));

  g_settings_bind (self->settings, "show-line-numbers", view, "show-line-numbers", G_SETTINGS_BIND_GET);
  g_settings_bind (self->settings, "highlight-current-line", view, "highlight-current-line",
                   G_SETTINGS_BIND_GET);
  g_settings_bind_with_mapping (self->settings, "wrap-text", view, "wrap-mode", G_SETTINGS_BIND_GET,
                                wrap_mode_from_setting, NULL, NULL, NULL);
  g_settings_bind (self->settings, "tab-width", view, "tab-width", G_SETTINGS_BIND_GET);
  g_settings_bind (self->settings, "insert-spaces", view, "insert-spaces-instead-of-tabs", G_SETTINGS_BIND_GET);
}

static AdwTabPage *weft_window_find_file (WeftWindow *self,
                                          GFile      *file);

static WeftSession *
weft_window_get_session (WeftWindow *self)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

  return WEFT_IS_APPLICATION (app) ? weft_application_get_session (WEFT_APPLICATION (app)) : NULL;
}

/* A page on a new, empty document, following the view settings; the
 * caller owns it. */
static WeftPage *
weft_window_build_page (WeftWindow *self)
{
  g_autoptr(WeftDocument) document = weft_document_new ();
  WeftPage *page = g_object_ref_sink (weft_page_new (document));

  weft_window_bind_view_settings (self, page);
  return page;
}

/* Building a page (its template, its view and their tooltips) was about
 * half of what opening a file cost the main loop at once; the next one is
 * built ahead, when the loop has nothing else to do. */
static gboolean
build_spare_page (gpointer user_data)
{
  WeftWindow *self = user_data;

  self->spare_source = 0;
  self->spare_page = weft_window_build_page (self);
  return G_SOURCE_REMOVE;
}

static void
weft_window_prepare_spare_page (WeftWindow *self)
{
  if (self->spare_page != NULL || self->spare_source != 0 || self->close_in_progress)
    return;
  self->spare_source = weft_watchdog_idle_add (G_PRIORITY_LOW, "preparing a tab", build_spare_page, self,
                                               NULL);
}

/* A page on a new, empty document: the one built ahead if there is one. */
static WeftPage *
weft_window_take_new_page (WeftWindow *self)
{
  WeftPage *page = g_steal_pointer (&self->spare_page);

  if (page == NULL)
    page = weft_window_build_page (self);
  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    weft_window_prepare_spare_page (self);
  return page;
}

/* Adds a tab for a page from weft_window_take_new_page(), whose reference
 * it takes; @session_id names the page's document in the session, NULL for
 * a new one. */
static AdwTabPage *
weft_window_add_page (WeftWindow *self,
                      WeftPage   *page,
                      const char *session_id)
{
  g_autoptr(WeftPage) owned = page;
  WeftDocument *document = weft_page_get_document (page);
  AdwTabPage *tab_page;

  g_assert (WEFT_IS_WINDOW (self));

  tab_page = adw_tab_view_append (self->tab_view, GTK_WIDGET (page));

  g_signal_connect_object (document, "notify::title", G_CALLBACK (on_document_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (document, "notify::modified", G_CALLBACK (on_document_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (document, "notify::busy", G_CALLBACK (on_document_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (weft_document_get_buffer (document), "notify::language",
                           G_CALLBACK (weft_window_update_language), self, G_CONNECT_SWAPPED);
  /* The window's own title and actions follow once the tab is selected
   * (see on_selected_page_changed()). */
  weft_window_update_tab (self, tab_page);

  if (weft_window_get_session (self) != NULL)
    weft_session_track (weft_window_get_session (self), document, session_id);
  return tab_page;
}

/* A closed tab's document is done with: its draft goes too. */
static void
on_page_detached (WeftWindow *self,
                  AdwTabPage *tab_page,
                  int         position)
{
  /* Tabs going with their window stay in the session (see close_request). */
  if (!self->close_confirmed && weft_window_get_session (self) != NULL)
    weft_session_untrack (weft_window_get_session (self), weft_page_get_document (page_of (tab_page)));
}

static void
on_autosave_banner_dismiss (WeftWindow *self)
{
  gtk_revealer_set_reveal_child (self->autosave_banner, FALSE);
}

static void
on_autosave_failed (WeftWindow *self,
                    const char *message,
                    gboolean    to_file)
{
  g_autofree char *text = NULL;

  if (to_file)
    text = g_strdup_printf (_("Changes could not be saved automatically: %s. Weft keeps trying; "
                              "the file on disk is unchanged."), message);
  else
    text = g_strdup_printf (_("Unsaved changes could not be written to a draft: %s. Weft keeps trying; "
                              "your files are untouched."), message);

  gtk_label_set_text (self->autosave_label, text);
  gtk_revealer_set_reveal_child (self->autosave_banner, TRUE);
}

/* The application, and so the session, is set after construction. */
static void
on_application_set (WeftWindow *self)
{
  WeftSession *session = weft_window_get_session (self);

  if (session == NULL || g_object_get_data (G_OBJECT (self), "weft-session-watched") == session)
    return;
  g_object_set_data (G_OBJECT (self), "weft-session-watched", session);
  g_signal_connect_object (session, "autosave-failed", G_CALLBACK (on_autosave_failed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (session, "autosave-recovered", G_CALLBACK (on_autosave_banner_dismiss), self,
                           G_CONNECT_SWAPPED);
}

typedef struct
{
  WeftWindow *window;
  int         line;
  int         column;
} RestoreData;

static void
on_restore_loaded (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  RestoreData *data = user_data;
  WeftDocument *document = WEFT_DOCUMENT (object);
  g_autoptr(GError) error = NULL;
  guint n = weft_window_get_n_pages (data->window);

  for (guint i = 0; i < n; i++)
    if (weft_page_get_document (weft_window_get_page (data->window, i)) == document)
      g_object_set_data (G_OBJECT (weft_window_get_page (data->window, i)), "weft-file-coming", NULL);

  if (!weft_document_load_finish (document, result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        weft_window_show_message (data->window, error->message);
    }
  else
    {
      for (guint i = 0; i < n; i++)
        if (weft_page_get_document (weft_window_get_page (data->window, i)) == document)
          weft_page_go_to_line (weft_window_get_page (data->window, i), data->line, data->column);
    }
  g_object_unref (data->window);
  g_free (data);
}

/* Brings back one document of an earlier session: its unsaved changes
 * from the draft, or else its file. */
void
weft_window_restore (WeftWindow             *self,
                     const WeftSessionEntry *entry)
{
  WeftDocument *document;
  AdwTabPage *tab_page;
  RestoreData *data;

  g_return_if_fail (WEFT_IS_WINDOW (self));
  g_return_if_fail (entry != NULL);

  if (entry->draft == NULL && entry->file != NULL && weft_window_find_file (self, entry->file) != NULL)
    return;

  tab_page = weft_window_add_page (self, weft_window_take_new_page (self), entry->id);
  document = weft_page_get_document (page_of (tab_page));
  if (entry->file != NULL)
    g_object_set_data_full (G_OBJECT (page_of (tab_page)), "weft-file-coming", g_object_ref (entry->file),
                            g_object_unref);

  data = g_new0 (RestoreData, 1);
  data->window = g_object_ref (self);
  data->line = entry->line;
  data->column = entry->column;
  if (entry->draft != NULL)
    weft_document_load_draft_async (document, entry->draft, entry->file, NULL, on_restore_loaded, data);
  else
    weft_document_load_async (document, entry->file, NULL, on_restore_loaded, data);
}

WeftPage *
weft_window_new_document (WeftWindow *self)
{
  AdwTabPage *tab_page;

  g_return_val_if_fail (WEFT_IS_WINDOW (self), NULL);

  tab_page = weft_window_add_page (self, weft_window_take_new_page (self), NULL);
  adw_tab_view_set_selected_page (self->tab_view, tab_page);
  gtk_widget_grab_focus (adw_tab_page_get_child (tab_page));
  return page_of (tab_page);
}

static AdwTabPage *
weft_window_find_file (WeftWindow *self,
                       GFile      *file)
{
  guint n = weft_window_get_n_pages (self);

  for (guint i = 0; i < n; i++)
    {
      AdwTabPage *tab_page = adw_tab_view_get_nth_page (self->tab_view, (int) i);
      GFile *page_file = weft_document_get_file (weft_page_get_document (page_of (tab_page)));
      /* A tab whose file is still coming in counts as having it. */
      GFile *coming = g_object_get_data (G_OBJECT (page_of (tab_page)), "weft-file-coming");

      if (page_file == NULL)
        page_file = coming;
      if (page_file != NULL && g_file_equal (page_file, file))
        return tab_page;
    }
  return NULL;
}

/* With the application's name and command spelled out: entries added without
 * them are read back with no command, which makes GLib 2.74 complain on
 * every later listing. */
void
weft_window_add_recent (WeftWindow *self,
                        const char *uri)
{
  GtkRecentData data = {
    .app_name = (char *) g_get_application_name (),
    .app_exec = (char *) "weft %u",
    .mime_type = (char *) "text/plain",
  };

  g_return_if_fail (WEFT_IS_WINDOW (self));

  gtk_recent_manager_add_full (self->recent_manager, uri, &data);
}

static gboolean
weft_window_has_tab_page (WeftWindow *self,
                          AdwTabPage *tab_page)
{
  guint n = weft_window_get_n_pages (self);

  for (guint i = 0; i < n; i++)
    if (adw_tab_view_get_nth_page (self->tab_view, (int) i) == tab_page)
      return TRUE;
  return FALSE;
}

typedef struct
{
  WeftWindow *window;
  AdwTabPage *tab_page;
  GFile      *file;
  int         line;
  gboolean    new_page;
  /* While the load waits for the new tab's first frame. */
  GdkFrameClock *clock;
  gulong      painted_handler;
  guint       paint_timeout;
} OpenData;

static void
open_data_free (OpenData *data)
{
  g_clear_object (&data->window);
  g_clear_object (&data->tab_page);
  g_clear_object (&data->file);
  g_free (data);
}

static void
on_load_finished (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  OpenData *data = user_data;
  WeftWindow *self = data->window;
  WeftDocument *document = WEFT_DOCUMENT (object);
  g_autoptr(GError) error = NULL;

  g_object_set_data (G_OBJECT (page_of (data->tab_page)), "weft-file-coming", NULL);
  if (!weft_document_load_finish (document, result, &error))
    {
      /* A load the user stopped needs no message. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        weft_window_show_message (self, error->message);
      /* The page was made for this file and holds nothing of the user's
       * (unless the user has closed it already). */
      if (data->new_page && weft_window_has_tab_page (self, data->tab_page))
        adw_tab_view_close_page (self->tab_view, data->tab_page);
      open_data_free (data);
      return;
    }

  {
    g_autofree char *uri = g_file_get_uri (data->file);

    weft_window_add_recent (self, uri);
  }

  if (data->line > 0)
    weft_page_go_to_line (page_of (data->tab_page), data->line - 1, 0);
  if (adw_tab_view_get_selected_page (self->tab_view) == data->tab_page)
    {
      weft_window_update_position (self);
      gtk_widget_grab_focus (adw_tab_page_get_child (data->tab_page));
    }
  open_data_free (data);
}

static void
open_data_start_load (OpenData *data)
{
  if (data->clock != NULL)
    g_clear_signal_handler (&data->painted_handler, data->clock);
  g_clear_object (&data->clock);
  g_clear_handle_id (&data->paint_timeout, g_source_remove);
  weft_document_load_async (weft_page_get_document (page_of (data->tab_page)), data->file, NULL,
                            on_load_finished, data);
}

static gboolean
on_tab_not_painted (gpointer user_data)
{
  OpenData *data = user_data;

  data->paint_timeout = 0;
  open_data_start_load (data);
  return G_SOURCE_REMOVE;
}

/* A new tab is new from top to bottom: its first frame repaints most of
 * the window. On two cores, the reader and checker threads starting at
 * the same moment made that frame wait for a core (up to 23 ms against
 * 8-14 ms without them); the load starts once the frame is out, or after
 * PAINT_WAIT_MS if none comes (a window not shown, say). */
#define PAINT_WAIT_MS 100

static void
open_data_start_load_after_paint (OpenData *data)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (data->window));

  if (clock == NULL || !gtk_widget_get_mapped (GTK_WIDGET (data->window)))
    {
      open_data_start_load (data);
      return;
    }
  data->clock = g_object_ref (clock);
  data->painted_handler = g_signal_connect_swapped (clock, "after-paint", G_CALLBACK (open_data_start_load),
                                                    data);
  data->paint_timeout = weft_watchdog_timeout_add (PAINT_WAIT_MS, "loading a file", on_tab_not_painted, data,
                                                   NULL);
}

/* Opens @file in a tab of this window, or selects the tab that already has
 * it; @line counts from 1, 0 for none. Failures are shown in the window. */
void
weft_window_open_file (WeftWindow *self,
                       GFile      *file,
                       int         line)
{
  AdwTabPage *tab_page;
  WeftPage *active;
  OpenData *data;

  g_return_if_fail (WEFT_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  tab_page = weft_window_find_file (self, file);
  if (tab_page != NULL)
    {
      adw_tab_view_set_selected_page (self->tab_view, tab_page);
      if (line > 0)
        weft_page_go_to_line (page_of (tab_page), line - 1, 0);
      return;
    }

  weft_watchdog_work_begin ();
  data = g_new0 (OpenData, 1);
  data->window = g_object_ref (self);
  data->file = g_object_ref (file);
  data->line = line;

  /* An empty tab nobody has touched takes the file, unless another file is
   * already on its way into it (a new tab's load waits for its first frame). */
  active = weft_window_get_active_page (self);
  if (active != NULL && weft_document_is_untouched (weft_page_get_document (active)) &&
      g_object_get_data (G_OBJECT (active), "weft-file-coming") == NULL)
    tab_page = adw_tab_view_get_selected_page (self->tab_view);
  else
    {
      tab_page = weft_window_add_page (self, weft_window_take_new_page (self), NULL);
      data->new_page = TRUE;
    }
  data->tab_page = g_object_ref (tab_page);
  g_object_set_data_full (G_OBJECT (page_of (tab_page)), "weft-file-coming", g_object_ref (file), g_object_unref);
  adw_tab_view_set_selected_page (self->tab_view, tab_page);

  if (data->new_page)
    open_data_start_load_after_paint (data);
  else
    open_data_start_load (data);
  weft_watchdog_work_end ("opening a file");
}

/* Closing tabs and windows with unsaved changes. */

typedef void (*ConfirmDone) (WeftWindow *self,
                             WeftPage   *page,
                             gboolean    proceed,
                             gpointer    user_data);

typedef struct
{
  ConfirmDone done;
  gpointer    user_data;
} ConfirmData;

static void
on_confirm_saved (WeftWindow *self,
                  WeftPage   *page,
                  gboolean    saved,
                  gpointer    user_data)
{
  ConfirmData *data = user_data;

  data->done (self, page, saved, data->user_data);
  g_free (data);
}

static void
on_confirm_response (AdwMessageDialog *dialog,
                     const char       *response,
                     gpointer          user_data)
{
  ConfirmData *data = user_data;
  WeftWindow *self = WEFT_WINDOW (gtk_window_get_transient_for (GTK_WINDOW (dialog)));
  WeftPage *page = g_object_get_data (G_OBJECT (dialog), "page");

  if (g_strcmp0 (response, "save") == 0)
    {
      weft_window_save_page (self, page, FALSE, on_confirm_saved, data);
      return;
    }

  data->done (self, page, g_strcmp0 (response, "discard") == 0, data->user_data);
  g_free (data);
}

/* Asks what to do with @page's unsaved changes: save them, discard them or
 * cancel. @done learns whether closing may go on. */
static void
weft_window_confirm_close (WeftWindow  *self,
                           WeftPage    *page,
                           ConfirmDone  done,
                           gpointer     user_data)
{
  WeftDocument *document = weft_page_get_document (page);
  ConfirmData *data;
  AdwMessageDialog *dialog;

  g_assert (WEFT_IS_WINDOW (self));

  if (!weft_document_get_modified (document))
    {
      done (self, page, TRUE, user_data);
      return;
    }

  data = g_new0 (ConfirmData, 1);
  data->done = done;
  data->user_data = user_data;

  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), _("Save Changes?"), NULL));
  adw_message_dialog_format_body (dialog,
                                  _("“%s” has unsaved changes. Changes which are not saved will be lost."),
                                  weft_document_get_title (document));
  adw_message_dialog_add_responses (dialog,
                                    "cancel", _("_Cancel"),
                                    "discard", _("_Discard"),
                                    "save", _("_Save"),
                                    NULL);
  adw_message_dialog_set_response_appearance (dialog, "discard", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_response_appearance (dialog, "save", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "save");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "page", g_object_ref (page), g_object_unref);
  g_signal_connect (dialog, "response", G_CALLBACK (on_confirm_response), data);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_close_page_confirmed (WeftWindow *self,
                         WeftPage   *page,
                         gboolean    proceed,
                         gpointer    user_data)
{
  g_autoptr(AdwTabPage) tab_page = user_data;

  adw_tab_view_close_page_finish (self->tab_view, tab_page, proceed);
}

static gboolean
on_close_page (WeftWindow *self,
               AdwTabPage *tab_page)
{
  /* A tab still loading holds nothing of the user's: stop and close. */
  weft_document_cancel_load (weft_page_get_document (page_of (tab_page)));

  if (self->close_confirmed)
    adw_tab_view_close_page_finish (self->tab_view, tab_page, TRUE);
  else
    {
      adw_tab_view_set_selected_page (self->tab_view, tab_page);
      weft_window_confirm_close (self, page_of (tab_page), on_close_page_confirmed,
                                 g_object_ref (tab_page));
    }
  return GDK_EVENT_STOP;
}

static void confirm_next_page (WeftWindow *self);

static void
on_window_page_confirmed (WeftWindow *self,
                          WeftPage   *page,
                          gboolean    proceed,
                          gpointer    user_data)
{
  if (!proceed)
    {
      self->close_in_progress = FALSE;
      return;
    }
  g_object_set_data (G_OBJECT (page), "weft-close-confirmed", GINT_TO_POINTER (TRUE));
  /* Discarded changes must not come back from their draft next time. */
  if (weft_document_get_modified (weft_page_get_document (page)) && weft_window_get_session (self) != NULL)
    weft_session_untrack (weft_window_get_session (self), weft_page_get_document (page));
  confirm_next_page (self);
}

/* Walks the modified pages one by one; when every one is settled, closes. */
static void
confirm_next_page (WeftWindow *self)
{
  guint n = weft_window_get_n_pages (self);

  for (guint i = 0; i < n; i++)
    {
      AdwTabPage *tab_page = adw_tab_view_get_nth_page (self->tab_view, (int) i);
      WeftPage *page = page_of (tab_page);

      if (weft_document_get_modified (weft_page_get_document (page)) &&
          !g_object_get_data (G_OBJECT (page), "weft-close-confirmed"))
        {
          adw_tab_view_set_selected_page (self->tab_view, tab_page);
          weft_window_confirm_close (self, page, on_window_page_confirmed, NULL);
          return;
        }
    }

  self->close_confirmed = TRUE;
  self->close_in_progress = FALSE;
  gtk_window_close (GTK_WINDOW (self));
}

static void
weft_window_save_size (WeftWindow *self)
{
  int width, height;

  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (GTK_WINDOW (self)));
  if (!gtk_window_is_maximized (GTK_WINDOW (self)))
    {
      g_settings_set_int (self->settings, "window-width", width);
      g_settings_set_int (self->settings, "window-height", height);
    }
}

static gboolean
weft_window_close_request (GtkWindow *window)
{
  WeftWindow *self = WEFT_WINDOW (window);
  guint n = weft_window_get_n_pages (self);

  if (!self->close_confirmed)
    {
      if (!self->close_in_progress)
        {
          for (guint i = 0; i < n; i++)
            g_object_set_data (G_OBJECT (weft_window_get_page (self, i)), "weft-close-confirmed", NULL);
          self->close_in_progress = TRUE;
          confirm_next_page (self);
        }
      if (!self->close_confirmed)
        return GDK_EVENT_STOP;
    }

  /* Closing the last window ends the application, and its documents are
   * the session to restore; closing one of several forgets its documents. */
  if (weft_window_get_session (self) != NULL &&
      g_list_length (gtk_application_get_windows (gtk_window_get_application (window))) > 1)
    for (guint i = 0; i < n; i++)
      weft_session_untrack (weft_window_get_session (self), weft_page_get_document (weft_window_get_page (self, i)));

  weft_window_save_size (self);
  return GTK_WINDOW_CLASS (weft_window_parent_class)->close_request (window);
}

/* Recent files */

typedef struct
{
  char      *uri;
  GDateTime *modified;
} RecentEntry;

static int
compare_recent (gconstpointer a,
                gconstpointer b)
{
  const RecentEntry *ra = a, *rb = b;

  return -g_date_time_compare (ra->modified, rb->modified);
}

/* Lists this application's recent files. The bookmark file is read here
 * rather than through gtk_recent_manager_get_items(): that call crashes in
 * GLib 2.74 on entries whose application has no command line, which other
 * programs (and GTK's own file chooser) do write. */
static void
weft_window_update_recent (WeftWindow *self)
{
  g_autoptr(GBookmarkFile) bookmarks = g_bookmark_file_new ();
  g_autofree char *filename = NULL;
  g_auto(GStrv) uris = NULL;
  g_autoptr(GArray) entries = g_array_new (FALSE, FALSE, sizeof (RecentEntry));
  const char *app_name = g_get_application_name ();
  guint count = 0;

  g_assert (WEFT_IS_WINDOW (self));

  g_menu_remove_all (self->recent_section);

  g_object_get (self->recent_manager, "filename", &filename, NULL);
  if (filename != NULL && g_bookmark_file_load_from_file (bookmarks, filename, NULL))
    uris = g_bookmark_file_get_uris (bookmarks, NULL);

  for (guint i = 0; uris != NULL && uris[i] != NULL; i++)
    {
      g_autofree char *path = NULL;
      GDateTime *modified;
      RecentEntry entry;

      if (!g_bookmark_file_has_application (bookmarks, uris[i], app_name, NULL))
        continue;
      path = g_filename_from_uri (uris[i], NULL, NULL);
      if (path == NULL || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
        continue;
      modified = g_bookmark_file_get_modified_date_time (bookmarks, uris[i], NULL);
      if (modified == NULL)
        continue;
      entry.uri = uris[i];
      entry.modified = modified;
      g_array_append_val (entries, entry);
    }
  g_array_sort (entries, compare_recent);

  for (guint i = 0; i < entries->len && count < MAX_RECENT_ITEMS; i++)
    {
      RecentEntry *entry = &g_array_index (entries, RecentEntry, i);
      g_autofree char *path = g_filename_from_uri (entry->uri, NULL, NULL);
      g_autofree char *display = g_filename_display_basename (path);
      g_auto(GStrv) parts = g_strsplit (display, "_", -1);
      /* Underscores in file names must not turn into mnemonics. */
      g_autofree char *label = g_strjoinv ("__", parts);
      g_autoptr(GMenuItem) item = g_menu_item_new (label, NULL);

      g_menu_item_set_action_and_target (item, "win.open-recent", "s", entry->uri);
      g_menu_append_item (self->recent_section, item);
      count++;
    }

  if (count == 0)
    {
      g_autoptr(GMenuItem) item = g_menu_item_new (_("No Recent Files"), "win.open-recent-none");

      g_menu_append_item (self->recent_section, item);
    }
}

/* Go to line */

static void
on_goto_popover_show (WeftWindow *self)
{
  WeftPage *page = weft_window_get_active_page (self);
  int line = 1, column = 1;
  g_autofree char *text = NULL;

  if (page != NULL)
    weft_page_get_cursor (page, &line, &column);
  text = g_strdup_printf ("%d", line);
  gtk_editable_set_text (GTK_EDITABLE (self->goto_entry), text);
  gtk_widget_grab_focus (GTK_WIDGET (self->goto_entry));
  gtk_editable_select_region (GTK_EDITABLE (self->goto_entry), 0, -1);
}

static void
on_goto_activate (WeftWindow *self)
{
  WeftPage *page = weft_window_get_active_page (self);
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->goto_entry));
  gint64 line = 0, column = 0;
  g_auto(GStrv) parts = g_strsplit (text, ":", 2);

  if (page == NULL)
    return;

  /* "LINE" or "LINE:COLUMN", both counted from 1. */
  if (parts[0] == NULL || !g_ascii_string_to_signed (g_strstrip (parts[0]), 10, 1, G_MAXINT, &line, NULL) ||
      (parts[1] != NULL && !g_ascii_string_to_signed (g_strstrip (parts[1]), 10, 1, G_MAXINT, &column, NULL)))
    {
      gtk_widget_error_bell (GTK_WIDGET (self->goto_entry));
      gtk_widget_add_css_class (GTK_WIDGET (self->goto_entry), "error");
      return;
    }

  gtk_widget_remove_css_class (GTK_WIDGET (self->goto_entry), "error");
  gtk_popover_popdown (self->goto_popover);
  weft_page_go_to_line (page, (int) line - 1, column > 0 ? (int) column - 1 : 0);
  gtk_widget_grab_focus (GTK_WIDGET (page));
}

static void
weft_window_constructed (GObject *object)
{
  WeftWindow *self = WEFT_WINDOW (object);

  G_OBJECT_CLASS (weft_window_parent_class)->constructed (object);

  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
}

/* The window actions g_settings_create_action() makes (weft-window-actions.c). */
static const char * const settings_actions[] = { "wrap-text", "spell-check", "spell-language" };

static void
weft_window_dispose (GObject *object)
{
  WeftWindow *self = WEFT_WINDOW (object);

  if (self->recent_manager != NULL)
    g_signal_handlers_disconnect_by_data (self->recent_manager, self);
  g_clear_object (&self->buffer_signals);
  g_clear_handle_id (&self->position_source, g_source_remove);
  g_clear_handle_id (&self->selection_source, g_source_remove);
  g_clear_handle_id (&self->spare_source, g_source_remove);
  g_clear_object (&self->spare_page);
  /* Kept hidden between sorts, it goes with the window. */
  if (self->sort_dialog != NULL)
    {
      gtk_window_destroy (self->sort_dialog);
      g_clear_object (&self->sort_dialog);
    }
  g_weak_ref_clear (&self->sort_page);
  g_clear_object (&self->spell_signals);
  /* Actions made by g_settings_create_action() follow the settings, which
   * outlive this window; removed here, their handlers go with them rather
   * than waiting for the action group's finalization, which leaves them
   * connected to a group that is gone when a setting changes later. */
  for (guint i = 0; i < G_N_ELEMENTS (settings_actions); i++)
    g_action_map_remove_action (G_ACTION_MAP (self), settings_actions[i]);
  gtk_widget_dispose_template (GTK_WIDGET (self), WEFT_TYPE_WINDOW);

  G_OBJECT_CLASS (weft_window_parent_class)->dispose (object);
}

static void
weft_window_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (weft_window_parent_class)->map (widget);
  weft_window_prepare_spare_page (WEFT_WINDOW (widget));
}

static void
weft_window_finalize (GObject *object)
{
  WeftWindow *self = WEFT_WINDOW (object);

  g_clear_object (&self->settings);

  G_OBJECT_CLASS (weft_window_parent_class)->finalize (object);
}

static void
weft_window_class_init (WeftWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = weft_window_constructed;
  object_class->dispose = weft_window_dispose;
  widget_class->map = weft_window_map;
  object_class->finalize = weft_window_finalize;
  window_class->close_request = weft_window_close_request;

  g_type_ensure (WEFT_TYPE_PAGE);
  g_type_ensure (WEFT_TYPE_STATS_PANEL);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/weftedit/Weft/weft-window.ui");
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, tab_view);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, tab_bar);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, language_label);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, spell_label);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, spell_language_menu);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, position_button);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, primary_menu_button);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, goto_popover);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, goto_entry);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, recent_section);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, autosave_banner);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, autosave_label);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, stats_revealer);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, stats_panel);
  gtk_widget_class_bind_template_callback (widget_class, on_page_detached);
  gtk_widget_class_bind_template_callback (widget_class, on_autosave_banner_dismiss);
  gtk_widget_class_bind_template_callback (widget_class, on_close_page);
  gtk_widget_class_bind_template_callback (widget_class, on_selected_page_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_n_pages_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_goto_popover_show);
  gtk_widget_class_bind_template_callback (widget_class, on_goto_activate);
}

static gboolean
on_drop (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         WeftWindow    *self)
{
  GSList *files = g_value_get_boxed (value);

  for (GSList *l = files; l != NULL; l = l->next)
    weft_window_open_file (self, l->data, 0);
  return TRUE;
}

static void
weft_window_init (WeftWindow *self)
{
  GtkDropTarget *drop;

  self->settings = g_settings_new (APP_ID);

  gtk_widget_init_template (GTK_WIDGET (self));

  self->buffer_signals = g_signal_group_new (GTK_SOURCE_TYPE_BUFFER);
  g_signal_group_connect_object (self->buffer_signals, "notify::cursor-position",
                                 G_CALLBACK (on_cursor_moved), self, G_CONNECT_SWAPPED);
  self->spell_signals = g_signal_group_new (WEFT_TYPE_SPELL_CONTROLLER);
  g_signal_group_connect_object (self->spell_signals, "notify::n-misspelled",
                                 G_CALLBACK (weft_window_update_spell), self, G_CONNECT_SWAPPED);
  g_signal_group_connect_object (self->spell_signals, "notify::error",
                                 G_CALLBACK (weft_window_update_spell), self, G_CONNECT_SWAPPED);
  g_signal_group_connect_object (self->spell_signals, "notify::counting",
                                 G_CALLBACK (weft_window_update_spell), self, G_CONNECT_SWAPPED);

  self->recent_manager = gtk_recent_manager_get_default ();
  g_signal_connect_object (self->recent_manager, "changed",
                           G_CALLBACK (weft_window_update_recent), self, G_CONNECT_SWAPPED);
  weft_window_update_recent (self);

  /* Files dropped anywhere on the window open in new tabs; the capture phase
   * lets the window see them before the text view takes them as text. */
  drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (drop), GTK_PHASE_CAPTURE);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

  g_signal_connect (self, "notify::application", G_CALLBACK (on_application_set), NULL);

  weft_window_init_actions (self);
  on_n_pages_changed (self);
  weft_window_follow_selected_page (self);
  weft_window_show_selected_page (self);
}
