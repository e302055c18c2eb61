/* weft-page.h: the contents of one tab — a source view on a document, with its search bar. */
#pragma once

#include <gtksourceview/gtksource.h>

#include "weft-document.h"
#include "weft-search-bar.h"
#include "weft-spell-controller.h"

G_BEGIN_DECLS

#define WEFT_TYPE_PAGE (weft_page_get_type ())

G_DECLARE_FINAL_TYPE (WeftPage, weft_page, WEFT, PAGE, GtkWidget)

WeftPage      *weft_page_new            (WeftDocument *document);
WeftDocument  *weft_page_get_document   (WeftPage     *self);
GtkSourceView *weft_page_get_view       (WeftPage     *self);
/* Builds the bar the first time; peek returns NULL until then. */
WeftSearchBar *weft_page_get_search_bar (WeftPage     *self);
WeftSearchBar *weft_page_peek_search_bar (WeftPage    *self);
WeftSpellController *weft_page_get_spell_controller (WeftPage *self);
void           weft_page_go_to_line     (WeftPage     *self,
                                         int           line,
                                         int           line_offset);
void           weft_page_get_cursor     (WeftPage     *self,
                                         int          *out_line,
                                         int          *out_column);

G_END_DECLS
