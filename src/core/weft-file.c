/* weft-file.c: reading text files safely and replacing them atomically and durably. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "weft-file.h"
#include "weft-text.h"

#define MAX_LINK_DEPTH 40

static void
set_errno_error (GError     **error,
                 int          errsv,
                 const char  *path,
                 const char  *what)
{
  g_autofree char *display = g_filename_display_basename (path);

  /* TRANSLATORS: e.g. "Could not read “notes.txt”: permission denied" */
  g_set_error (error, WEFT_ERROR, weft_error_from_errno (errsv),
               what, display, weft_error_describe_errno (errsv));
}

static void
locate_byte (const char *text,
             size_t      byte_off,
             size_t     *out_line,
             size_t     *out_column)
{
  size_t line = 1;
  const char *line_start = text;

  for (const char *p = text; p < text + byte_off; p++)
    if (*p == '\n')
      {
        line++;
        line_start = p + 1;
      }

  *out_line = line;
  *out_column = (size_t) (text + byte_off - line_start) + 1;
}

static gboolean
check_text (const char  *path,
            const char  *text,
            size_t       len,
            GError     **error)
{
  const char *end = NULL;
  g_autofree char *display = NULL;
  size_t line, column;

  if (weft_utf8_validate (text, len, &end))
    return TRUE;

  display = g_filename_display_basename (path);
  locate_byte (text, (size_t) (end - text), &line, &column);

  if (*end == '\0')
    g_set_error (error, WEFT_ERROR, WEFT_ERROR_BINARY,
                 _("“%s” contains NUL bytes (line %zu, column %zu): it looks like a binary file, not text"),
                 display, line, column);
  else
    g_set_error (error, WEFT_ERROR, WEFT_ERROR_INVALID_UTF8,
                 _("“%s” is not valid UTF-8 text (first invalid byte at line %zu, column %zu)"),
                 display, line, column);
  return FALSE;
}

static gboolean
check_regular (const char        *path,
               const struct stat *st,
               GError           **error)
{
  g_autofree char *display = NULL;

  if (S_ISREG (st->st_mode))
    return TRUE;

  display = g_filename_display_basename (path);
  if (S_ISDIR (st->st_mode))
    g_set_error (error, WEFT_ERROR, WEFT_ERROR_IS_DIRECTORY,
                 _("“%s” is a folder, not a file"), display);
  else
    g_set_error (error, WEFT_ERROR, WEFT_ERROR_NOT_REGULAR_FILE,
                 _("“%s” is not a regular file (it is a pipe, socket or device)"), display);
  return FALSE;
}

gboolean
weft_file_read_utf8 (const char  *path,
                     char       **out_text,
                     size_t      *out_len,
                     GError     **error)
{
  struct stat st;
  int fd;
  g_autofree char *buf = NULL;
  size_t cap, len = 0;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (out_text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Look before opening: opening a FIFO for reading blocks until a writer
   * appears, and opening some devices has side effects. */
  if (stat (path, &st) != 0)
    {
      set_errno_error (error, errno, path, _("Could not open “%s”: %s"));
      return FALSE;
    }
  if (!check_regular (path, &st, error))
    return FALSE;

  /* O_NONBLOCK too, in case the path was swapped for a FIFO since the stat. */
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    {
      set_errno_error (error, errno, path, _("Could not open “%s”: %s"));
      return FALSE;
    }
  if (fstat (fd, &st) != 0 || !check_regular (path, &st, error))
    {
      if (error != NULL && *error == NULL)
        set_errno_error (error, errno, path, _("Could not read “%s”: %s"));
      close (fd);
      return FALSE;
    }
  if ((uintmax_t) st.st_size >= SIZE_MAX / 2)
    {
      close (fd);
      set_errno_error (error, EOVERFLOW, path, _("Could not read “%s”: %s"));
      return FALSE;
    }

  /* The size is a hint: the file may grow or shrink while we read it. */
  cap = (size_t) st.st_size + 1;
  buf = g_try_malloc (cap);
  if (buf == NULL)
    {
      close (fd);
      set_errno_error (error, ENOMEM, path, _("Could not read “%s”: %s"));
      return FALSE;
    }

  for (;;)
    {
      ssize_t n;

      if (len + 1 >= cap)
        {
          char *bigger;

          cap = cap * 2 + 4096;
          bigger = g_try_realloc (buf, cap);
          if (bigger == NULL)
            {
              close (fd);
              set_errno_error (error, ENOMEM, path, _("Could not read “%s”: %s"));
              return FALSE;
            }
          buf = bigger;
        }

      n = read (fd, buf + len, cap - len - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int errsv = errno;

          close (fd);
          set_errno_error (error, errsv, path, _("Could not read “%s”: %s"));
          return FALSE;
        }
      if (n == 0)
        break;
      len += (size_t) n;
    }
  close (fd);
  buf[len] = '\0';

  if (!check_text (path, buf, len, error))
    return FALSE;

  *out_text = g_steal_pointer (&buf);
  if (out_len != NULL)
    *out_len = len;
  return TRUE;
}

char *
weft_file_resolve_link (const char *path)
{
  g_autofree char *current = g_strdup (path);

  g_return_val_if_fail (path != NULL, NULL);

  for (int depth = 0; depth < MAX_LINK_DEPTH; depth++)
    {
      g_autofree char *target = g_file_read_link (current, NULL);
      g_autofree char *dir = NULL;

      if (target == NULL)
        break;
      if (g_path_is_absolute (target))
        {
          g_free (current);
          current = g_steal_pointer (&target);
          continue;
        }
      dir = g_path_get_dirname (current);
      g_free (current);
      current = g_build_filename (dir, target, NULL);
    }

  return g_steal_pointer (&current);
}

static int
create_temp_beside (const char  *target,
                    mode_t       mode,
                    char       **out_tmp_path)
{
  g_autofree char *dir = g_path_get_dirname (target);
  g_autofree char *base = g_path_get_basename (target);

  for (int attempt = 0; attempt < 100; attempt++)
    {
      g_autofree char *name = g_strdup_printf (".%s.weft-%08x", base, g_random_int ());
      g_autofree char *tmp = g_build_filename (dir, name, NULL);
      /* The umask applies, as to any new file; an existing target's mode is
       * copied onto it below. */
      int fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, mode);

      if (fd >= 0)
        {
          *out_tmp_path = g_steal_pointer (&tmp);
          return fd;
        }
      if (errno != EEXIST)
        return -1;
    }
  errno = EEXIST;
  return -1;
}

