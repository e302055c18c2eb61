/* weft-slice.h: how large texts go into a GtkTextBuffer without stalling the window. */
#pragma once

#include <gdk/gdk.h>

/* Large texts go in (and out) in slices of at most this many bytes (or
 * chars, for deletions), and a dispatch stops for the main loop once it has
 * used WEFT_SLICE_BUDGET_USEC: the window keeps drawing and answering while
 * a million lines come in. */
#define WEFT_SLICE_BYTES        (16 * 1024)
#define WEFT_SLICE_BUDGET_USEC  4000
/* Below GTK's redraw, so every due frame is drawn between two dispatches,
 * but above GtkTextView's line validation, which would otherwise run to the
 * end of the text after every slice and leave the work waiting for it. */
#define WEFT_SLICE_PRIORITY     (GDK_PRIORITY_REDRAW + 2)
