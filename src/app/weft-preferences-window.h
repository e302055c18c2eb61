/* weft-preferences-window.h: the Preferences window, every row bound to GSettings. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define WEFT_TYPE_PREFERENCES_WINDOW (weft_preferences_window_get_type ())

G_DECLARE_FINAL_TYPE (WeftPreferencesWindow, weft_preferences_window, WEFT, PREFERENCES_WINDOW, AdwPreferencesWindow)

GtkWidget *weft_preferences_window_new (GtkWindow *transient_for);

G_END_DECLS
