/* weft-page.c: the contents of one tab — a source view on a document, with its search bar. */
#include "config.h"

#include <glib/gi18n.h>

#include "weft-page.h"
#include "weft-slice.h"
#include "weft-spell-controller.h"
#include "weft-watchdog.h"

struct _WeftPage
{
  GtkWidget          parent_instance;

  WeftDocument      *document;
  WeftSpellController *spell;

  WeftSearchBar     *search_bar;     /* NULL until the page is first searched */
  GtkBox            *column;
  GtkScrolledWindow *scroller;
  GtkSourceView     *view;
  GtkProgressBar    *load_progress;
  /* NULL until the file first changes on disk (see weft_page_ensure_disk_banner()). */
  GtkRevealer       *disk_banner;
  GtkLabel          *disk_label;
  GtkButton         *reload_button;

  guint              rescroll_source;
  guint              pulse_source;
  /* Where the view is kept while GTK measures lines (see keep_view()): at
   * the cursor, or at the top the user scrolled to, a mark at the start of
   * its first line and how many pixels below that line's top it is. */
  gboolean           follow_cursor;
  GtkTextMark       *top_mark;
  int                top_offset;
  gboolean           scrolling_back;
  int                gutter_width;   /* reserved while a load goes in; 0: none */
  int                gutter_digits;  /* the line-number digits it was reserved for */
  guint              scroll_on_map : 1;
  guint              read_only : 1;     /* what the view was last told */
};

G_DEFINE_FINAL_TYPE (WeftPage, weft_page, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_DOCUMENT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

WeftPage *
weft_page_new (WeftDocument *document)
{
  g_return_val_if_fail (WEFT_IS_DOCUMENT (document), NULL);

  return g_object_new (WEFT_TYPE_PAGE, "document", document, NULL);
}

WeftDocument *
weft_page_get_document (WeftPage *self)
{
  g_return_val_if_fail (WEFT_IS_PAGE (self), NULL);

  return self->document;
}

GtkSourceView *
weft_page_get_view (WeftPage *self)
{
  g_return_val_if_fail (WEFT_IS_PAGE (self), NULL);

  return self->view;
}

WeftSpellController *
weft_page_get_spell_controller (WeftPage *self)
{
  g_return_val_if_fail (WEFT_IS_PAGE (self), NULL);

  return self->spell;
}

/* The bar is built the first time it is asked for: most tabs are never
 * searched, and its widgets were a quarter of what opening a tab cost. */
WeftSearchBar *
weft_page_get_search_bar (WeftPage *self)
{
  g_return_val_if_fail (WEFT_IS_PAGE (self), NULL);

  if (self->search_bar == NULL)
    {
      self->search_bar = weft_search_bar_new (self->view);
      gtk_box_insert_child_after (self->column, GTK_WIDGET (self->search_bar),
                                  self->disk_banner != NULL ? GTK_WIDGET (self->disk_banner) : NULL);
    }
  return self->search_bar;
}

WeftSearchBar *
weft_page_peek_search_bar (WeftPage *self)
{
  g_return_val_if_fail (WEFT_IS_PAGE (self), NULL);

  return self->search_bar;
}

static gboolean
weft_page_rescroll (gpointer user_data)
{
  WeftPage *self = user_data;
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (self->document));

  self->rescroll_source = 0;
  gtk_text_view_scroll_to_mark (GTK_TEXT_VIEW (self->view),
                                gtk_text_buffer_get_insert (buffer),
                                0.0, TRUE, 0.0, 0.3);
  return G_SOURCE_REMOVE;
}