static void
fsync_directory_of (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  /* Some file systems refuse fsync on directories (EINVAL); the rename itself
   * has succeeded, so that is not an error for the caller. */
  if (dfd >= 0)
    {
      (void) fsync (dfd);
      close (dfd);
    }
}

typedef struct
{
  const char *data;
  size_t      len;
  gboolean    done;
} OneChunk;

static gboolean
next_one_chunk (gpointer     user_data,
                const char **out_data,
                size_t      *out_len)
{
  OneChunk *chunk = user_data;

  if (chunk->done)
    return FALSE;
  chunk->done = TRUE;
  *out_data = chunk->data;
  *out_len = chunk->len;
  return TRUE;
}

gboolean
weft_file_write_atomic (const char  *path,
                        const char  *data,
                        size_t       len,
                        GError     **error)
{
  return weft_file_write_atomic_mode (path, 0666, data, len, error);
}

gboolean
weft_file_write_atomic_mode (const char    *path,
                             unsigned int   new_file_mode,
                             const char    *data,
                             size_t         len,
                             GError       **error)
{
  OneChunk chunk = { data, len, FALSE };

  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  return weft_file_write_atomic_full (path, new_file_mode, next_one_chunk, &chunk, error);
}

gboolean
weft_file_write_atomic_chunks (const char         *path,
                               WeftFileChunkFunc   next_chunk,
                               gpointer            user_data,
                               GError            **error)
{
  return weft_file_write_atomic_full (path, 0666, next_chunk, user_data, error);
}

struct _WeftFileTemp
{
  char *path;      /* as the caller named it, for messages */
  char *target;    /* @path with symbolic links resolved: what gets replaced */
  char *tmp_path;  /* the temp file beside @target */
  int   fd;        /* open for writing on @tmp_path; -1 once closed */
};

static void
file_temp_free (WeftFileTemp *temp)
{
  g_free (temp->path);
  g_free (temp->target);
  g_free (temp->tmp_path);
  g_free (temp);
}

