/* weft-window-actions.c: the window's actions (win.*): files, tabs, search, view. */
#include "config.h"

#include <glib/gi18n.h>

#include "weft-compare-window.h"
#include "weft-error.h"
#include "weft-export.h"
#include "weft-sort-dialog.h"
#include "weft-spell.h"
#include "weft-watchdog.h"
#include "weft-window-private.h"

#define ZOOM_STEP 1.1

static void
set_enabled (WeftWindow *self,
             const char *name,
             gboolean    enabled)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), name);

  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), enabled);
}

void
weft_window_update_actions (WeftWindow *self)
{
  static const char * const page_actions[] = {
    "close-page", "find", "replace", "find-next", "find-previous", "go-to-line",
  };
  WeftPage *page;
  gboolean has_page, busy;

  g_assert (WEFT_IS_WINDOW (self));

  page = weft_window_get_active_page (self);
  has_page = page != NULL;
  busy = has_page && weft_document_get_busy (weft_page_get_document (page));
  set_enabled (self, "sort-lines", has_page && !busy);
  for (guint i = 0; i < G_N_ELEMENTS (page_actions); i++)
    set_enabled (self, page_actions[i], has_page);
  set_enabled (self, "save", has_page && !busy);
  set_enabled (self, "save-as", has_page && !busy);
}

typedef struct
{
  WeftPage           *page;
  WeftWindowSaveDone  done;
  gpointer            user_data;
} SaveData;

static void
save_data_finish (WeftWindow *self,
                  SaveData   *data,
                  gboolean    saved)
{
  if (data->done != NULL)
    data->done (self, data->page, saved, data->user_data);
  g_clear_object (&data->page);
  g_free (data);
}

static void
on_document_saved (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  SaveData *data = user_data;
  WeftDocument *document = WEFT_DOCUMENT (object);
  WeftWindow *self = WEFT_WINDOW (gtk_widget_get_root (GTK_WIDGET (data->page)));
  g_autoptr(GError) error = NULL;
  gboolean saved;

  saved = weft_document_save_finish (document, result, &error);
  if (self == NULL)
    {
      /* The tab was closed while saving; nobody is left to tell. */
      g_clear_object (&data->page);
      g_free (data);
      return;
    }

  if (!saved)
    weft_window_show_message (self, error->message);
  else
    {
      g_autofree char *uri = g_file_get_uri (weft_document_get_file (document));

      weft_window_add_recent (self, uri);
    }
  save_data_finish (self, data, saved);
}

static void
on_save_as_response (GtkNativeDialog *dialog,
                     int              response,
                     gpointer         user_data)
{
  SaveData *data = user_data;
  WeftWindow *self = WEFT_WINDOW (gtk_native_dialog_get_transient_for (dialog));
  g_autoptr(GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);

  if (file == NULL)
    {
      save_data_finish (self, data, FALSE);
      return;
    }
  weft_document_save_async (weft_page_get_document (data->page), file, NULL, on_document_saved, data);
}

static void
on_replace_response (AdwMessageDialog *dialog,
                     const char       *response,
                     gpointer          user_data)
{
  SaveData *data = user_data;
  WeftWindow *self = WEFT_WINDOW (gtk_window_get_transient_for (GTK_WINDOW (dialog)));

  if (g_strcmp0 (response, "replace") != 0)
    {
      save_data_finish (self, data, FALSE);
      return;
    }
  weft_document_keep_mine (weft_page_get_document (data->page));
  weft_document_save_async (weft_page_get_document (data->page), NULL, NULL, on_document_saved, data);
}

/* Saves @page's document, asking for a file first when it has none or when
 * @ask_for_file; @done (may be NULL) learns whether it was saved. Errors are
 * shown in the window. */
