/* weft-history.h: undo and redo of large replacements, put back in time slices. */
#pragma once

#include <gtk/gtk.h>

#include "weft-text.h"

G_BEGIN_DECLS

/* GtkTextBuffer's own undo of a whole-document replacement deletes and
 * inserts everything in one call, which blocks the window for over a second
 * on a million lines. Replacements that large (sorting, reloading) go into
 * the buffer as irreversible actions instead, and are recorded here as a
 * step between two snapshots of the text; undoing or redoing a step puts
 * the other snapshot's text back a slice at a time.
 *
 * How it interleaves with ordinary undo: an irreversible action empties the
 * buffer's own history, so at any time the buffer's history holds exactly
 * the edits made since the last step ("the boundary"), and this history
 * holds the steps before it. Ctrl+Z first undoes the buffer's own edits;
 * once it has none left, the text is the last step's result, and the step
 * is undone here. Edits made since the boundary become a step of their own
 * (between two whole texts) before the next step is recorded or undone, so
 * none is skipped and no step is put back over a text it did not leave.
 *
 * Each text a step starts or ends at has a state number, so the document can
 * tell whether undoing returns to what was saved.
 *
 * Main thread only; owned by one WeftDocument. */
typedef struct _WeftHistory WeftHistory;

typedef void (*WeftHistoryDone)     (gpointer user_data,
                                     guint    state);
typedef void (*WeftHistoryProgress) (gpointer user_data,
                                     double   fraction);

WeftHistory *weft_history_new          (GtkTextBuffer *buffer);
void         weft_history_free         (WeftHistory   *self);
void         weft_history_clear        (WeftHistory   *self);
void         weft_history_clear_redo   (WeftHistory   *self);

/* Records that chars [@start_char, @start_char + @before_chars) of @before
 * became [@start_char, @start_char + @after_chars) of @after (the rest of
 * the two texts being the same), going from state @before_state to
 * @after_state. Takes a reference on both snapshots; empties the redo list. */
void         weft_history_push         (WeftHistory   *self,
                                        WeftSnapshot  *before,
                                        guint          before_state,
                                        WeftSnapshot  *after,
                                        guint          after_state,
                                        size_t         start_char,
                                        size_t         before_chars,
                                        size_t         after_chars);

gboolean     weft_history_can_undo     (WeftHistory   *self);
gboolean     weft_history_can_redo     (WeftHistory   *self);
gboolean     weft_history_is_applying  (WeftHistory   *self);

/* Starts undoing (@redo FALSE) or redoing the next step. The text must be
 * the one the step left (or, to redo, started from): the caller turns any
 * other edits into a step first. The replacement runs from the main loop,
 * at most about 4 ms per dispatch, as an irreversible action; @progress
 * is called after each dispatch and @done once it is all in, with the state
 * the text is now in. FALSE
 * (nothing started) when there is no such step or one is still going in. */
gboolean     weft_history_step         (WeftHistory        *self,
                                        gboolean            redo,
                                        WeftHistoryProgress progress,
                                        WeftHistoryDone     done,
                                        gpointer            user_data);

G_END_DECLS