static void
weft_page_scroll_to_cursor (WeftPage *self)
{
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (self->document));

  /* A view that is not shown yet has no sizes to scroll by: a tab opened in
   * the background scrolls when it first appears. */
  if (!gtk_widget_get_mapped (GTK_WIDGET (self->view)))
    {
      self->scroll_on_map = TRUE;
      return;
    }

  /* A mark, not an iter: scrolling to an iter forces validation of every
   * line up to it, which is slow on long documents. The view then follows
   * the cursor while GTK measures lines (see keep_view()). */
  self->follow_cursor = TRUE;
  gtk_text_view_scroll_to_mark (GTK_TEXT_VIEW (self->view),
                                gtk_text_buffer_get_insert (buffer),
                                0.0, TRUE, 0.0, 0.3);

  /* Right after new text is set, the lines above the cursor only have
   * estimated heights; once GTK has measured them (its validation runs at a
   * higher priority than this), scroll once more so the cursor stays put. */
  if (self->rescroll_source == 0)
    self->rescroll_source = weft_watchdog_idle_add (G_PRIORITY_LOW, "scrolling back", weft_page_rescroll, self, NULL);
}

static void
on_view_map (WeftPage *self)
{
  if (self->scroll_on_map)
    {
      self->scroll_on_map = FALSE;
      weft_page_scroll_to_cursor (self);
    }
}

/* @line and @line_offset count from 0; out-of-range values are clamped. */
void
weft_page_go_to_line (WeftPage *self,
                      int       line,
                      int       line_offset)
{
  GtkTextBuffer *buffer;
  GtkTextIter iter;

  g_return_if_fail (WEFT_IS_PAGE (self));

  buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (self->document));
  gtk_text_buffer_get_iter_at_line_offset (buffer, &iter, MAX (line, 0), 0);
  if (line_offset > 0)
    {
      int chars = gtk_text_iter_get_chars_in_line (&iter);

      gtk_text_iter_set_line_offset (&iter, MIN (line_offset, MAX (chars - 1, 0)));
    }
  gtk_text_buffer_select_range (buffer, &iter, &iter);
  weft_page_scroll_to_cursor (self);
}

/* Line and column as people count them: both from 1, a tab counting to its stop. */
void
weft_page_get_cursor (WeftPage *self,
                      int      *out_line,
                      int      *out_column)
{
  GtkTextBuffer *buffer;
  GtkTextIter iter;

  g_return_if_fail (WEFT_IS_PAGE (self));

  buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (self->document));
  gtk_text_buffer_get_iter_at_mark (buffer, &iter, gtk_text_buffer_get_insert (buffer));
  *out_line = gtk_text_iter_get_line (&iter) + 1;
  *out_column = (int) gtk_source_view_get_visual_column (self->view, &iter) + 1;
}

static gboolean
pulse (gpointer user_data)
{
  WeftPage *self = user_data;

  gtk_progress_bar_pulse (self->load_progress);
  return G_SOURCE_CONTINUE;
}

/* How many digits GtkSourceView 5.6 gives the line numbers for @n_lines
 * lines: those of the number, at least 2. (Later versions measure 10 from
 * a million lines on; there the gutter widens once more at the end.) */
static int
line_number_digits (size_t n_lines)
{
  int digits = 1;

  for (; n_lines >= 10; n_lines /= 10)
    digits++;
  return MAX (digits, 2);
}

/* While a file goes in, the line numbers would widen at 100, 1,000, …
 * lines; each time the text area narrows, and GTK 4.8 then lays out every
 * line again (175 ms once a million are in). So the gutter takes the width
 * the whole file needs from the start. */
static void
reserve_line_number_width (WeftPage *self,
                           size_t    n_lines)
{
  GtkWidget *gutter = GTK_WIDGET (gtk_source_view_get_gutter (self->view, GTK_TEXT_WINDOW_LEFT));
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (self->document));
  int now = line_number_digits ((size_t) gtk_text_buffer_get_line_count (buffer));
  int then = line_number_digits (n_lines);
  g_autoptr(PangoLayout) layout = NULL;
  int natural, ten_digits;

  if (self->gutter_width != 0 || then <= now || !gtk_source_view_get_show_line_numbers (self->view))
    return;
  /* Measured without what an earlier load may have kept. */
  gtk_widget_set_size_request (gutter, -1, -1);
  gtk_widget_measure (gutter, GTK_ORIENTATION_HORIZONTAL, -1, NULL, &natural, NULL, NULL);
  layout = gtk_widget_create_pango_layout (gutter, NULL);
  pango_layout_set_markup (layout, "<b>0000000000</b>", -1);
  pango_layout_get_pixel_size (layout, &ten_digits, NULL);
  self->gutter_width = natural + (then - now) * ten_digits / 10;
  self->gutter_digits = then;
  gtk_widget_set_size_request (gutter, self->gutter_width, -1);
}