void
weft_window_save_page (WeftWindow         *self,
                       WeftPage           *page,
                       gboolean            ask_for_file,
                       WeftWindowSaveDone  done,
                       gpointer            user_data)
{
  WeftDocument *document = weft_page_get_document (page);
  SaveData *data;

  g_return_if_fail (WEFT_IS_WINDOW (self));
  g_return_if_fail (WEFT_IS_PAGE (page));

  data = g_new0 (SaveData, 1);
  data->page = g_object_ref (page);
  data->done = done;
  data->user_data = user_data;

  if (ask_for_file || weft_document_get_file (document) == NULL)
    {
      GtkFileChooserNative *dialog;
      GFile *file = weft_document_get_file (document);

      dialog = gtk_file_chooser_native_new (_("Save As"), GTK_WINDOW (self),
                                            GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
      gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
      if (file != NULL)
        gtk_file_chooser_set_file (GTK_FILE_CHOOSER (dialog), file, NULL);
      else
        gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), weft_document_get_title (document));
      g_signal_connect (dialog, "response", G_CALLBACK (on_save_as_response), data);
      gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
      return;
    }

  /* Never write over another program's change without asking. */
  if (weft_document_get_disk_changed (document) && !weft_document_get_disk_deleted (document))
    {
      AdwMessageDialog *dialog;

      dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), _("Replace the File on Disk?"), NULL));
      adw_message_dialog_format_body (dialog,
                                      _("“%s” was changed by another program since it was opened here. "
                                        "Saving replaces that version with yours."),
                                      weft_document_get_title (document));
      adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), "replace", _("_Replace"), NULL);
      adw_message_dialog_set_response_appearance (dialog, "replace", ADW_RESPONSE_DESTRUCTIVE);
      adw_message_dialog_set_default_response (dialog, "cancel");
      adw_message_dialog_set_close_response (dialog, "cancel");
      g_signal_connect (dialog, "response", G_CALLBACK (on_replace_response), data);
      gtk_window_present (GTK_WINDOW (dialog));
      return;
    }

  weft_document_save_async (document, NULL, NULL, on_document_saved, data);
}

static void
on_open_response (GtkNativeDialog *dialog,
                  int              response,
                  WeftWindow      *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (dialog));
      guint n = g_list_model_get_n_items (files);

      for (guint i = 0; i < n; i++)
        {
          g_autoptr(GFile) file = g_list_model_get_item (files, i);

          weft_window_open_file (self, file, 0);
        }
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

