/* weft-text.h: WeftText, the persistent rope mirroring a document's text, and the immutable snapshots workers read. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

G_BEGIN_DECLS

/* Units. A "char" is one Unicode code point, which is what GtkTextIter
 * offsets count; a "byte" is a byte of the UTF-8 encoding; a "line" is a
 * 0-based line number where only '\n' ends a line, so a text always has
 * (number of '\n') + 1 lines. GtkTextBuffer also breaks lines at "\r" and
 * U+2029; callers that load such text must normalise it or map lines
 * themselves.
 *
 * GtkTextBuffer shows paintables and child anchors as U+FFFC: the caller
 * mirrors each of them by inserting "\xEF\xBF\xBC" (3 bytes, 1 char), which
 * keeps char offsets in step with the buffer's. */

/* The live, editable text of one document. Not thread-safe: it is owned by
 * the thread that edits it (the main thread), which is the only one that may
 * call weft_text_* on it. Other threads only ever see snapshots. */
typedef struct _WeftText WeftText;

/* An immutable version of a WeftText. Reference-counted atomically; any
 * number of threads may read one snapshot at the same time, and a snapshot
 * stays valid and unchanged whatever is done to the WeftText afterwards. Hand
 * a snapshot to another thread through something that synchronises (a locked
 * queue, a GAsyncQueue, an atomic release store), as for any shared data. */
typedef struct _WeftSnapshot WeftSnapshot;

typedef struct _WeftChunkIter WeftChunkIter;

/* g_utf8_validate_len() with the same answer and the same @end (the first
 * byte that is not valid; nullable), NUL bytes invalid, but runs of ASCII
 * are checked eight bytes at a time. GLib 2.74 checks byte by byte: 10 MB
 * of prose took the loading thread ~10 ms per check, while the window
 * drew the document's first frames beside it. */
gboolean      weft_utf8_validate        (const char  *text,
                                         size_t       len,
                                         const char **end);

/* An empty text, version 0. */
WeftText     *weft_text_new             (void);

/* A text holding a copy of @len bytes of @utf8, which must be valid UTF-8
 * without NUL bytes (as weft_file_read_utf8() returns it). Builds a balanced
 * tree in O(@len); version 0. */
WeftText     *weft_text_new_from_utf8   (const char *utf8,
                                         size_t      len);

/* Drops the text's reference to its current version; snapshots of it stay
 * valid. */
void          weft_text_free            (WeftText   *text);

/* Inserts @len bytes of valid UTF-8 at @char_off (<= n_chars), as the
 * GtkTextBuffer::insert-text handler sees them. O(log n + @len). An empty
 * insert changes nothing, not even the version. */
void          weft_text_insert          (WeftText   *text,
                                         size_t      char_off,
                                         const char *utf8,
                                         size_t      len);

/* Removes @n_chars chars starting at @char_off, as GtkTextBuffer::delete-range
 * reports them (start offset, end offset - start offset). O(log n). */
void          weft_text_delete          (WeftText   *text,
                                         size_t      char_off,
                                         size_t      n_chars);

/* Starts at 0 and grows by one with every insert or delete that changes the
 * text; a snapshot carries the version it was taken at, so a job result can
 * tell which edits happened since. */
uint64_t      weft_text_get_version     (const WeftText *text);
size_t        weft_text_get_n_bytes     (const WeftText *text);
size_t        weft_text_get_n_chars     (const WeftText *text);
size_t        weft_text_get_n_lines     (const WeftText *text);

/* O(1) whatever the size of the text: it takes a reference on the current
 * root. Release with weft_snapshot_unref(). */
WeftSnapshot *weft_text_snapshot        (WeftText   *text);

WeftSnapshot *weft_snapshot_ref         (WeftSnapshot *snap);
/* Any thread. Dropping the last reference to a version that the text has
 * since moved away from frees the nodes only that version used, in the
 * calling thread: O(log n) after a typical edit, O(n) after the whole text was
 * replaced. */
void          weft_snapshot_unref       (WeftSnapshot *snap);

uint64_t      weft_snapshot_get_version (const WeftSnapshot *snap);
size_t        weft_snapshot_get_n_bytes (const WeftSnapshot *snap);
size_t        weft_snapshot_get_n_chars (const WeftSnapshot *snap);
size_t        weft_snapshot_get_n_lines (const WeftSnapshot *snap);

/* Offset mappings, each O(log n). Arguments past the end are a programming
 * error (g_return_val_if_fail) and give the end of the text. A byte offset
 * given to these must fall on a char boundary. */

