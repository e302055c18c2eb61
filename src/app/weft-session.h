/* weft-session.h: autosaved drafts and the session file that brings documents back. */
#pragma once

#include <glib-object.h>

#include "weft-document.h"

G_BEGIN_DECLS

#define WEFT_TYPE_SESSION (weft_session_get_type ())

G_DECLARE_FINAL_TYPE (WeftSession, weft_session, WEFT, SESSION, GObject)

/* One document to bring back, as read from the session file. */
typedef struct
{
  char  *id;
  GFile *file;      /* NULL for an untitled document */
  GFile *draft;     /* NULL when the document had no unsaved changes */
  char  *title;
  int    line;      /* cursor, counted from 0 */
  int    column;
} WeftSessionEntry;

void              weft_session_entry_free (WeftSessionEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftSessionEntry, weft_session_entry_free)

/* Keeps its drafts and session file in @dir (created 0700 if missing). */
WeftSession *weft_session_new              (const char    *dir);
const char  *weft_session_get_dir          (WeftSession   *self);

/* Reads what the last run left: whether it ended cleanly, and its documents
 * in order (element type WeftSessionEntry). Call once, before tracking. */
GPtrArray   *weft_session_read_previous    (WeftSession   *self,
                                            gboolean      *out_clean_exit);

/* Starts autosaving @document; @id reuses the draft of a restored entry
 * (NULL: a new one). */
void         weft_session_track            (WeftSession   *self,
                                            WeftDocument  *document,
                                            const char    *id);
/* The document is closed: its draft goes, its entry too. */
void         weft_session_untrack          (WeftSession   *self,
                                            WeftDocument  *document);
/* Writes every pending draft and the session file now (asynchronously). */
void         weft_session_flush            (WeftSession   *self);
/* At a clean exit: drafts are gone (every document was saved or discarded),
 * and the file records a clean end. Blocks briefly; call only when quitting. */
void         weft_session_end              (WeftSession   *self);
/* Number of drafts being written or waiting to be. */
guint        weft_session_get_n_pending    (WeftSession   *self);
/* The draft file of @document, or NULL when it is not tracked. */
GFile       *weft_session_dup_draft_file   (WeftSession   *self,
                                            WeftDocument  *document);

G_END_DECLS
