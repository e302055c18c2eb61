/* weft-export.h: saving exported numbers to a file the user picks. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Asks for a file (suggesting @suggested_name) and writes @contents to it;
 * a failure is shown in a dialog over @parent. Returns at once. */
void weft_export_save (GtkWindow  *parent,
                       const char *suggested_name,
                       const char *contents);

G_END_DECLS
