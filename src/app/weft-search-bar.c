/* weft-search-bar.c: find and replace inside one view, with a live match count. */
#include "config.h"

#include <glib/gi18n.h>

#include "weft-search-bar.h"

struct _WeftSearchBar
{
  GtkWidget                 parent_instance;

  GtkRevealer              *revealer;
  GtkSearchEntry           *search_entry;
  GtkLabel                 *count_label;
  GtkToggleButton          *replace_toggle;
  GtkBox                   *replace_box;
  GtkEntry                 *replace_entry;
  GtkCheckButton           *case_check;
  GtkCheckButton           *word_check;
  GtkCheckButton           *regex_check;

  GtkSourceView            *view;
  GtkSourceSearchSettings  *settings;
  GtkSourceSearchContext   *context;
  GCancellable             *move_cancellable;
};

G_DEFINE_FINAL_TYPE (WeftSearchBar, weft_search_bar, GTK_TYPE_WIDGET)

static GtkTextBuffer *
weft_search_bar_get_buffer (WeftSearchBar *self)
{
  return gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->view));
}

static void
weft_search_bar_update_count (WeftSearchBar *self)
{
  GtkTextIter start, end;
  int count, position;
  g_autofree char *text = NULL;

  g_assert (WEFT_IS_SEARCH_BAR (self));

  if (self->context == NULL)
    return;

  count = gtk_source_search_context_get_occurrences_count (self->context);
  if (gtk_source_search_settings_get_search_text (self->settings) == NULL)
    text = g_strdup ("");
  else if (gtk_source_search_context_get_regex_error (self->context) != NULL)
    text = g_strdup (_("Invalid pattern"));
  else if (count < 0)
    text = g_strdup ("…");
  else if (count == 0)
    text = g_strdup (_("No matches"));
  else
    {
      gtk_text_buffer_get_selection_bounds (weft_search_bar_get_buffer (self), &start, &end);
      position = gtk_source_search_context_get_occurrence_position (self->context, &start, &end);
      if (position > 0)
        /* TRANSLATORS: the current match and the number of matches, e.g. "3 of 12" */
        text = g_strdup_printf (_("%d of %d"), position, count);
      else
        text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d match", "%d matches", count), count);
    }

  gtk_label_set_text (self->count_label, text);
}

static void
on_mark_set (WeftSearchBar *self,
             GtkTextIter   *location,
             GtkTextMark   *mark,
             GtkTextBuffer *buffer)
{
  if (mark == gtk_text_buffer_get_insert (buffer) ||
      mark == gtk_text_buffer_get_selection_bound (buffer))
    weft_search_bar_update_count (self);
}

static void
on_move_finished (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(WeftSearchBar) self = user_data;
  GtkSourceSearchContext *context = GTK_SOURCE_SEARCH_CONTEXT (object);
  GtkTextIter match_start, match_end;
  gboolean found;
  g_autoptr(GError) error = NULL;

  if (g_object_get_data (object, "backward"))
    found = gtk_source_search_context_backward_finish (context, result, &match_start, &match_end,
                                                       NULL, &error);
  else
    found = gtk_source_search_context_forward_finish (context, result, &match_start, &match_end,
                                                      NULL, &error);

  if (!found || self->view == NULL)
    return;

  gtk_text_buffer_select_range (weft_search_bar_get_buffer (self), &match_start, &match_end);
  gtk_text_view_scroll_to_mark (GTK_TEXT_VIEW (self->view),
                                gtk_text_buffer_get_insert (weft_search_bar_get_buffer (self)),
                                0.25, FALSE, 0, 0);
}

void
weft_search_bar_move (WeftSearchBar *self,
                      gboolean       backward)
{
  GtkTextIter start, end;

  g_return_if_fail (WEFT_IS_SEARCH_BAR (self));

  if (self->context == NULL ||
      gtk_source_search_settings_get_search_text (self->settings) == NULL)
    return;

  g_cancellable_cancel (self->move_cancellable);
  g_clear_object (&self->move_cancellable);
  self->move_cancellable = g_cancellable_new ();

  gtk_text_buffer_get_selection_bounds (weft_search_bar_get_buffer (self), &start, &end);
  g_object_set_data (G_OBJECT (self->context), "backward", GINT_TO_POINTER (backward));
  if (backward)
    gtk_source_search_context_backward_async (self->context, &start, self->move_cancellable,
                                              on_move_finished, g_object_ref (self));
  else
    gtk_source_search_context_forward_async (self->context, &end, self->move_cancellable,
                                             on_move_finished, g_object_ref (self));
}

