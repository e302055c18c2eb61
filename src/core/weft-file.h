/* weft-file.h: reading text files safely and replacing them atomically and durably. */
#pragma once

#include <stddef.h>
#include <glib.h>

#include "weft-error.h"

G_BEGIN_DECLS

/* Reads the regular file at @path whole and checks that it is UTF-8 text.
 * Never blocks on FIFOs or devices: anything but a regular file is refused
 * before it is opened for reading (WEFT_ERROR_NOT_REGULAR_FILE,
 * WEFT_ERROR_IS_DIRECTORY). Invalid UTF-8 gives WEFT_ERROR_INVALID_UTF8 and NUL
 * bytes WEFT_ERROR_BINARY, with the line and column of the first bad byte in
 * the message. On success *out_text is NUL-terminated and *out_len excludes the
 * terminator; the caller frees it with g_free(). Safe from any thread. */
gboolean weft_file_read_utf8    (const char  *path,
                                 char       **out_text,
                                 size_t      *out_len,
                                 GError     **error);

/* Replaces the file at @path with @len bytes of @data so that, whatever
 * happens, the path holds either the old or the new contents in full: a temp
 * file is created in the same directory, written, fsynced, renamed over the
 * target, and the directory is fsynced. An existing file keeps its mode (and,
 * where permitted, its owner); a symbolic link keeps pointing at the file it
 * names, whose contents are replaced. On failure the target is untouched, the
 * temp file is removed and @error says which step failed and why. Safe from
 * any thread. */
gboolean weft_file_write_atomic (const char  *path,
                                 const char  *data,
                                 size_t       len,
                                 GError     **error);

/* As weft_file_write_atomic(), creating a file that does not exist yet with
 * @new_file_mode (before the umask); an existing file keeps its own mode. */
gboolean weft_file_write_atomic_mode   (const char   *path,
                                        unsigned int  new_file_mode,
                                        const char   *data,
                                        size_t        len,
                                        GError      **error);

/* Hands out the bytes to write, piece by piece: returns FALSE when there are
 * no more. Pieces may be empty. WeftChunkIter's next function fits. */
typedef gboolean (*WeftFileChunkFunc) (gpointer      user_data,
                                       const char  **out_data,
                                       size_t       *out_len);

/* weft_file_write_atomic() for text that is not in one piece, such as a
 * snapshot of the document mirror: the same guarantees, no extra copy. */
gboolean weft_file_write_atomic_chunks (const char         *path,
                                        WeftFileChunkFunc   next_chunk,
                                        gpointer            user_data,
                                        GError            **error);

/* As weft_file_write_atomic_chunks(), creating a file that does not exist
 * yet with @new_file_mode (before the umask), e.g. 0600 for private drafts;
 * an existing file keeps its own mode. */
gboolean weft_file_write_atomic_full   (const char         *path,
                                        unsigned int        new_file_mode,
                                        WeftFileChunkFunc   next_chunk,
                                        gpointer            user_data,
                                        GError            **error);

/* The steps of weft_file_write_atomic_full(), for a caller that lets
 * someone else fill the temp file: a sandboxed worker process that cannot
 * open files is handed the temp file's descriptor, and the caller commits or
 * aborts once it answers. Messages are those of weft_file_write_atomic_full().
 *
 * A WeftFileTemp is owned by one thread at a time; commit and abort consume
 * it. */
typedef struct _WeftFileTemp WeftFileTemp;

/* Returns TRUE once a write should stop. */
typedef gboolean (*WeftFileCancelFunc) (gpointer cancel_data);

/* Resolves symbolic links in @path, checks that the target is a regular file
 * the user may write (or does not exist yet), and creates an empty temp file
 * beside it with the target's mode and, where permitted, owner, or with
 * @new_file_mode (before the umask) for a new file. Nothing is left behind
 * on failure. */
WeftFileTemp *weft_file_temp_new      (const char    *path,
                                       unsigned int   new_file_mode,
                                       GError       **error);
/* The temp file's descriptor, open for writing; the temp keeps ownership. */
int           weft_file_temp_get_fd   (WeftFileTemp  *temp);
const char   *weft_file_temp_get_path (WeftFileTemp  *temp);
/* Closes the temp file, renames it over the target and fsyncs the
 * directory. The contents must already be written and fsynced. On failure
 * the temp file is removed and the target is untouched. */
gboolean      weft_file_temp_commit   (WeftFileTemp  *temp,
                                       GError       **error);
/* Closes and removes the temp file; the target is untouched. NULL is a
 * no-op. */
void          weft_file_temp_abort    (WeftFileTemp  *temp);

/* Writes every piece @next_chunk hands out to @fd at its current offset,
 * then fsyncs it. @path only names the file in messages. @is_cancelled
 * (nullable) is polled between batches of at most 1 MiB; once it returns
 * TRUE the write stops, unsynced, with WEFT_ERROR_CANCELLED. Opens nothing,
 * so a sandboxed worker may call it. */
gboolean      weft_file_write_fd      (int                 fd,
                                       const char         *path,
                                       WeftFileChunkFunc   next_chunk,
                                       gpointer            user_data,
                                       WeftFileCancelFunc  is_cancelled,
                                       gpointer            cancel_data,
                                       GError            **error);

/* As weft_file_write_fd(), for bytes streamed through a pipe: moves @len
 * bytes read from @in_fd (a pipe another process vmsplice()s the text into)
 * into @out_fd with splice(), without mapping or buffering them, then
 * fsyncs @out_fd. Fails if the pipe ends before @len bytes. */
gboolean      weft_file_copy_fd       (int                 out_fd,
                                       const char         *path,
                                       int                 in_fd,
                                       size_t              len,
                                       WeftFileCancelFunc  is_cancelled,
                                       gpointer            cancel_data,
                                       GError            **error);

/* Resolves symbolic links in the last component of @path (up to 40 of them),
 * so that a save replaces the link's target rather than the link. Relative
 * link targets are taken from the link's directory. Returns a new string. */
char    *weft_file_resolve_link (const char  *path);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftFileTemp, weft_file_temp_abort)

G_END_DECLS
