/* weft-compare-window.h: runs the backend comparison off the main thread and charts it. */
#pragma once

#include <adwaita.h>

#include "weft-compare.h"
#include "weft-job.h"

G_BEGIN_DECLS

#define WEFT_TYPE_COMPARE_WINDOW (weft_compare_window_get_type ())

G_DECLARE_FINAL_TYPE (WeftCompareWindow, weft_compare_window, WEFT, COMPARE_WINDOW, AdwWindow)

/* @input is the text to work on (taking a reference), or NULL for a
 * generated 1M-line document; @source_name says which, for the user. */
GtkWidget *weft_compare_window_new      (GtkWindow               *transient_for,
                                         WeftJobInput            *input,
                                         const char              *source_name);
/* Starts a comparison (as the Start button does); @config overrides the
 * defaults when not NULL (tests use fewer workers and runs). */
void       weft_compare_window_start    (WeftCompareWindow       *self,
                                         const WeftCompareConfig *config);
void       weft_compare_window_cancel   (WeftCompareWindow       *self);
gboolean   weft_compare_window_get_running (WeftCompareWindow    *self);
/* The last finished comparison's rows (GArray of WeftCompareRow), or NULL. */
GArray    *weft_compare_window_get_rows (WeftCompareWindow       *self);
guint      weft_compare_window_get_n_charted (WeftCompareWindow  *self);

G_END_DECLS