static void
on_next_match (WeftSearchBar *self)
{
  weft_search_bar_move (self, FALSE);
}

static void
on_previous_match (WeftSearchBar *self)
{
  weft_search_bar_move (self, TRUE);
}

static void
on_search_activate (WeftSearchBar *self)
{
  weft_search_bar_move (self, FALSE);
}

/* Applies the entry's text to the search settings. The entry reports its
 * changes after a short delay; anything that acts on matches calls this first
 * so that fast typing is never one step behind. Returns whether it changed. */
static gboolean
weft_search_bar_sync_settings (WeftSearchBar *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));
  g_autofree char *wanted = NULL;

  if (self->settings == NULL)
    return FALSE;

  if (text[0] == '\0')
    wanted = NULL;
  else if (gtk_source_search_settings_get_regex_enabled (self->settings))
    wanted = g_strdup (text);
  else
    /* So that "\n" and "\t" typed in the entry find line breaks and tabs. */
    wanted = gtk_source_utils_unescape_search_text (text);

  if (g_strcmp0 (wanted, gtk_source_search_settings_get_search_text (self->settings)) == 0)
    return FALSE;
  gtk_source_search_settings_set_search_text (self->settings, wanted);
  return TRUE;
}

static void
on_search_changed (WeftSearchBar *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));

  if (self->settings == NULL)
    return;

  weft_search_bar_sync_settings (self);

  /* Search as you type, from where the selection starts. */
  if (text[0] != '\0')
    {
      GtkTextBuffer *buffer = weft_search_bar_get_buffer (self);
      GtkTextIter start, end;

      gtk_text_buffer_get_selection_bounds (buffer, &start, &end);
      gtk_text_buffer_select_range (buffer, &start, &start);
      weft_search_bar_move (self, FALSE);
    }
  weft_search_bar_update_count (self);
}

static void
on_replace_toggled (WeftSearchBar *self)
{
  gtk_widget_set_visible (GTK_WIDGET (self->replace_box),
                          gtk_toggle_button_get_active (self->replace_toggle));
}

static const char *
weft_search_bar_get_replacement (WeftSearchBar  *self,
                                 char          **to_free)
{
  const char *replacement = gtk_editable_get_text (GTK_EDITABLE (self->replace_entry));

  if (gtk_source_search_settings_get_regex_enabled (self->settings))
    return replacement;
  return *to_free = gtk_source_utils_unescape_search_text (replacement);
}

/* Replaces the selected match, or else the next one, then moves on. */
static void
on_replace_clicked (WeftSearchBar *self)
{
  GtkTextBuffer *buffer;
  GtkTextIter start, end, match_start, match_end;
  g_autofree char *unescaped = NULL;
  const char *replacement;
  g_autoptr(GError) error = NULL;

  if (self->context == NULL)
    return;

  weft_search_bar_sync_settings (self);
  if (gtk_source_search_settings_get_search_text (self->settings) == NULL)
    return;

  buffer = weft_search_bar_get_buffer (self);
  gtk_text_buffer_get_selection_bounds (buffer, &start, &end);
  if (gtk_source_search_context_get_occurrence_position (self->context, &start, &end) > 0)
    {
      match_start = start;
      match_end = end;
    }
  else if (!gtk_source_search_context_forward (self->context, &start, &match_start, &match_end, NULL))
    {
      gtk_widget_error_bell (GTK_WIDGET (self));
      return;
    }

  replacement = weft_search_bar_get_replacement (self, &unescaped);
  if (!gtk_source_search_context_replace (self->context, &match_start, &match_end, replacement, -1, &error))
    {
      gtk_widget_error_bell (GTK_WIDGET (self));
      return;
    }
  gtk_text_buffer_select_range (buffer, &match_end, &match_end);
  weft_search_bar_move (self, FALSE);
}