/* A replacement (a sort, its undo or redo) deletes and inserts slice by
 * slice, and the line count drifts by hundreds or thousands of lines on the
 * way. Where it crosses a power of ten, the line numbers would narrow and
 * widen again, and GTK 4.8 would lay out every line each time: a stall of
 * 150-250 ms at a million lines, twice per undo of a sort. So the gutter
 * keeps the width it had when the replacement began, and widens only if
 * the count needs more. */
static void
hold_line_number_width (WeftPage *self)
{
  GtkWidget *gutter = GTK_WIDGET (gtk_source_view_get_gutter (self->view, GTK_TEXT_WINDOW_LEFT));
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (self->document));
  int width = gtk_widget_get_width (gutter);

  if (self->gutter_width != 0 || width <= 0 || !gtk_source_view_get_show_line_numbers (self->view))
    return;
  self->gutter_width = width;
  self->gutter_digits = line_number_digits ((size_t) gtk_text_buffer_get_line_count (buffer));
  gtk_widget_set_size_request (gutter, width, -1);
}

/* Once the file is in (or the replacement done), the gutter takes the
 * width it asks for, unless the line count has the digits it was reserved
 * for and it asks for less: then it keeps the reserved width rather than
 * narrow the text area and lay it all out again. After a cancelled or
 * failed load it goes back to its own. */
static void
release_line_number_width (WeftPage *self)
{
  GtkWidget *gutter = GTK_WIDGET (gtk_source_view_get_gutter (self->view, GTK_TEXT_WINDOW_LEFT));
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (self->document));
  int natural;

  if (self->gutter_width == 0)
    return;
  gtk_widget_set_size_request (gutter, -1, -1);
  gtk_widget_measure (gutter, GTK_ORIENTATION_HORIZONTAL, -1, NULL, &natural, NULL, NULL);
  if (natural < self->gutter_width &&
      line_number_digits ((size_t) gtk_text_buffer_get_line_count (buffer)) == self->gutter_digits)
    gtk_widget_set_size_request (gutter, self->gutter_width, -1);
  self->gutter_width = 0;
}

/* A read-only view hides its cursor while it has the focus, also when the
 * focus comes to it after the document became read-only. */
static void
weft_page_update_cursor (WeftPage *self)
{
  /* The focus also leaves while the page is being disposed. */
  if (self->view == NULL)
    return;
  gtk_text_view_set_cursor_visible (GTK_TEXT_VIEW (self->view),
                                    !self->read_only || !gtk_widget_has_focus (GTK_WIDGET (self->view)));
}

/* While a file comes in, the view is read-only and a bar shows how far it got. */
static void
on_loading_changed (WeftPage *self)
{
  gboolean loading = weft_document_get_loading (self->document);

  gboolean editable = !weft_document_get_read_only (self->document);
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (self->document));

  if (self->read_only == editable)
    {
      /* The document refuses the user's edits meanwhile; the view hides
       * its cursor and tells assistive technologies. Not
       * gtk_text_view_set_editable(): see weft_document_get_read_only().
       * Not the cursor of a focused view either: GTK 4.8 keeps it
       * blinking, and its blink callback aborts on an assertion if the
       * cursor is still hidden when it comes. */
      self->read_only = !editable;
      /* A load or a replacement puts the view where it goes itself. */
      if (!editable)
        self->follow_cursor = FALSE;
      weft_page_update_cursor (self);
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->view), GTK_ACCESSIBLE_PROPERTY_READ_ONLY, !editable, -1);
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->load_progress), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      loading ? _("Loading the file") : _("Replacing the text"), -1);
      /* GTK 4.8 enables the view's undo and redo actions only when the
       * buffer says it can undo: one that became undoable while the view
       * was read-only would stay disabled. */
      g_object_notify (G_OBJECT (buffer), "can-undo");
      g_object_notify (G_OBJECT (buffer), "can-redo");
    }
  if (loading)
    reserve_line_number_width (self, weft_document_get_load_lines (self->document));
  else if (weft_document_get_applying (self->document))
    hold_line_number_width (self);
  else
    release_line_number_width (self);
  /* The bar also shows a large replacement (a sort, an undo of one) going in. */
  gtk_widget_set_visible (GTK_WIDGET (self->load_progress), !editable);
  /* While the file is still being read (the first screenful may already
   * show), there is no fraction yet: the bar pulses. */
  if (!editable && weft_document_get_load_progress (self->document) == 0.0)
    {
      if (self->pulse_source == 0)
        self->pulse_source = g_timeout_add (150, pulse, self);
    }
  else
    {
      g_clear_handle_id (&self->pulse_source, g_source_remove);
      gtk_progress_bar_set_fraction (self->load_progress, weft_document_get_load_progress (self->document));
    }
}

