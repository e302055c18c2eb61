/* weft-window.h: a Weft window — tabs of documents, the header bar, the status line. */
#pragma once

#include <adwaita.h>

#include "weft-page.h"
#include "weft-session.h"

G_BEGIN_DECLS

#define WEFT_TYPE_WINDOW (weft_window_get_type ())

G_DECLARE_FINAL_TYPE (WeftWindow, weft_window, WEFT, WINDOW, AdwApplicationWindow)

WeftWindow *weft_window_new              (GtkApplication *application);
WeftPage   *weft_window_get_active_page  (WeftWindow     *self);
WeftPage   *weft_window_new_document     (WeftWindow     *self);
void        weft_window_open_file        (WeftWindow     *self,
                                          GFile          *file,
                                          int             line);
void        weft_window_show_message     (WeftWindow     *self,
                                          const char     *message);
void        weft_window_restore          (WeftWindow     *self,
                                          const WeftSessionEntry *entry);
guint       weft_window_get_n_pages      (WeftWindow     *self);
WeftPage   *weft_window_get_page         (WeftWindow     *self,
                                          guint           position);

G_END_DECLS