/* Byte offset of the char at @char_off (<= n_chars). */
size_t        weft_snapshot_char_to_byte (const WeftSnapshot *snap,
                                          size_t              char_off);
/* Number of chars before @byte_off (<= n_bytes). */
size_t        weft_snapshot_byte_to_char (const WeftSnapshot *snap,
                                          size_t              byte_off);
/* The same for @n byte offsets in ascending order, in one walk: each costs
 * the bytes since the one before, not since the start of its leaf. */
void          weft_snapshot_bytes_to_chars (const WeftSnapshot *snap,
                                            const size_t       *byte_offs,
                                            size_t              n,
                                            size_t             *out_chars);
/* Byte offset of the first byte of @line (< n_lines). */
size_t        weft_snapshot_line_to_byte (const WeftSnapshot *snap,
                                          size_t              line);
/* Char offset of the first char of @line (< n_lines). */
size_t        weft_snapshot_line_to_char (const WeftSnapshot *snap,
                                          size_t              line);
/* Line holding @byte_off (<= n_bytes); a '\n' belongs to the line it ends. */
size_t        weft_snapshot_byte_to_line (const WeftSnapshot *snap,
                                          size_t              byte_off);
/* Line holding @char_off (<= n_chars). */
size_t        weft_snapshot_char_to_line (const WeftSnapshot *snap,
                                          size_t              char_off);

/* Copies @len bytes from @byte_off into @dest (not NUL-terminated). The range
 * must lie inside the text. */
void          weft_snapshot_copy_range  (const WeftSnapshot *snap,
                                         size_t              byte_off,
                                         size_t              len,
                                         char               *dest);

/* The whole text as a new NUL-terminated string (free with g_free());
 * @out_len, if not NULL, receives its length without the terminator. */
char         *weft_snapshot_dup_utf8    (const WeftSnapshot *snap,
                                         size_t             *out_len);

/* Whether the two snapshots hold the same text, whatever their versions.
 * Leaves two versions of one text share are compared by address, so after a
 * few edits this is O(number of chunks) rather than O(n) byte compares. */
gboolean      weft_snapshot_same_text   (const WeftSnapshot *a,
                                         const WeftSnapshot *b);

/* Number of leaf chunks, for tests and memory statistics. O(number of nodes). */
size_t        weft_snapshot_get_n_chunks (const WeftSnapshot *snap);

/* Walks the whole tree and checks its invariants: every leaf at the same
 * depth, fan-out and minimum fill of every node below the root, cached
 * counts, chunk sizes, no UTF-8 sequence split between chunks. FALSE with a
 * WEFT_ERROR_FAILED error naming the broken invariant. For tests and
 * fuzzing; O(n). */
gboolean      weft_snapshot_check       (const WeftSnapshot *snap,
                                         GError            **error);

/* Chunk iteration, for workers that scan text without copying it.
 *
 *   WeftChunkIter iter;
 *   const char *data;
 *   size_t len;
 *
 *   weft_chunk_iter_init (&iter, snap, byte_off, SIZE_MAX);
 *   while (weft_chunk_iter_next (&iter, &data, &len))
 *     scan (data, len);
 *
 * Pieces are never empty and point into the snapshot, which must outlive
 * the iteration. Pieces of a range starting on a char boundary never split a
 * UTF-8 sequence, except that a range ending inside one ends there. */
#define WEFT_CHUNK_ITER_MAX_DEPTH 32

struct _WeftChunkIter
{
  /*< private >*/
  const void *nodes[WEFT_CHUNK_ITER_MAX_DEPTH];
  uint8_t     slots[WEFT_CHUNK_ITER_MAX_DEPTH];
  unsigned    depth;
  size_t      skip;
  size_t      remaining;
};

/* Prepares @iter to walk @len bytes from @byte_off (<= n_bytes); @len is
 * clamped to the end of the text, so SIZE_MAX means "to the end". O(log n). */
void          weft_chunk_iter_init      (WeftChunkIter      *iter,
                                         const WeftSnapshot *snap,
                                         size_t              byte_off,
                                         size_t              len);

/* Returns the next piece in *@data / *@len, or FALSE when the range is done.
 * Amortised O(1) per piece. */
gboolean      weft_chunk_iter_next      (WeftChunkIter      *iter,
                                         const char        **data,
                                         size_t             *len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftText, weft_text_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftSnapshot, weft_snapshot_unref)

G_END_DECLS