WeftFileTemp *
weft_file_temp_new (const char    *path,
                    unsigned int   new_file_mode,
                    GError       **error)
{
  g_autofree char *target = NULL;
  WeftFileTemp *temp;
  struct stat st;
  gboolean exists;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  target = weft_file_resolve_link (path);

  exists = stat (target, &st) == 0;
  if (!exists && errno != ENOENT)
    {
      set_errno_error (error, errno, path, _("Could not save “%s”: %s"));
      return NULL;
    }
  if (exists && !check_regular (path, &st, error))
    return NULL;
  /* Renaming over a file only needs the directory to be writable; an editor
   * must not replace a file its user may not write to. */
  if (exists && access (target, W_OK) != 0)
    {
      set_errno_error (error, errno, path, _("Could not save “%s”: %s"));
      return NULL;
    }

  temp = g_new0 (WeftFileTemp, 1);
  fd = create_temp_beside (target, (mode_t) (new_file_mode & 07777), &temp->tmp_path);
  if (fd < 0)
    {
      set_errno_error (error, errno, path,
                       _("Could not save “%s”: creating a temporary file beside it failed: %s"));
      file_temp_free (temp);
      return NULL;
    }
  temp->fd = fd;
  temp->path = g_strdup (path);
  temp->target = g_steal_pointer (&target);

  if (exists)
    {
      if (fchmod (fd, st.st_mode & 07777) != 0)
        {
          int errsv = errno;

          weft_file_temp_abort (temp);
          set_errno_error (error, errsv, path,
                           _("Could not save “%s”: keeping its permissions failed: %s"));
          return NULL;
        }
      /* Only root or the owner can do this; a different owner is kept where
       * the system allows it and silently becomes the user's otherwise. */
      (void) fchown (fd, st.st_uid, st.st_gid);
    }

  return temp;
}

int
weft_file_temp_get_fd (WeftFileTemp *temp)
{
  g_return_val_if_fail (temp != NULL, -1);

  return temp->fd;
}

const char *
weft_file_temp_get_path (WeftFileTemp *temp)
{
  g_return_val_if_fail (temp != NULL, NULL);

  return temp->tmp_path;
}

static gboolean
sync_fd (int          fd,
         const char  *path,
         GError     **error)
{
  if (fsync (fd) != 0)
    {
      set_errno_error (error, errno, path,
                       _("Could not save “%s”: flushing to disk failed: %s"));
      return FALSE;
    }
  return TRUE;
}

/* Pieces are gathered into one writev() of up to this many bytes, so that a
 * rope's 2 KiB leaves cost a system call per batch rather than per leaf, and
 * cancellation is checked between batches. */
#define WRITE_BATCH_BYTES (1024 * 1024)
#define WRITE_BATCH_PIECES 512

static gboolean
writev_all (int           fd,
            struct iovec *iov,
            int           n_iov,
            int          *out_errno)
{
  while (n_iov > 0)
    {
      ssize_t n = writev (fd, iov, n_iov);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          *out_errno = n < 0 ? errno : ENOSPC;
          return FALSE;
        }
      /* A short write: skip what went out and retry the rest. */
      while (n_iov > 0 && (size_t) n >= iov->iov_len)
        {
          n -= (ssize_t) iov->iov_len;
          iov++;
          n_iov--;
        }
      if (n_iov > 0)
        {
          iov->iov_base = (char *) iov->iov_base + n;
          iov->iov_len -= (size_t) n;
        }
    }
  return TRUE;
}

