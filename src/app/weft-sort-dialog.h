/* weft-sort-dialog.h: the Sort Lines dialog, its options remembered and previewed. */
#pragma once

#include <adwaita.h>

#include "weft-sort.h"

G_BEGIN_DECLS

#define WEFT_TYPE_SORT_DIALOG (weft_sort_dialog_get_type ())

G_DECLARE_FINAL_TYPE (WeftSortDialog, weft_sort_dialog, WEFT, SORT_DIALOG, AdwWindow)

/* @sample: the first lines to sort, for the preview (copied). The dialog
 * emits "sort" when the user confirms; the options are in the settings. */
WeftSortDialog *weft_sort_dialog_new         (GtkWindow       *transient_for,
                                              const char      *sample);
void            weft_sort_options_from_settings (GSettings     *settings,
                                                 WeftSortOptions *out_options);

G_END_DECLS