static void weft_page_ensure_disk_banner (WeftPage *self);

/* Another program changed or removed the file: say so in the tab, and offer
 * to reload it or to keep this text. */
static void
on_disk_changed (WeftPage *self)
{
  WeftDocument *document = self->document;
  g_autofree char *text = NULL;

  if (!weft_document_get_disk_changed (document))
    {
      if (self->disk_banner != NULL)
        gtk_revealer_set_reveal_child (self->disk_banner, FALSE);
      return;
    }

  if (weft_document_get_disk_deleted (document))
    text = g_strdup_printf (_("“%s” was deleted or moved by another program. Saving will write it again."),
                            weft_document_get_title (document));
  else if (weft_document_get_modified (document))
    text = g_strdup_printf (_("“%s” was changed by another program, and you have unsaved changes here."),
                            weft_document_get_title (document));
  else
    text = g_strdup_printf (_("“%s” was changed by another program."), weft_document_get_title (document));

  weft_page_ensure_disk_banner (self);
  gtk_label_set_text (self->disk_label, text);
  gtk_widget_set_visible (GTK_WIDGET (self->reload_button), !weft_document_get_disk_deleted (document));
  gtk_revealer_set_reveal_child (self->disk_banner, TRUE);
}

static void
on_reload_finished (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(WeftPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!weft_document_load_finish (WEFT_DOCUMENT (object), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      weft_page_ensure_disk_banner (self);
      gtk_label_set_text (self->disk_label, error->message);
      gtk_revealer_set_reveal_child (self->disk_banner, TRUE);
    }
}

static void
on_reload_clicked (WeftPage *self)
{
  GFile *file = weft_document_get_file (self->document);

  if (file == NULL)
    return;
  gtk_revealer_set_reveal_child (self->disk_banner, FALSE);
  weft_document_load_async (self->document, file, NULL, on_reload_finished, g_object_ref (self));
}

static void
on_keep_clicked (WeftPage *self)
{
  weft_document_keep_mine (self->document);
  gtk_widget_grab_focus (GTK_WIDGET (self->view));
}

/* The banner over the text that says the file changed on disk, built the
 * first time it is needed: most tabs never show it, and it was a quarter of
 * what building a tab cost (each tooltip set asks the X server where the
 * pointer is, and waits for the answer). */
static void
weft_page_ensure_disk_banner (WeftPage *self)
{
  GtkWidget *box, *button;

  if (self->disk_banner != NULL)
    return;

  box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_widget_add_css_class (box, "toolbar");
  gtk_widget_add_css_class (box, "warning");

  self->disk_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_widget_set_hexpand (GTK_WIDGET (self->disk_label), TRUE);
  gtk_label_set_xalign (self->disk_label, 0.0f);
  gtk_label_set_wrap (self->disk_label, TRUE);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->disk_label));

  button = gtk_button_new_with_mnemonic (_("_Reload"));
  gtk_widget_set_tooltip_text (button, _("Replace the text with the file as it is now on disk"));
  g_signal_connect_object (button, "clicked", G_CALLBACK (on_reload_clicked), self, G_CONNECT_SWAPPED);
  gtk_box_append (GTK_BOX (box), button);
  self->reload_button = GTK_BUTTON (button);

  button = gtk_button_new_with_mnemonic (_("_Keep Mine"));
  gtk_widget_set_tooltip_text (button, _("Keep the text as it is here; saving will replace the file"));
  g_signal_connect_object (button, "clicked", G_CALLBACK (on_keep_clicked), self, G_CONNECT_SWAPPED);
  gtk_box_append (GTK_BOX (box), button);

  self->disk_banner = GTK_REVEALER (gtk_revealer_new ());
  gtk_revealer_set_child (self->disk_banner, box);
  /* Above the search bar, if there is one, as it always was. */
  gtk_box_prepend (self->column, GTK_WIDGET (self->disk_banner));
}

