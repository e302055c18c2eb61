/* weft-replace.h: replaces a range of a text buffer with new text in time slices. */
#pragma once

#include <gtk/gtk.h>

#include "weft-text.h"

G_BEGIN_DECLS

/* Puts new text in place of chars [start_char, start_char + old_chars) of a
 * GtkTextBuffer, a slice at a time from the main loop (WEFT_SLICE_*), so a
 * million lines go in without a long frame. The new text goes in at the
 * start of the range, each slice after the one before, while the old text
 * is deleted from its end, a slice out for each slice in. What the view
 * shows, usually the start of the range, changes once, with the first
 * slice, and the view has nothing to lay out again after it; the buffer
 * never holds much more than the larger of the two texts.
 *
 * The caller brackets it with an irreversible action (or a user action)
 * and keeps the view read-only meanwhile. Main thread only. */
typedef struct _WeftReplace WeftReplace;

typedef void (*WeftReplaceProgress) (gpointer user_data,
                                     double   fraction);
typedef void (*WeftReplaceDone)     (gpointer user_data);

/* The new text is bytes [byte_off, byte_off + len) of @source. */
WeftReplace *weft_replace_new_from_snapshot (GtkTextBuffer *buffer,
                                             size_t         start_char,
                                             size_t         old_chars,
                                             WeftSnapshot  *source,
                                             size_t         byte_off,
                                             size_t         len);
/* The new text is @text (valid UTF-8, @len bytes), which the replace takes. */
WeftReplace *weft_replace_new_from_text     (GtkTextBuffer *buffer,
                                             size_t         start_char,
                                             size_t         old_chars,
                                             char          *text,
                                             size_t         len);

/* Starts the slices; @done is called from the main loop once all is in
 * (not after weft_replace_free()). */
void         weft_replace_start             (WeftReplace         *self,
                                             WeftReplaceProgress  progress,
                                             WeftReplaceDone      done,
                                             gpointer             user_data);

/* Stops it where it is, if it has not finished. */
void         weft_replace_free              (WeftReplace         *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftReplace, weft_replace_free)

G_END_DECLS
