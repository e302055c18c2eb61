/* weft-replace.c: replaces a range of a text buffer with new text in time slices. */
#include "config.h"

#include <string.h>

#include "weft-job.h"
#include "weft-replace.h"
#include "weft-slice.h"
#include "weft-watchdog.h"

struct _WeftReplace
{
  GtkTextBuffer      *buffer;
  /* The new text: a snapshot's range, or a string of our own. */
  WeftSnapshot       *snapshot;
  char               *text;
  size_t              next_byte;       /* of the new text, the next to insert */
  size_t              end_byte;
  size_t              old_chars_left;  /* of the old range, still to delete */
  size_t              total;           /* chars to delete plus bytes to insert */
  /* Between the new text inserted so far and what is left of the old text
   * after it (right gravity: it moves on past each insertion) … */
  GtkTextMark        *boundary;
  /* … and the end of what is left of the old text. */
  GtkTextMark        *old_end;
  guint               source;
  WeftReplaceProgress progress;
  WeftReplaceDone     done;
  gpointer            user_data;
  char                scratch[WEFT_SLICE_BYTES + 1];
};

static WeftReplace *
replace_new (GtkTextBuffer *buffer,
             size_t         start_char,
             size_t         old_chars)
{
  WeftReplace *self = g_new0 (WeftReplace, 1);
  GtkTextIter iter;

  self->buffer = g_object_ref (buffer);
  self->old_chars_left = old_chars;
  gtk_text_buffer_get_iter_at_offset (buffer, &iter, (int) start_char);
  self->boundary = g_object_ref (gtk_text_buffer_create_mark (buffer, NULL, &iter, FALSE));
  gtk_text_iter_forward_chars (&iter, (int) old_chars);
  self->old_end = g_object_ref (gtk_text_buffer_create_mark (buffer, NULL, &iter, FALSE));
  return self;
}

WeftReplace *
weft_replace_new_from_snapshot (GtkTextBuffer *buffer,
                                size_t         start_char,
                                size_t         old_chars,
                                WeftSnapshot  *source,
                                size_t         byte_off,
                                size_t         len)
{
  WeftReplace *self = replace_new (buffer, start_char, old_chars);

  self->snapshot = weft_snapshot_ref (source);
  self->next_byte = byte_off;
  self->end_byte = byte_off + len;
  self->total = MAX (old_chars + len, 1);
  return self;
}

WeftReplace *
weft_replace_new_from_text (GtkTextBuffer *buffer,
                            size_t         start_char,
                            size_t         old_chars,
                            char          *text,
                            size_t         len)
{
  WeftReplace *self = replace_new (buffer, start_char, old_chars);

  self->text = text;
  self->end_byte = len;
  self->total = MAX (old_chars + len, 1);
  return self;
}

void
weft_replace_free (WeftReplace *self)
{
  if (self == NULL)
    return;
  g_clear_handle_id (&self->source, g_source_remove);
  if (gtk_text_mark_get_buffer (self->boundary) != NULL)
    gtk_text_buffer_delete_mark (self->buffer, self->boundary);
  if (gtk_text_mark_get_buffer (self->old_end) != NULL)
    gtk_text_buffer_delete_mark (self->buffer, self->old_end);
  g_object_unref (self->boundary);
  g_object_unref (self->old_end);
  g_clear_pointer (&self->snapshot, weft_snapshot_unref);
  weft_free_aside (self->text, self->end_byte);
  g_object_unref (self->buffer);
  g_free (self);
}

/* Copies the next slice of the new text into the scratch buffer: up to a
 * newline when there is one, so lines go in whole, and never ending inside
 * a UTF-8 sequence. Returns its length. */
static size_t
next_slice (WeftReplace *self)
{
  size_t len = MIN (self->end_byte - self->next_byte, (size_t) WEFT_SLICE_BYTES);

  if (self->snapshot != NULL)
    weft_snapshot_copy_range (self->snapshot, self->next_byte, len, self->scratch);
  else
    memcpy (self->scratch, self->text + self->next_byte, len);
  if (self->next_byte + len < self->end_byte)
    {
      const char *newline = g_strrstr_len (self->scratch, (gssize) len, "\n");

      if (newline != NULL)
        len = (size_t) (newline - self->scratch) + 1;
      else
        while (len > 0 && ((guchar) self->scratch[len] & 0xC0) == 0x80)
          len--;
    }
  /* GTK 4.8's accessibility code reads inserted text up to a NUL whatever
   * length it is given: a slice that is not terminated costs as much as
   * the rest of the text. */
  self->scratch[len] = '\0';
  return len;
}

static gboolean
replace_slices (gpointer user_data)
{
  WeftReplace *self = user_data;
  WeftSliceBudget budget;
  gboolean insert_next = TRUE;

  weft_slice_budget_init (&budget);
  do
    {
      GtkTextIter iter;

      /* One slice in, one out, so the buffer does not grow by the whole
       * new text before the old one goes. */
      if (self->next_byte < self->end_byte && (insert_next || self->old_chars_left == 0))
        {
          size_t len = next_slice (self);

          gtk_text_buffer_get_iter_at_mark (self->buffer, &iter, self->boundary);
          weft_slice_insert (self->buffer, &iter, self->scratch, (int) len);
          self->next_byte += len;
        }
      else if (self->old_chars_left > 0)
        {
          GtkTextIter start;
          size_t n = MIN (self->old_chars_left, (size_t) WEFT_SLICE_BYTES);

          /* From the end of the old text, away from where the new text
           * goes in. GTK 4.8's text B-tree, after deleting across lines,
           * re-adds the line sizes of every line under the lowest node
           * holding both ends of the deletion. Next to the insertions,
           * where new lines keep splitting nodes, that node was often the
           * root: one slice in ten took 20–80 ms on a 1M-line document.
           * Away from them it stays a small node. */
          gtk_text_buffer_get_iter_at_mark (self->buffer, &iter, self->old_end);
          start = iter;
          gtk_text_iter_backward_chars (&start, (int) n);
          weft_slice_delete (self->buffer, &start, &iter);
          self->old_chars_left -= n;
        }
      insert_next = !insert_next;
    }
  while ((self->old_chars_left > 0 || self->next_byte < self->end_byte) && weft_slice_budget_next (&budget));

  if (self->old_chars_left > 0 || self->next_byte < self->end_byte)
    {
      size_t left = self->old_chars_left + (self->end_byte - self->next_byte);

      self->progress (self->user_data, 1.0 - (double) left / (double) self->total);
      return G_SOURCE_CONTINUE;
    }

  self->source = 0;
  self->done (self->user_data);
  return G_SOURCE_REMOVE;
}

void
weft_replace_start (WeftReplace         *self,
                    WeftReplaceProgress  progress,
                    WeftReplaceDone      done,
                    gpointer             user_data)
{
  g_return_if_fail (self->source == 0);

  self->progress = progress;
  self->done = done;
  self->user_data = user_data;
  self->source = weft_watchdog_idle_add (WEFT_SLICE_PRIORITY, "replacing the text", replace_slices, self, NULL);
}
