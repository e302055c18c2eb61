/* weft-history.c: undo and redo of large replacements, put back in time slices. */
#include "config.h"

#include "weft-history.h"
#include "weft-replace.h"

/* Each step keeps two whole texts alive (shared with its neighbours): at
 * a million lines that is tens of megabytes a step, so only the last ones
 * are kept. */
#define MAX_STEPS 16

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

/* A step going in. */
typedef struct
{
  WeftReplace        *replace;
  size_t              start_char;
  guint               target_state;
  WeftHistoryProgress progress;
  WeftHistoryDone     done;
  gpointer            done_data;
} Apply;

struct _WeftHistory
{
  GtkTextBuffer *buffer;   /* not owned: the document owns both */
  GPtrArray     *undo;     /* of Step, oldest first */
  GPtrArray     *redo;     /* of Step, the next to redo last */
  Apply         *apply;
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
  if (self->apply == NULL)
    return;
  weft_replace_free (self->apply->replace);
  g_clear_pointer (&self->apply, g_free);
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
  if (self->undo->len > MAX_STEPS)
    g_ptr_array_remove_index (self->undo, 0);
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

static void
on_apply_progress (gpointer user_data,
                   double   fraction)
{
  WeftHistory *self = user_data;

  self->apply->progress (self->apply->done_data, fraction);
}

static void
on_apply_done (gpointer user_data)
{
  WeftHistory *self = user_data;
  Apply *apply = self->apply;
  WeftHistoryDone done = apply->done;
  gpointer done_data = apply->done_data;
  guint state = apply->target_state;
  GtkTextIter iter;

  gtk_text_buffer_end_irreversible_action (self->buffer);
  gtk_text_buffer_get_iter_at_offset (self->buffer, &iter, (int) apply->start_char);
  gtk_text_buffer_place_cursor (self->buffer, &iter);
  apply_free (self);
  done (done_data, state);
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
  size_t target_chars, current_chars, byte_off;
  Apply *apply;

  if (self->apply != NULL || from->len == 0)
    return FALSE;

  step = g_ptr_array_steal_index (from, from->len - 1);
  g_ptr_array_add (to, step);

  target = redo ? step->after : step->before;
  target_chars = redo ? step->after_chars : step->before_chars;
  current_chars = redo ? step->before_chars : step->after_chars;

  apply = g_new0 (Apply, 1);
  apply->start_char = step->start_char;
  apply->target_state = redo ? step->after_state : step->before_state;
  apply->progress = progress;
  apply->done = done;
  apply->done_data = user_data;

  gtk_text_buffer_begin_irreversible_action (self->buffer);
  byte_off = weft_snapshot_char_to_byte (target, step->start_char);
  apply->replace = weft_replace_new_from_snapshot (self->buffer, step->start_char, current_chars, target, byte_off,
                                                   weft_snapshot_char_to_byte (target, step->start_char + target_chars) -
                                                   byte_off);
  self->apply = apply;
  weft_replace_start (apply->replace, on_apply_progress, on_apply_done, self);
  return TRUE;
}