/* Escape stops a load, or a sort whose result has not started going in. */
static gboolean
on_key_pressed (WeftPage              *self,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                GtkEventControllerKey *controller)
{
  if (keyval == GDK_KEY_Escape && weft_document_get_busy (self->document) &&
      !weft_document_get_applying (self->document))
    {
      weft_document_cancel_load (self->document);
      return GDK_EVENT_STOP;
    }
  return GDK_EVENT_PROPAGATE;
}

/* Undo and redo go through the document, which undoes large replacements
 * itself (in slices) once the buffer's own history is used up. The view's
 * own shortcuts would stay disabled then, so these come first. */
static gboolean
on_view_key_pressed (WeftPage              *self,
                     guint                  keyval,
                     guint                  keycode,
                     GdkModifierType        state,
                     GtkEventControllerKey *controller)
{
  GdkModifierType mods = state & gtk_accelerator_get_default_mod_mask ();
  gboolean redo;

  if (mods == GDK_CONTROL_MASK && (keyval == GDK_KEY_z || keyval == GDK_KEY_Z))
    redo = FALSE;
  else if ((mods == (GDK_CONTROL_MASK | GDK_SHIFT_MASK) && (keyval == GDK_KEY_z || keyval == GDK_KEY_Z)) ||
           (mods == GDK_CONTROL_MASK && (keyval == GDK_KEY_y || keyval == GDK_KEY_Y)))
    redo = TRUE;
  else
    return GDK_EVENT_PROPAGATE;

  /* Nothing is undone while a replacement is going in. */
  if (weft_document_get_read_only (self->document))
    return GDK_EVENT_STOP;
  if (redo)
    weft_document_redo (self->document);
  else
    weft_document_undo (self->document);
  return GDK_EVENT_STOP;
}

/* The view, kept where it was put while GTK measures lines.
 *
 * GTK 4.8 measures the lines of a text in the background, and while it
 * does, the view can slip away from where it was put. A measuring step
 * ends a scroll still running (GTK animates scrolls over 200 ms), so
 * Ctrl+End right after a large file opened stopped a tenth of the way
 * down. And a step keeps the text shown in place by moving the view by the
 * change in height above it, but only as far as the text's old end: near
 * the end, the view showed the lines being measured, between the keys
 * typed there or after the user scrolled. So after each measuring step,
 * the page scrolls back at once: to the cursor if the user last moved it
 * with the keyboard or edited the text (which GTK scrolls to), else to the
 * first line the user scrolled to. */

/* Scrolls by @dy pixels at once. The adjustment's value and the visible
 * rectangle differ by the view's top margin, so it moves by a difference. */
static void
scroll_view_by (WeftPage *self,
                int       dy)
{
  GtkAdjustment *adj = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (self->view));

  if (dy == 0)
    return;
  self->scrolling_back = TRUE;
  gtk_adjustment_set_value (adj, gtk_adjustment_get_value (adj) + dy);
  self->scrolling_back = FALSE;
}

