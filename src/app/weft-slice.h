/* weft-slice.h: how large texts go into a GtkTextBuffer without stalling the window. */
#pragma once

#include <gdk/gdk.h>

/* Large texts go in (and out) in slices of at most this many bytes (or
 * chars, for deletions), and a dispatch stops for the main loop once it has
 * used WEFT_SLICE_BUDGET_USEC: the window keeps drawing and answering while
 * a million lines come in. A dispatch should take at most 4 ms; the budget
 * leaves half a millisecond for a last slice that costs more than the one
 * before (a rare one, on a 1M-line text, takes several milliseconds alone). */
#define WEFT_SLICE_BYTES        (16 * 1024)
#define WEFT_SLICE_BUDGET_USEC  3500
/* Below GTK's redraw, so every due frame is drawn between two dispatches,
 * but above GtkTextView's line validation, which would otherwise run to the
 * end of the text after every slice and leave the work waiting for it. */
#define WEFT_SLICE_PRIORITY     (GDK_PRIORITY_REDRAW + 2)

/* One dispatch's share of the budget. A slice starts only when one more,
 * costing what the last one did, still ends within it: checking the clock
 * only after each slice let dispatches run to twice the budget. */
typedef struct
{
  gint64 deadline;
  gint64 slice_start;
} WeftSliceBudget;

static inline void
weft_slice_budget_init (WeftSliceBudget *budget)
{
  budget->slice_start = g_get_monotonic_time ();
  budget->deadline = budget->slice_start + WEFT_SLICE_BUDGET_USEC;
}

/* Call after each slice: whether another one fits. */
static inline gboolean
weft_slice_budget_next (WeftSliceBudget *budget)
{
  gint64 now = g_get_monotonic_time ();
  gint64 cost = now - budget->slice_start;

  budget->slice_start = now;
  return now + cost <= budget->deadline;
}

/* While a load or a large replacement goes in, a document takes no edits
 * but these slices (see weft_document_get_read_only()), which mark
 * themselves on the buffer for as long as they take. */
static inline GQuark
weft_slice_own_edit_quark (void)
{
  return g_quark_from_static_string ("weft-own-edit");
}

static inline void
weft_slice_mark_own (GtkTextBuffer *buffer,
                     gboolean       own)
{
  g_object_set_qdata (G_OBJECT (buffer), weft_slice_own_edit_quark (), GINT_TO_POINTER (own));
}

static inline gboolean
weft_slice_is_own_edit (GtkTextBuffer *buffer)
{
  return GPOINTER_TO_INT (g_object_get_qdata (G_OBJECT (buffer), weft_slice_own_edit_quark ()));
}

static inline void
weft_slice_insert (GtkTextBuffer *buffer,
                   GtkTextIter   *iter,
                   const char    *text,
                   int            len)
{
  weft_slice_mark_own (buffer, TRUE);
  gtk_text_buffer_insert (buffer, iter, text, len);
  weft_slice_mark_own (buffer, FALSE);
}

static inline void
weft_slice_delete (GtkTextBuffer *buffer,
                   GtkTextIter   *start,
                   GtkTextIter   *end)
{
  weft_slice_mark_own (buffer, TRUE);
  gtk_text_buffer_delete (buffer, start, end);
  weft_slice_mark_own (buffer, FALSE);
}
