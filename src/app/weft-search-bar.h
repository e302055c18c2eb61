/* weft-search-bar.h: find and replace inside one view, with a live match count. */
#pragma once

#include <gtksourceview/gtksource.h>

G_BEGIN_DECLS

#define WEFT_TYPE_SEARCH_BAR (weft_search_bar_get_type ())

G_DECLARE_FINAL_TYPE (WeftSearchBar, weft_search_bar, WEFT, SEARCH_BAR, GtkWidget)

WeftSearchBar *weft_search_bar_new     (GtkSourceView *view);
void     weft_search_bar_begin          (WeftSearchBar *self,
                                         gboolean       with_replace);
void     weft_search_bar_dismiss        (WeftSearchBar *self);
gboolean weft_search_bar_is_revealed    (WeftSearchBar *self);
void     weft_search_bar_move           (WeftSearchBar *self,
                                         gboolean       backward);
int      weft_search_bar_get_n_matches  (WeftSearchBar *self);
void     weft_search_bar_replace_all    (WeftSearchBar *self);

G_END_DECLS