static void
note_view_top (WeftPage *self)
{
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (self->document));
  GdkRectangle rect;
  GtkTextIter line;
  int line_top;

  gtk_text_view_get_visible_rect (GTK_TEXT_VIEW (self->view), &rect);
  gtk_text_view_get_line_at_y (GTK_TEXT_VIEW (self->view), &line, rect.y, &line_top);
  if (self->top_mark == NULL)
    self->top_mark = gtk_text_buffer_create_mark (buffer, NULL, &line, TRUE);
  else
    gtk_text_buffer_move_mark (buffer, self->top_mark, &line);
  self->top_offset = rect.y - line_top;
}

/* After a measuring step, back to the cursor if the view follows it, else
 * back to the first line the user scrolled to. Any other move of the view
 * is where the user or GTK put it, and is noted. */
static void
keep_view (WeftPage *self)
{
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (self->document));
  GdkRectangle rect, cursor;
  GtkTextIter iter;
  int line_top;

  /* While a load or a replacement goes in, the insert mark moves with the
   * text going in at its place: following it scrolled through the text
   * being inserted and had GTK measure all of it at once (an 8 s stall in
   * the undo of a sort of 200,000 lines). */
  if (self->scrolling_back || self->read_only || !gtk_widget_get_mapped (GTK_WIDGET (self->view)))
    return;
  if (!weft_slice_in_gtk_measuring ())
    {
      if (!self->follow_cursor)
        note_view_top (self);
      return;
    }
  gtk_text_view_get_visible_rect (GTK_TEXT_VIEW (self->view), &rect);
  if (self->follow_cursor)
    {
      gtk_text_buffer_get_iter_at_mark (buffer, &iter, gtk_text_buffer_get_insert (buffer));
      gtk_text_view_get_iter_location (GTK_TEXT_VIEW (self->view), &iter, &cursor);
      if (cursor.y < rect.y)
        scroll_view_by (self, cursor.y - rect.y);
      else if (cursor.y + cursor.height > rect.y + rect.height)
        scroll_view_by (self, cursor.y + cursor.height - (rect.y + rect.height));
    }
  else if (self->top_mark != NULL)
    {
      gtk_text_buffer_get_iter_at_mark (buffer, &iter, self->top_mark);
      gtk_text_view_get_line_yrange (GTK_TEXT_VIEW (self->view), &iter, &line_top, NULL);
      scroll_view_by (self, line_top + self->top_offset - rect.y);
    }
}

/* The cursor moved by a key binding, or the user edited the text: GTK
 * scrolls to the cursor. */
static void
follow_cursor (WeftPage *self)
{
  self->follow_cursor = TRUE;
}

/* The user scrolls the view with the pointer: from now on the view stays
 * where they put it, wherever the cursor is. */
static void
stop_following_cursor (WeftPage *self)
{
  if (!self->follow_cursor)
    return;
  self->follow_cursor = FALSE;
  note_view_top (self);
}

static gboolean
on_view_scroll (WeftPage *self)
{
  stop_following_cursor (self);
  return GDK_EVENT_PROPAGATE;
}

static void
watch_scrolling (WeftPage *self)
{
  GtkAdjustment *adj = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (self->view));
  GtkEventController *scroll;
  GtkGesture *press;

  /* The scrolled window in the page's template gave the view its
   * adjustment, for good. */
  g_signal_connect_object (adj, "value-changed", G_CALLBACK (keep_view), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (adj, "changed", G_CALLBACK (keep_view), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->view, "move-cursor", G_CALLBACK (follow_cursor), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (weft_document_get_buffer (self->document), "end-user-action",
                           G_CALLBACK (follow_cursor), self, G_CONNECT_SWAPPED);

  scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  gtk_event_controller_set_propagation_phase (scroll, GTK_PHASE_CAPTURE);
  g_signal_connect_object (scroll, "scroll", G_CALLBACK (on_view_scroll), self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self->scroller), scroll);

  /* Dragging or clicking the scroll bar. */
  press = gtk_gesture_click_new ();
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (press), GTK_PHASE_CAPTURE);
  g_signal_connect_object (press, "pressed", G_CALLBACK (stop_following_cursor), self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (gtk_scrolled_window_get_vscrollbar (self->scroller), GTK_EVENT_CONTROLLER (press));
}

