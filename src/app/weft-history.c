/* weft-history.c: undo and redo of large replacements, put back in time slices. */
#include "config.h"

#include "weft-history.h"
#include "weft-slice.h"

typedef struct
{
  WeftSnapshot *before;
  WeftSnapshot *after;
  guint         before_state;
  guint         after_state;
  size_t        start_char;
  size_t        before_chars;
  size_t        after_chars;
} Step;

/* One replacement going in: the old region is deleted a slice at a time,
 * then the target's bytes are copied out of its snapshot and inserted. */
typedef struct
{
  WeftSnapshot   *source;
  size_t          source_byte;      /* next byte of @source to insert */
  size_t          source_end_byte;
  size_t          remaining_chars;  /* of the old region, still to delete */
  size_t          start_char;
  GtkTextMark    *mark;             /* where the next slice goes */
  size_t          total;            /* chars to delete and bytes to insert */
  guint           target_state;
  WeftHistoryProgress progress;
  WeftHistoryDone done;
  gpointer        done_data;
  char            scratch[WEFT_SLICE_BYTES + 1];
} Apply;

struct _WeftHistory
{
  GtkTextBuffer *buffer;   /* not owned: the document owns both */
  GPtrArray     *undo;     /* of Step, oldest first */
  GPtrArray     *redo;     /* of Step, the next to redo last */
  Apply         *apply;
  guint          apply_source;
};

static void
step_free (Step *step)
{
  weft_snapshot_unref (step->before);
  weft_snapshot_unref (step->after);
  g_free (step);
}

WeftHistory *
weft_history_new (GtkTextBuffer *buffer)
{
  WeftHistory *self = g_new0 (WeftHistory, 1);

  self->buffer = buffer;
  self->undo = g_ptr_array_new_with_free_func ((GDestroyNotify) step_free);
  self->redo = g_ptr_array_new_with_free_func ((GDestroyNotify) step_free);
  return self;
}

static void
apply_free (WeftHistory *self)
{
  Apply *apply = self->apply;

  if (apply == NULL)
    return;
  g_clear_handle_id (&self->apply_source, g_source_remove);
  weft_snapshot_unref (apply->source);
  if (gtk_text_mark_get_buffer (apply->mark) != NULL)
    gtk_text_buffer_delete_mark (self->buffer, apply->mark);
  g_object_unref (apply->mark);
  g_free (apply);
  self->apply = NULL;
}

void
weft_history_free (WeftHistory *self)
{
  if (self == NULL)
    return;
  apply_free (self);
  g_ptr_array_unref (self->undo);
  g_ptr_array_unref (self->redo);
  g_free (self);
}

void
weft_history_clear (WeftHistory *self)
{
  g_ptr_array_set_size (self->undo, 0);
  g_ptr_array_set_size (self->redo, 0);
}

void
weft_history_clear_redo (WeftHistory *self)
{
  g_ptr_array_set_size (self->redo, 0);
}

void
weft_history_push (WeftHistory  *self,
                   WeftSnapshot *before,
                   guint         before_state,
                   WeftSnapshot *after,
                   guint         after_state,
                   size_t        start_char,
                   size_t        before_chars,
                   size_t        after_chars)
{
  Step *step = g_new0 (Step, 1);

  step->before = weft_snapshot_ref (before);
  step->after = weft_snapshot_ref (after);
  step->before_state = before_state;
  step->after_state = after_state;
  step->start_char = start_char;
  step->before_chars = before_chars;
  step->after_chars = after_chars;
  g_ptr_array_add (self->undo, step);
  weft_history_clear_redo (self);
}

gboolean
weft_history_can_undo (WeftHistory *self)
{
  return self->undo->len > 0;
}

gboolean
weft_history_can_redo (WeftHistory *self)
{
  return self->redo->len > 0;
}

gboolean
weft_history_is_applying (WeftHistory *self)
{
  return self->apply != NULL;
}

/* Copies the next slice of the source into the scratch buffer: up to a
 * newline when there is one, so lines go in whole, and never ending inside
 * a UTF-8 sequence. Returns its length. */
