/* weft-sort-dialog.h: the Sort Lines dialog, its options remembered and previewed. */
#pragma once

#include <adwaita.h>

#include "weft-sort.h"

G_BEGIN_DECLS

#define WEFT_TYPE_SORT_DIALOG (weft_sort_dialog_get_type ())

G_DECLARE_FINAL_TYPE (WeftSortDialog, weft_sort_dialog, WEFT, SORT_DIALOG, AdwWindow)

/* @sample: the first lines to sort, for the preview (copied). The dialog
 * emits "sort" when the user confirms; the options are in the settings.
 * Closing it hides it, to be presented again. */
WeftSortDialog *weft_sort_dialog_new         (GtkWindow       *transient_for,
                                              const char      *sample);
/* Sets the lines the preview shows, for the next time it is presented. */
void            weft_sort_dialog_set_sample  (WeftSortDialog  *self,
                                              const char      *sample);
void            weft_sort_options_from_settings (GSettings     *settings,
                                                 WeftSortOptions *out_options);

G_END_DECLS
