/* weft-slice.h: how large texts go into a GtkTextBuffer without stalling the window. */
#pragma once

#include <gtk/gtk.h>

/* Large texts go in (and out) in slices of at most this many bytes (or
 * chars, for deletions), and a dispatch stops for the main loop once it has
 * used WEFT_SLICE_BUDGET_USEC: the window keeps drawing and answering while
 * a million lines come in. A dispatch should take at most 4 ms
 * (WEFT_WATCHDOG_WORK_BUDGET_US). The budget leaves room for a last slice
 * that costs far more than the ones before: over the 15,000 slices of a
 * sort of a million lines and its undo, half cost under 0.6 ms of CPU, and
 * 1 in 500 cost 1-1.8 ms, at random. With the slices before it costing
 * 0.6 ms, the last one starts by 1.9 ms and ends by 3.7 ms. */
#define WEFT_SLICE_BYTES        (16 * 1024)
#define WEFT_SLICE_BUDGET_USEC  2500
/* Below GTK's redraw, so every due frame is drawn between two dispatches,
 * but above GtkTextView's line validation, which would otherwise run to the
 * end of the text after every slice and leave the work waiting for it. */
#define WEFT_SLICE_PRIORITY     (GDK_PRIORITY_REDRAW + 2)
/* GtkTextView measures lines in idle callbacks at this priority and the
 * one above (GTK_TEXT_VIEW_PRIORITY_VALIDATE in GTK 4.8's gtktextview.c). */
#define WEFT_GTK_MEASURING_PRIORITY (GDK_PRIORITY_REDRAW + 5)

/* Whether the main loop is running one of GtkTextView's measuring steps:
 * a view's adjustment that moves then moves because lines changed height,
 * not because anyone scrolled. */
static inline gboolean
weft_slice_in_gtk_measuring (void)
{
  GSource *source = g_main_current_source ();
  int priority;

  if (source == NULL)
    return FALSE;
  priority = g_source_get_priority (source);
  return priority == WEFT_GTK_MEASURING_PRIORITY || priority == WEFT_GTK_MEASURING_PRIORITY - 1;
}

/* One dispatch's share of the budget. A slice starts only when one more,
 * costing what the dearer of the last two did, still ends within it:
 * checking the clock only after each slice let dispatches run to twice the
 * budget, and a replacement alternates insertions with deletions, which
 * cost differently (after a cheap deletion, an insertion would start that
 * the budget has no room for). */
typedef struct
{
  gint64 deadline;
  gint64 slice_start;
  gint64 last_cost;
} WeftSliceBudget;

/* The _at() forms take the time from the caller, for tests. */
static inline void
weft_slice_budget_init_at (WeftSliceBudget *budget,
                           gint64           now)
{
  budget->slice_start = now;
  budget->deadline = now + WEFT_SLICE_BUDGET_USEC;
  budget->last_cost = 0;
}

static inline void
weft_slice_budget_init (WeftSliceBudget *budget)
{
  weft_slice_budget_init_at (budget, g_get_monotonic_time ());
}

/* Call after each slice: whether another one fits. */
static inline gboolean
weft_slice_budget_next_at (WeftSliceBudget *budget,
                           gint64           now)
{
  gint64 cost = now - budget->slice_start;
  gint64 expected = MAX (cost, budget->last_cost);

  budget->slice_start = now;
  budget->last_cost = cost;
  return now + expected <= budget->deadline;
}

static inline gboolean
weft_slice_budget_next (WeftSliceBudget *budget)
{
  return weft_slice_budget_next_at (budget, g_get_monotonic_time ());
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