static size_t
next_slice (Apply *apply)
{
  size_t len = MIN (apply->source_end_byte - apply->source_byte, (size_t) WEFT_SLICE_BYTES);

  weft_snapshot_copy_range (apply->source, apply->source_byte, len, apply->scratch);
  if (apply->source_byte + len < apply->source_end_byte)
    {
      const char *newline = g_strrstr_len (apply->scratch, (gssize) len, "\n");

      if (newline != NULL)
        len = (size_t) (newline - apply->scratch) + 1;
      else
        while (len > 0 && ((guchar) apply->scratch[len] & 0xC0) == 0x80)
          len--;
    }
  /* GTK 4.8's accessibility code reads inserted text up to a NUL whatever
   * length it is given (see insert_slice() in weft-document.c). */
  apply->scratch[len] = '\0';
  return len;
}

static gboolean
apply_slices (gpointer user_data)
{
  WeftHistory *self = user_data;
  Apply *apply = self->apply;
  WeftSliceBudget budget;
  WeftHistoryDone done;
  gpointer done_data;
  guint state;
  GtkTextIter iter;

  weft_slice_budget_init (&budget);
  do
    {
      gtk_text_buffer_get_iter_at_mark (self->buffer, &iter, apply->mark);
      if (apply->remaining_chars > 0)
        {
          GtkTextIter end = iter;
          size_t n = MIN (apply->remaining_chars, (size_t) WEFT_SLICE_BYTES);

          gtk_text_iter_forward_chars (&end, (int) n);
          gtk_text_buffer_delete (self->buffer, &iter, &end);
          apply->remaining_chars -= n;
        }
      else
        {
          size_t len = next_slice (apply);

          gtk_text_buffer_insert (self->buffer, &iter, apply->scratch, (int) len);
          apply->source_byte += len;
        }
    }
  while ((apply->remaining_chars > 0 || apply->source_byte < apply->source_end_byte) &&
         weft_slice_budget_next (&budget));

  if (apply->remaining_chars > 0 || apply->source_byte < apply->source_end_byte)
    {
      size_t left = apply->remaining_chars + (apply->source_end_byte - apply->source_byte);

      apply->progress (apply->done_data, 1.0 - (double) left / (double) apply->total);
      return G_SOURCE_CONTINUE;
    }

  gtk_text_buffer_end_irreversible_action (self->buffer);
  gtk_text_buffer_get_iter_at_offset (self->buffer, &iter, (int) apply->start_char);
  gtk_text_buffer_place_cursor (self->buffer, &iter);

  done = apply->done;
  done_data = apply->done_data;
  state = apply->target_state;
  self->apply_source = 0;
  apply_free (self);
  done (done_data, state);
  return G_SOURCE_REMOVE;
}

gboolean
weft_history_step (WeftHistory     *self,
                   gboolean             redo,
                   WeftHistoryProgress  progress,
                   WeftHistoryDone      done,
                   gpointer         user_data)
{
  GPtrArray *from = redo ? self->redo : self->undo;
  GPtrArray *to = redo ? self->undo : self->redo;
  Step *step;
  WeftSnapshot *target;
  size_t target_chars, current_chars;
  GtkTextIter iter;
  Apply *apply;

  if (self->apply != NULL || from->len == 0)
    return FALSE;

  step = g_ptr_array_steal_index (from, from->len - 1);
  g_ptr_array_add (to, step);

  target = redo ? step->after : step->before;
  target_chars = redo ? step->after_chars : step->before_chars;
  current_chars = redo ? step->before_chars : step->after_chars;

  apply = g_new0 (Apply, 1);
  apply->source = weft_snapshot_ref (target);
  apply->source_byte = weft_snapshot_char_to_byte (target, step->start_char);
  apply->source_end_byte = weft_snapshot_char_to_byte (target, step->start_char + target_chars);
  apply->remaining_chars = current_chars;
  apply->start_char = step->start_char;
  apply->target_state = redo ? step->after_state : step->before_state;
  apply->total = MAX (current_chars + (apply->source_end_byte - apply->source_byte), 1);
  apply->progress = progress;
  apply->done = done;
  apply->done_data = user_data;

  gtk_text_buffer_begin_irreversible_action (self->buffer);
  gtk_text_buffer_get_iter_at_offset (self->buffer, &iter, (int) step->start_char);
  /* Right gravity: it stays after each slice inserted at it. */
  apply->mark = g_object_ref (gtk_text_buffer_create_mark (self->buffer, NULL, &iter, FALSE));
  self->apply = apply;
  self->apply_source = g_idle_add_full (WEFT_SLICE_PRIORITY, apply_slices, self, NULL);
  return TRUE;
}