void
weft_window_open_dialog (WeftWindow *self)
{
  GtkFileChooserNative *dialog;
  WeftPage *page = weft_window_get_active_page (self);

  g_return_if_fail (WEFT_IS_WINDOW (self));

  dialog = gtk_file_chooser_native_new (_("Open Files"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (dialog), TRUE);
  /* Start where the current document lives: usually where the next one is. */
  if (page != NULL && weft_document_get_file (weft_page_get_document (page)) != NULL)
    {
      g_autoptr(GFile) folder = g_file_get_parent (weft_document_get_file (weft_page_get_document (page)));

      if (folder != NULL)
        gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (dialog), folder, NULL);
    }
  g_signal_connect (dialog, "response", G_CALLBACK (on_open_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
action_new_document (GSimpleAction *action,
                     GVariant      *param,
                     gpointer       user_data)
{
  weft_window_new_document (WEFT_WINDOW (user_data));
}

static void
action_open (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  weft_window_open_dialog (WEFT_WINDOW (user_data));
}

static void
action_open_recent (GSimpleAction *action,
                    GVariant      *param,
                    gpointer       user_data)
{
  g_autoptr(GFile) file = g_file_new_for_uri (g_variant_get_string (param, NULL));

  weft_window_open_file (WEFT_WINDOW (user_data), file, 0);
}

static void
action_save (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  WeftWindow *self = WEFT_WINDOW (user_data);
  WeftPage *page = weft_window_get_active_page (self);

  if (page != NULL)
    weft_window_save_page (self, page, FALSE, NULL, NULL);
}

static void
action_save_as (GSimpleAction *action,
                GVariant      *param,
                gpointer       user_data)
{
  WeftWindow *self = WEFT_WINDOW (user_data);
  WeftPage *page = weft_window_get_active_page (self);

  if (page != NULL)
    weft_window_save_page (self, page, TRUE, NULL, NULL);
}

static void
action_close_page (GSimpleAction *action,
                   GVariant      *param,
                   gpointer       user_data)
{
  WeftWindow *self = WEFT_WINDOW (user_data);
  AdwTabPage *selected = adw_tab_view_get_selected_page (self->tab_view);

  if (selected != NULL)
    adw_tab_view_close_page (self->tab_view, selected);
}

static void
action_find (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  WeftWindow *self = WEFT_WINDOW (user_data);
  WeftPage *page = weft_window_get_active_page (self);
  gboolean replace = g_str_equal (g_action_get_name (G_ACTION (action)), "replace");

  if (page != NULL)
    weft_search_bar_begin (weft_page_get_search_bar (page), replace);
}

static void
action_find_move (GSimpleAction *action,
                  GVariant      *param,
                  gpointer       user_data)
{
  WeftWindow *self = WEFT_WINDOW (user_data);
  WeftPage *page = weft_window_get_active_page (self);
  gboolean backward = g_str_equal (g_action_get_name (G_ACTION (action)), "find-previous");
  /* A page never searched has nothing to move to, and no bar to build. */
  WeftSearchBar *bar = page != NULL ? weft_page_peek_search_bar (page) : NULL;

  if (bar != NULL)
    weft_search_bar_move (bar, backward);
}

static void
action_go_to_line (GSimpleAction *action,
                   GVariant      *param,
                   gpointer       user_data)
{
  WeftWindow *self = WEFT_WINDOW (user_data);

  gtk_menu_button_popup (self->position_button);
}

static void
action_zoom (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  WeftWindow *self = WEFT_WINDOW (user_data);
  const char *name = g_action_get_name (G_ACTION (action));
  double scale = g_settings_get_double (self->settings, "font-scale");

  if (g_str_equal (name, "zoom-in"))
    scale *= ZOOM_STEP;
  else if (g_str_equal (name, "zoom-out"))
    scale /= ZOOM_STEP;
  else
    scale = 1.0;
  g_settings_set_double (self->settings, "font-scale", CLAMP (scale, 0.3, 4.0));
}

static void
on_sort_done (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(WeftWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!weft_document_sort_lines_finish (WEFT_DOCUMENT (object), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
      !g_error_matches (error, WEFT_ERROR, WEFT_ERROR_CANCELLED))
    weft_window_show_message (self, error->message);
}

static void
on_sort_confirmed (WeftWindow *self)
{
  g_autoptr(WeftPage) page = g_weak_ref_get (&self->sort_page);
  WeftSortOptions options;

  /* The tab may have been closed meanwhile. */
  if (page == NULL)
    return;
  weft_watchdog_work_begin ();
  weft_sort_options_from_settings (self->settings, &options);
  weft_document_sort_lines_async (weft_page_get_document (page), self->sort_start_char, self->sort_end_char,
                                  &options, NULL, on_sort_done, g_object_ref (self));
  weft_watchdog_work_end ("starting a sort");
}

/* Sorts the selected lines, or the whole document when nothing is selected. */
static void
action_sort_lines (GSimpleAction *action,
                   GVariant      *param,
                   gpointer       user_data)
{
  WeftWindow *self = WEFT_WINDOW (user_data);
  WeftPage *page = weft_window_get_active_page (self);
  GtkTextBuffer *buffer;
  GtkTextIter start, end, sample_end;
  g_autofree char *sample = NULL;

  if (page == NULL || weft_document_get_busy (weft_page_get_document (page)))
    return;

  buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (weft_page_get_document (page)));
  if (!gtk_text_buffer_get_selection_bounds (buffer, &start, &end))
    gtk_text_buffer_get_bounds (buffer, &start, &end);
  gtk_text_iter_set_line_offset (&start, 0);

  /* The preview needs only the first lines: a bounded copy. */
  sample_end = start;
  gtk_text_iter_forward_lines (&sample_end, 64);
  if (gtk_text_iter_compare (&sample_end, &end) > 0)
    sample_end = end;
  sample = gtk_text_buffer_get_text (buffer, &start, &sample_end, TRUE);

  g_weak_ref_set (&self->sort_page, page);
  self->sort_start_char = gtk_text_iter_get_offset (&start);
  self->sort_end_char = gtk_text_iter_get_offset (&end);
  if (self->sort_dialog == NULL)
    {
      self->sort_dialog = g_object_ref (GTK_WINDOW (weft_sort_dialog_new (GTK_WINDOW (self), sample)));
      g_signal_connect_object (self->sort_dialog, "sort", G_CALLBACK (on_sort_confirmed), self,
                               G_CONNECT_SWAPPED);
    }
  else
    weft_sort_dialog_set_sample (WEFT_SORT_DIALOG (self->sort_dialog), sample);
  gtk_window_present (self->sort_dialog);
}

static void
action_show_stats (GSimpleAction *action,
                   GVariant      *state,
                   gpointer       user_data)
{
  WeftWindow *self = WEFT_WINDOW (user_data);

  g_simple_action_set_state (action, state);
  gtk_revealer_set_reveal_child (self->stats_revealer, g_variant_get_boolean (state));
}

static void
action_export_stats (GSimpleAction *action,
                     GVariant      *param,
                     gpointer       user_data)
{
  WeftWindow *self = WEFT_WINDOW (user_data);
  gboolean csv = g_str_equal (g_variant_get_string (param, NULL), "csv");
  g_autofree char *contents = NULL;

  weft_stats_panel_refresh (self->stats_panel);
  contents = csv ? weft_stats_panel_to_csv (self->stats_panel) : weft_stats_panel_to_json (self->stats_panel);
  weft_export_save (GTK_WINDOW (self), csv ? "weft-stats.csv" : "weft-stats.json", contents);
}

/* Compare works on the document in front of the user, or on a generated
 * 1M-line one when that is empty or still loading. */
static void
action_compare_backends (GSimpleAction *action,
                         GVariant      *param,
                         gpointer       user_data)
{
  WeftWindow *self = WEFT_WINDOW (user_data);
  WeftPage *page = weft_window_get_active_page (self);
  WeftDocument *document = page != NULL ? weft_page_get_document (page) : NULL;
  g_autoptr(WeftJobInput) input = NULL;
  g_autofree char *source = NULL;
  GtkWidget *window;

  if (document != NULL && !weft_document_get_busy (document) &&
      gtk_text_buffer_get_char_count (GTK_TEXT_BUFFER (weft_document_get_buffer (document))) > 0)
    {
      g_autoptr(WeftSnapshot) snapshot = weft_document_dup_snapshot (document);

      input = weft_job_input_new_snapshot (snapshot);
      /* TRANSLATORS: %s is the document's title */
      source = g_strdup_printf (_("“%s”"), weft_document_get_title (document));
    }
  else
    source = g_strdup (_("a generated document of 1,000,000 lines"));

  window = weft_compare_window_new (GTK_WINDOW (self), input, source);
  gtk_window_present (GTK_WINDOW (window));
}

static void
action_move_misspelling (GSimpleAction *action,
                         GVariant      *param,
                         gpointer       user_data)
{
  WeftWindow *self = WEFT_WINDOW (user_data);
  WeftPage *page = weft_window_get_active_page (self);
  gboolean forward = g_str_equal (g_action_get_name (G_ACTION (action)), "next-misspelling");

  if (page == NULL)
    return;
  if (!weft_spell_controller_move (weft_page_get_spell_controller (page), forward))
    gtk_widget_error_bell (GTK_WIDGET (self));
}

/* One radio item per installed dictionary, plus the locale's default. */
static void
fill_spell_languages (WeftWindow *self)
{
  g_auto (GStrv) languages = weft_spell_list_languages ();
  g_autoptr (GMenuItem) automatic = g_menu_item_new (_("_Automatic"), NULL);

  g_menu_item_set_action_and_target (automatic, "win.spell-language", "s", "");
  g_menu_append_item (self->spell_language_menu, automatic);
  for (size_t i = 0; languages[i] != NULL; i++)
    {
      g_autoptr (GMenuItem) item = g_menu_item_new (NULL, NULL);
      g_autofree char *label = NULL;

      /* Tags, not names: Enchant gives no names, and "en_US" is what the
       * dictionary packages are called. Underscores are not mnemonics. */
      label = g_strdelimit (g_strdup (languages[i]), "_", '-');
      g_menu_item_set_label (item, label);
      g_menu_item_set_action_and_target (item, "win.spell-language", "s", languages[i]);
      g_menu_append_item (self->spell_language_menu, item);
    }
}

static const GActionEntry win_entries[] = {
  { "next-misspelling", action_move_misspelling },
  { "previous-misspelling", action_move_misspelling },
  { "show-stats", NULL, NULL, "false", action_show_stats },
  { "export-stats", action_export_stats, "s" },
  { "compare-backends", action_compare_backends },
  { "sort-lines", action_sort_lines },
  { "new-document", action_new_document },
  { "open", action_open },
  { "open-recent", action_open_recent, "s" },
  { "save", action_save },
  { "save-as", action_save_as },
  { "close-page", action_close_page },
  { "find", action_find },
  { "replace", action_find },
  { "find-next", action_find_move },
  { "find-previous", action_find_move },
  { "go-to-line", action_go_to_line },
  { "zoom-in", action_zoom },
  { "zoom-out", action_zoom },
  { "zoom-reset", action_zoom },
};

void
weft_window_init_actions (WeftWindow *self)
{
  g_autoptr(GAction) wrap = NULL;
  g_autoptr(GAction) spell = NULL;
  g_autoptr(GAction) spell_language = NULL;
  g_autoptr(GSimpleAction) no_recent = NULL;

  g_action_map_add_action_entries (G_ACTION_MAP (self), win_entries, G_N_ELEMENTS (win_entries), self);

  wrap = g_settings_create_action (self->settings, "wrap-text");
  g_action_map_add_action (G_ACTION_MAP (self), wrap);
  spell = g_settings_create_action (self->settings, "spell-check");
  g_action_map_add_action (G_ACTION_MAP (self), spell);
  spell_language = g_settings_create_action (self->settings, "spell-language");
  g_action_map_add_action (G_ACTION_MAP (self), spell_language);
  fill_spell_languages (self);

  /* The "No Recent Files" placeholder: a menu item that cannot be activated. */
  no_recent = g_simple_action_new ("open-recent-none", NULL);
  g_simple_action_set_enabled (no_recent, FALSE);
  g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (no_recent));
}
