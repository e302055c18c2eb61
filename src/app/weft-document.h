/* weft-document.h: one open text document — its buffer, its file, loading and saving. */
#pragma once

#include <gtksourceview/gtksource.h>

#include "weft-sort.h"
#include "weft-text.h"

G_BEGIN_DECLS

#define WEFT_TYPE_DOCUMENT (weft_document_get_type ())

G_DECLARE_FINAL_TYPE (WeftDocument, weft_document, WEFT, DOCUMENT, GObject)

WeftDocument    *weft_document_new          (void);
GtkSourceBuffer *weft_document_get_buffer   (WeftDocument         *self);
GFile           *weft_document_get_file     (WeftDocument         *self);
const char      *weft_document_get_title    (WeftDocument         *self);
gboolean         weft_document_get_modified (WeftDocument         *self);
gboolean         weft_document_get_busy     (WeftDocument         *self);
gboolean         weft_document_is_untouched (WeftDocument         *self);
gboolean         weft_document_get_loading  (WeftDocument         *self);
double           weft_document_get_load_progress (WeftDocument    *self);
size_t           weft_document_get_load_lines (WeftDocument       *self);
WeftSnapshot    *weft_document_dup_snapshot (WeftDocument         *self);
void             weft_document_cancel_load  (WeftDocument         *self);
gboolean         weft_document_get_disk_changed (WeftDocument     *self);
gboolean         weft_document_get_disk_deleted (WeftDocument     *self);
void             weft_document_keep_mine    (WeftDocument         *self);
gboolean         weft_document_get_applying (WeftDocument         *self);
gboolean         weft_document_get_read_only (WeftDocument        *self);
gboolean         weft_document_undo         (WeftDocument         *self);
gboolean         weft_document_redo         (WeftDocument         *self);
gboolean         weft_document_get_can_undo (WeftDocument         *self);
gboolean         weft_document_get_can_redo (WeftDocument         *self);
void             weft_document_sort_lines_async  (WeftDocument          *self,
                                                  int                    start_char,
                                                  int                    end_char,
                                                  const WeftSortOptions *options,
                                                  GCancellable          *cancellable,
                                                  GAsyncReadyCallback    callback,
                                                  gpointer               user_data);
gboolean         weft_document_sort_lines_finish (WeftDocument          *self,
                                                  GAsyncResult          *result,
                                                  GError               **error);

void             weft_document_load_async   (WeftDocument         *self,
                                             GFile                *file,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
void             weft_document_load_draft_async (WeftDocument     *self,
                                                 GFile            *draft,
                                                 GFile            *file,
                                                 GCancellable     *cancellable,
                                                 GAsyncReadyCallback callback,
                                                 gpointer          user_data);
gboolean         weft_document_load_finish  (WeftDocument         *self,
                                             GAsyncResult         *result,
                                             GError              **error);

/* Saves to @file, or to the document's own file when @file is NULL; on
 * success the document's file becomes @file. */
void             weft_document_save_async   (WeftDocument         *self,
                                             GFile                *file,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
gboolean         weft_document_save_finish  (WeftDocument         *self,
                                             GAsyncResult         *result,
                                             GError              **error);

G_END_DECLS