gboolean
weft_file_write_fd (int                 fd,
                    const char         *path,
                    WeftFileChunkFunc   next_chunk,
                    gpointer            user_data,
                    WeftFileCancelFunc  is_cancelled,
                    gpointer            cancel_data,
                    GError            **error)
{
  struct iovec iov[WRITE_BATCH_PIECES];
  const char *piece = NULL;
  size_t piece_len = 0;
  gboolean more = TRUE;
  int errsv = 0;

  g_return_val_if_fail (fd >= 0, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (next_chunk != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  while (more || piece_len > 0)
    {
      int n_iov = 0;
      size_t batch = 0;

      if (is_cancelled != NULL && is_cancelled (cancel_data))
        {
          g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_CANCELLED,
                               "The job was cancelled");
          return FALSE;
        }

      while (n_iov < WRITE_BATCH_PIECES && batch < WRITE_BATCH_BYTES)
        {
          size_t n;

          if (piece_len == 0)
            {
              if (!more || !next_chunk (user_data, &piece, &piece_len))
                {
                  more = FALSE;
                  piece_len = 0;
                  break;
                }
              if (piece_len == 0)
                continue;
            }
          /* A large flat piece is cut so that batches stay bounded. */
          n = MIN (piece_len, (size_t) WRITE_BATCH_BYTES - batch);
          iov[n_iov].iov_base = (void *) piece;
          iov[n_iov].iov_len = n;
          n_iov++;
          batch += n;
          piece += n;
          piece_len -= n;
        }

      if (n_iov > 0 && !writev_all (fd, iov, n_iov, &errsv))
        {
          set_errno_error (error, errsv, path, _("Could not save “%s”: writing failed: %s"));
          return FALSE;
        }
    }

  return sync_fd (fd, path, error);
}

#define COPY_BUFFER_BYTES (64 * 1024)

/* Moves up to @len bytes the slow way, through @buf (COPY_BUFFER_BYTES),
 * where the file system cannot splice. */
static ssize_t
copy_through_buffer (int     out_fd,
                     int     in_fd,
                     size_t  len,
                     char   *buf)
{
  ssize_t n = read (in_fd, buf, MIN (len, (size_t) COPY_BUFFER_BYTES));
  int errsv;

  if (n <= 0)
    return n;
  {
    struct iovec iov = { buf, (size_t) n };

    if (!writev_all (out_fd, &iov, 1, &errsv))
      {
        errno = errsv;
        return -1;
      }
  }
  return n;
}

gboolean
weft_file_copy_fd (int                 out_fd,
                   const char         *path,
                   int                 in_fd,
                   size_t              len,
                   WeftFileCancelFunc  is_cancelled,
                   gpointer            cancel_data,
                   GError            **error)
{
  g_autofree char *buf = NULL;  /* only once splice() is refused */
  size_t done = 0;

  g_return_val_if_fail (out_fd >= 0, FALSE);
  g_return_val_if_fail (in_fd >= 0 || len == 0, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* splice() moves the pipe's pages into the file's page cache: the one
   * copy a plain write() makes too. The sender vmsplice()d them from its
   * own memory, so nothing else copies the text on the way. */
  while (done < len)
    {
      size_t want = MIN (len - done, (size_t) WRITE_BATCH_BYTES);
      ssize_t n;

      if (is_cancelled != NULL && is_cancelled (cancel_data))
        {
          g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_CANCELLED,
                               "The job was cancelled");
          return FALSE;
        }
      if (buf == NULL)
        n = splice (in_fd, NULL, out_fd, NULL, want, SPLICE_F_MOVE | SPLICE_F_MORE);
      else
        n = copy_through_buffer (out_fd, in_fd, want, buf);
      if (n < 0 && errno == EINTR)
        continue;
      /* Some file systems cannot splice into a file. */
      if (n < 0 && buf == NULL && errno == EINVAL)
        {
          buf = g_malloc (COPY_BUFFER_BYTES);
          continue;
        }
      /* The sender stops feeding a cancelled job: its early end is the
       * cancel, not an I/O error. */
      if (n <= 0 && is_cancelled != NULL && is_cancelled (cancel_data))
        {
          g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_CANCELLED,
                               "The job was cancelled");
          return FALSE;
        }
      if (n <= 0)
        {
          /* A pipe that ends early otherwise is the sender's fault (it went
           * away), but the save fails the same way: nothing is renamed. */
          set_errno_error (error, n < 0 ? errno : EIO, path,
                           _("Could not save “%s”: writing failed: %s"));
          return FALSE;
        }
      done += (size_t) n;
    }

  return sync_fd (out_fd, path, error);
}

gboolean
weft_file_temp_commit (WeftFileTemp  *temp,
                       GError       **error)
{
  int rc, errsv;

  g_return_val_if_fail (temp != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* On some file systems (NFS) a write error only shows at close. */
  rc = close (temp->fd);
  temp->fd = -1;
  if (rc != 0)
    {
      errsv = errno;
      set_errno_error (error, errsv, temp->path, _("Could not save “%s”: writing failed: %s"));
      weft_file_temp_abort (temp);
      return FALSE;
    }

  if (rename (temp->tmp_path, temp->target) != 0)
    {
      errsv = errno;
      set_errno_error (error, errsv, temp->path,
                       _("Could not save “%s”: replacing the file failed: %s"));
      weft_file_temp_abort (temp);
      return FALSE;
    }

  fsync_directory_of (temp->target);
  file_temp_free (temp);
  return TRUE;
}

void
weft_file_temp_abort (WeftFileTemp *temp)
{
  if (temp == NULL)
    return;

  if (temp->fd >= 0)
    close (temp->fd);
  (void) unlink (temp->tmp_path);
  file_temp_free (temp);
}

gboolean
weft_file_write_atomic_full (const char         *path,
                             unsigned int        new_file_mode,
                             WeftFileChunkFunc   next_chunk,
                             gpointer            user_data,
                             GError            **error)
{
  WeftFileTemp *temp;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (next_chunk != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  temp = weft_file_temp_new (path, new_file_mode, error);
  if (temp == NULL)
    return FALSE;
  if (!weft_file_write_fd (temp->fd, path, next_chunk, user_data, NULL, NULL, error))
    {
      weft_file_temp_abort (temp);
      return FALSE;
    }
  return weft_file_temp_commit (temp, error);
}