static void
weft_page_constructed (GObject *object)
{
  WeftPage *self = WEFT_PAGE (object);

  G_OBJECT_CLASS (weft_page_parent_class)->constructed (object);

  gtk_text_view_set_buffer (GTK_TEXT_VIEW (self->view),
                            GTK_TEXT_BUFFER (weft_document_get_buffer (self->document)));
  g_signal_connect_object (self->view, "map", G_CALLBACK (on_view_map), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->view, "notify::has-focus", G_CALLBACK (weft_page_update_cursor), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->document, "notify::loading", G_CALLBACK (on_loading_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->document, "notify::load-progress", G_CALLBACK (on_loading_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->document, "notify::applying", G_CALLBACK (on_loading_changed), self,
                           G_CONNECT_SWAPPED);
  on_loading_changed (self);
  g_signal_connect_object (self->document, "disk-changed", G_CALLBACK (on_disk_changed), self,
                           G_CONNECT_SWAPPED);
  self->spell = weft_spell_controller_new (self->document, self->view);
  watch_scrolling (self);
}

static gboolean
weft_page_grab_focus (GtkWidget *widget)
{
  WeftPage *self = WEFT_PAGE (widget);

  return gtk_widget_grab_focus (GTK_WIDGET (self->view));
}

static void
weft_page_dispose (GObject *object)
{
  WeftPage *self = WEFT_PAGE (object);
  GtkWidget *child;

  g_clear_handle_id (&self->rescroll_source, g_source_remove);
  g_clear_handle_id (&self->pulse_source, g_source_remove);
  g_clear_object (&self->spell);
  if (self->top_mark != NULL)
    {
      gtk_text_buffer_delete_mark (gtk_text_mark_get_buffer (self->top_mark), self->top_mark);
      self->top_mark = NULL;
    }
  /* The search bar and the disk banner, if built, go with the column they
   * are in. */
  self->search_bar = NULL;
  self->disk_banner = NULL;
  self->disk_label = NULL;
  self->reload_button = NULL;
  gtk_widget_dispose_template (GTK_WIDGET (self), WEFT_TYPE_PAGE);
  /* Anything left is not a bound child, so it is ours to unparent. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  g_clear_object (&self->document);

  G_OBJECT_CLASS (weft_page_parent_class)->dispose (object);
}

static void
weft_page_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  WeftPage *self = WEFT_PAGE (object);

  switch (prop_id)
    {
    case PROP_DOCUMENT:
      g_value_set_object (value, self->document);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
weft_page_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  WeftPage *self = WEFT_PAGE (object);

  switch (prop_id)
    {
    case PROP_DOCUMENT:
      self->document = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
weft_page_class_init (WeftPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = weft_page_constructed;
  object_class->dispose = weft_page_dispose;
  object_class->get_property = weft_page_get_property;
  object_class->set_property = weft_page_set_property;

  widget_class->grab_focus = weft_page_grab_focus;

  properties[PROP_DOCUMENT] =
    g_param_spec_object ("document", NULL, NULL, WEFT_TYPE_DOCUMENT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (GTK_SOURCE_TYPE_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/weftedit/Weft/weft-page.ui");
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_bind_template_child (widget_class, WeftPage, column);
  gtk_widget_class_bind_template_child (widget_class, WeftPage, scroller);
  gtk_widget_class_bind_template_child (widget_class, WeftPage, view);
  gtk_widget_class_bind_template_child (widget_class, WeftPage, load_progress);
}

static void
weft_page_init (WeftPage *self)
{
  GtkEventController *key;

  gtk_widget_init_template (GTK_WIDGET (self));

  key = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (key, GTK_PHASE_CAPTURE);
  g_signal_connect_object (key, "key-pressed", G_CALLBACK (on_key_pressed), self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self), key);

  key = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (key, GTK_PHASE_CAPTURE);
  g_signal_connect_object (key, "key-pressed", G_CALLBACK (on_view_key_pressed), self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self->view), key);
}