void
weft_search_bar_replace_all (WeftSearchBar *self)
{
  const char *replacement;
  g_autofree char *unescaped = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (WEFT_IS_SEARCH_BAR (self));

  if (self->context == NULL)
    return;
  weft_search_bar_sync_settings (self);
  if (gtk_source_search_settings_get_search_text (self->settings) == NULL)
    return;

  replacement = weft_search_bar_get_replacement (self, &unescaped);
  gtk_source_search_context_replace_all (self->context, replacement, -1, &error);
}

int
weft_search_bar_get_n_matches (WeftSearchBar *self)
{
  g_return_val_if_fail (WEFT_IS_SEARCH_BAR (self), -1);

  if (self->context == NULL)
    return 0;
  return gtk_source_search_context_get_occurrences_count (self->context);
}

void
weft_search_bar_begin (WeftSearchBar *self,
                       gboolean       with_replace)
{
  GtkTextBuffer *buffer;
  GtkTextIter start, end;

  g_return_if_fail (WEFT_IS_SEARCH_BAR (self));

  if (self->view == NULL)
    return;

  /* A short single-line selection is what the user wants to find. */
  buffer = weft_search_bar_get_buffer (self);
  if (gtk_text_buffer_get_selection_bounds (buffer, &start, &end) &&
      gtk_text_iter_get_line (&start) == gtk_text_iter_get_line (&end) &&
      gtk_text_iter_get_offset (&end) - gtk_text_iter_get_offset (&start) < 200)
    {
      g_autofree char *selected = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
      g_autofree char *escaped = gtk_source_utils_escape_search_text (selected);

      gtk_editable_set_text (GTK_EDITABLE (self->search_entry), escaped);
    }

  gtk_source_search_context_set_highlight (self->context, TRUE);
  gtk_toggle_button_set_active (self->replace_toggle, with_replace);
  gtk_revealer_set_reveal_child (self->revealer, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
  gtk_editable_select_region (GTK_EDITABLE (self->search_entry), 0, -1);
  weft_search_bar_update_count (self);
}

void
weft_search_bar_dismiss (WeftSearchBar *self)
{
  g_return_if_fail (WEFT_IS_SEARCH_BAR (self));

  if (self->context != NULL)
    gtk_source_search_context_set_highlight (self->context, FALSE);
  gtk_revealer_set_reveal_child (self->revealer, FALSE);
  if (self->view != NULL)
    gtk_widget_grab_focus (GTK_WIDGET (self->view));
}

gboolean
weft_search_bar_is_revealed (WeftSearchBar *self)
{
  g_return_val_if_fail (WEFT_IS_SEARCH_BAR (self), FALSE);

  return gtk_revealer_get_reveal_child (self->revealer);
}

WeftSearchBar *
weft_search_bar_new (GtkSourceView *view)
{
  WeftSearchBar *self;
  GtkTextBuffer *buffer;

  g_return_val_if_fail (GTK_SOURCE_IS_VIEW (view), NULL);

  self = g_object_new (WEFT_TYPE_SEARCH_BAR, NULL);
  self->view = view;
  buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (view));
  self->context = gtk_source_search_context_new (GTK_SOURCE_BUFFER (buffer), self->settings);
  gtk_source_search_context_set_highlight (self->context, FALSE);

  g_signal_connect_object (self->context, "notify::occurrences-count",
                           G_CALLBACK (weft_search_bar_update_count), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (buffer, "mark-set",
                           G_CALLBACK (on_mark_set), self, G_CONNECT_SWAPPED);
  return self;
}

/* Tab from the search entry goes straight to the replacement when it is
 * shown, rather than through every button in between. */
static gboolean
on_bar_key_pressed (WeftSearchBar         *self,
                    guint                  keyval,
                    guint                  keycode,
                    GdkModifierType        state,
                    GtkEventControllerKey *controller)
{
  if (keyval == GDK_KEY_Escape && (state & GDK_MODIFIER_MASK) == 0)
    {
      weft_search_bar_dismiss (self);
      return GDK_EVENT_STOP;
    }
  return GDK_EVENT_PROPAGATE;
}

static gboolean
on_search_key_pressed (WeftSearchBar         *self,
                       guint                  keyval,
                       guint                  keycode,
                       GdkModifierType        state,
                       GtkEventControllerKey *controller)
{
  if ((keyval == GDK_KEY_Tab || keyval == GDK_KEY_KP_Tab) &&
      (state & GDK_MODIFIER_MASK) == 0 &&
      gtk_widget_get_visible (GTK_WIDGET (self->replace_box)))
    {
      gtk_widget_grab_focus (GTK_WIDGET (self->replace_entry));
      return GDK_EVENT_STOP;
    }
  return GDK_EVENT_PROPAGATE;
}

static void
weft_search_bar_dispose (GObject *object)
{
  WeftSearchBar *self = WEFT_SEARCH_BAR (object);

  g_cancellable_cancel (self->move_cancellable);
  g_clear_object (&self->move_cancellable);
  g_clear_object (&self->context);
  g_clear_object (&self->settings);
  self->view = NULL;
  gtk_widget_dispose_template (GTK_WIDGET (self), WEFT_TYPE_SEARCH_BAR);

  G_OBJECT_CLASS (weft_search_bar_parent_class)->dispose (object);
}

static void
weft_search_bar_class_init (WeftSearchBarClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = weft_search_bar_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/weftedit/Weft/weft-search-bar.ui");
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_bind_template_child (widget_class, WeftSearchBar, revealer);
  gtk_widget_class_bind_template_child (widget_class, WeftSearchBar, search_entry);
  gtk_widget_class_bind_template_child (widget_class, WeftSearchBar, count_label);
  gtk_widget_class_bind_template_child (widget_class, WeftSearchBar, replace_toggle);
  gtk_widget_class_bind_template_child (widget_class, WeftSearchBar, replace_box);
  gtk_widget_class_bind_template_child (widget_class, WeftSearchBar, replace_entry);
  gtk_widget_class_bind_template_child (widget_class, WeftSearchBar, case_check);
  gtk_widget_class_bind_template_child (widget_class, WeftSearchBar, word_check);
  gtk_widget_class_bind_template_child (widget_class, WeftSearchBar, regex_check);
  gtk_widget_class_bind_template_callback (widget_class, on_search_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_search_activate);
  gtk_widget_class_bind_template_callback (widget_class, on_next_match);
  gtk_widget_class_bind_template_callback (widget_class, on_previous_match);
  gtk_widget_class_bind_template_callback (widget_class, on_replace_toggled);
  gtk_widget_class_bind_template_callback (widget_class, on_replace_clicked);
  gtk_widget_class_bind_template_callback (widget_class, weft_search_bar_dismiss);
  gtk_widget_class_bind_template_callback (widget_class, weft_search_bar_replace_all);
}

static void
weft_search_bar_init (WeftSearchBar *self)
{
  GtkEventController *key;

  gtk_widget_init_template (GTK_WIDGET (self));

  key = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (key, GTK_PHASE_CAPTURE);
  g_signal_connect_object (key, "key-pressed", G_CALLBACK (on_search_key_pressed), self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self->search_entry), key);

  /* Escape closes the bar from any of its fields, not only the search entry. */
  key = gtk_event_controller_key_new ();
  g_signal_connect_object (key, "key-pressed", G_CALLBACK (on_bar_key_pressed), self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self), key);

  self->settings = gtk_source_search_settings_new ();
  gtk_source_search_settings_set_wrap_around (self->settings, TRUE);

  g_object_bind_property (self->case_check, "active", self->settings, "case-sensitive",
                          G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->word_check, "active", self->settings, "at-word-boundaries",
                          G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->regex_check, "active", self->settings, "regex-enabled",
                          G_BINDING_SYNC_CREATE);
  g_signal_connect_object (self->regex_check, "toggled",
                           G_CALLBACK (on_search_changed), self, G_CONNECT_SWAPPED);
}
