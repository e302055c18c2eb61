/* weft-job.c: job inputs and the one implementation of every job kind. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft-file.h"
#include "weft-job-private.h"
#include "weft-memory.h"
#include "weft-parallel.h"
#include "weft-sort.h"
#include "weft-spell-job.h"

/* How much input a job reads between two cancellation checks: small enough
 * that a cancel is seen within a millisecond or so, large enough that the
 * check costs nothing. */
#define CANCEL_CHECK_BYTES (64 * 1024)

gboolean
weft_job_kind_is_valid (guint32 kind)
{
  switch (kind)
    {
    case WEFT_JOB_BENCH:
    case WEFT_JOB_ECHO:
    case WEFT_JOB_SAVE:
    case WEFT_JOB_SORT_RUN:
    case WEFT_JOB_SORT_MERGE:
    case WEFT_JOB_SORT_BUCKET:
    case WEFT_JOB_SPELL_CHECK:
    case WEFT_JOB_SPELL_SUGGEST:
    case WEFT_JOB_TEST_CRASH:
    case WEFT_JOB_TEST_OPEN_PATH:
    case WEFT_JOB_TEST_HANG:
      return TRUE;
    default:
      return FALSE;
    }
}

gboolean
weft_job_kind_needs_process (WeftJobKind kind)
{
  return kind == WEFT_JOB_TEST_CRASH || kind == WEFT_JOB_TEST_HANG;
}

gboolean
weft_job_kind_has_large_output (WeftJobKind kind)
{
  return kind == WEFT_JOB_SORT_RUN || kind == WEFT_JOB_SORT_MERGE || kind == WEFT_JOB_SORT_BUCKET;
}

const char *
weft_job_kind_name (WeftJobKind kind)
{
  switch (kind)
    {
    case WEFT_JOB_BENCH:
      return "bench";
    case WEFT_JOB_ECHO:
      return "echo";
    case WEFT_JOB_SAVE:
      return "save";
    case WEFT_JOB_SORT_RUN:
      return "sort-run";
    case WEFT_JOB_SORT_MERGE:
      return "sort-merge";
    case WEFT_JOB_SORT_BUCKET:
      return "sort-bucket";
    case WEFT_JOB_SPELL_CHECK:
      return "spell-check";
    case WEFT_JOB_SPELL_SUGGEST:
      return "spell-suggest";
    case WEFT_JOB_TEST_CRASH:
      return "test-crash";
    case WEFT_JOB_TEST_OPEN_PATH:
      return "test-open-path";
    case WEFT_JOB_TEST_HANG:
      return "test-hang";
    default:
      return "unknown";
    }
}

void
weft_job_input_init (WeftJobInput            *input,
                     const WeftJobInputClass *klass)
{
  input->klass = klass;
  atomic_init (&input->ref_count, 1);
  pthread_mutex_init (&input->cache_lock, NULL);
  input->flat_done = FALSE;
  input->flat = NULL;
  input->flat_copy = NULL;
  input->memfds.n_fds = 0;
}

/* Big buffers and memfds are released on a release thread: closing the
 * memfd of a 63 MB input took 27 ms, and the last reference to an input is
 * often dropped on the main thread. */
#define RELEASE_ASIDE_BYTES (1024 * 1024)

/* Something to free, and how. */
typedef struct
{
  GDestroyNotify free_func;
  gpointer       data;
} Release;

static void
release (gpointer item,
         gpointer unused)
{
  Release *r = item;

  r->free_func (r->data);
  g_free (r);
}

/* Frees @data with @free_func on the one thread, made on first use and
 * kept for the process's life, that every large release goes to. */
static void
release_aside (GDestroyNotify free_func,
               gpointer       data)
{
  static GThreadPool *pool;
  static gsize made;
  Release *r = g_new (Release, 1);

  if (g_once_init_enter (&made))
    {
      pool = g_thread_pool_new (release, NULL, 1, FALSE, NULL);
      g_once_init_leave (&made, 1);
    }
  r->free_func = free_func;
  r->data = data;
  g_thread_pool_push (pool, r, NULL);
}

void
weft_free_aside (gpointer mem,
                 size_t   size)
{
  if (mem == NULL)
    return;
  if (size >= RELEASE_ASIDE_BYTES)
    release_aside (g_free, mem);
  else
    g_free (mem);
}

/* Frees @input with what it caches: its memfds, its flat copy, and what
 * its class holds (a snapshot's last reference, a sort's runs). */
static void
destroy_input (gpointer data)
{
  WeftJobInput *input = data;

  pthread_mutex_destroy (&input->cache_lock);
  for (guint i = 0; i < input->memfds.n_fds; i++)
    close (input->memfds.fds[i]);
  g_free (input->flat_copy);
  input->klass->finalize (input);
}

/* Inputs smaller than this are made flat by one thread. */
#define FLAT_PARALLEL_MIN_BYTES (4 * 1024 * 1024)

typedef struct
{
  WeftJobInput *input;
  char         *dest;
  size_t        offset;
  size_t        len;
} FlatPiece;

static void *
copy_flat_piece (void *data)
{
  FlatPiece *piece = data;

  weft_job_input_copy (piece->input, piece->offset, piece->dest + piece->offset, piece->len);
  return NULL;
}

/* Copies all of @input into @dest, a slice per core, side by side. A
 * snapshot of 63 MB (41,000 leaves) took 59-76 ms on one thread into
 * fresh 4 KiB pages, 19-21 ms into pages already there: the faults cost
 * more than the copying. On huge pages (weft_alloc_large()) and two
 * threads it took 13-21 ms. */
static void
copy_flat (WeftJobInput *input,
           char         *dest,
           size_t        size)
{
  FlatPiece pieces[WEFT_PARALLEL_MAX];
  guint n = 1;
  size_t piece_len;

  if (size >= FLAT_PARALLEL_MIN_BYTES)
    n = CLAMP (g_get_num_processors (), 1, WEFT_PARALLEL_MAX);
  piece_len = size / n;
  for (guint i = 0; i < n; i++)
    {
      pieces[i].input = input;
      pieces[i].dest = dest;
      pieces[i].offset = i * piece_len;
      pieces[i].len = i + 1 < n ? piece_len : size - pieces[i].offset;
    }
  weft_run_parallel (copy_flat_piece, pieces, sizeof (FlatPiece), n);
}

const char *
weft_job_input_get_flat (WeftJobInput *input)
{
  size_t size, chunk_len;
  const char *chunk;

  g_return_val_if_fail (input != NULL, NULL);

  size = weft_job_input_get_size (input);
  if (size == 0)
    return "";
  chunk = weft_job_input_get_chunk (input, 0, &chunk_len);
  if (chunk_len >= size)
    return chunk;

  pthread_mutex_lock (&input->cache_lock);
  if (!input->flat_done)
    {
      input->flat_copy = weft_alloc_large (size);
      copy_flat (input, input->flat_copy, size);
      input->flat = input->flat_copy;
      input->flat_done = TRUE;
    }
  pthread_mutex_unlock (&input->cache_lock);
  return input->flat;
}

gboolean
weft_job_input_get_memfds (WeftJobInput          *input,
                           WeftJobInputMemfdFunc  make,
                           WeftJobInputMemfds    *out,
                           GError               **error)
{
  gboolean ok = TRUE;

  pthread_mutex_lock (&input->cache_lock);
  if (input->memfds.n_fds == 0)
    ok = make (input, &input->memfds, error);
  *out = input->memfds;
  pthread_mutex_unlock (&input->cache_lock);
  return ok;
}

WeftJobInput *
weft_job_input_ref (WeftJobInput *input)
{
  g_return_val_if_fail (input != NULL, NULL);

  atomic_fetch_add_explicit (&input->ref_count, 1, memory_order_relaxed);
  return input;
}

void
weft_job_input_unref (WeftJobInput *input)
{
  if (input == NULL)
    return;

  /* acq_rel: the thread that frees must see every other holder's reads done. */
  if (atomic_fetch_sub_explicit (&input->ref_count, 1, memory_order_acq_rel) != 1)
    return;
  /* Every class's finalize may run on any thread. Freeing a sort's runs,
   * the last reference to which the main thread dropped, took 11 ms; other
   * threads (workers, a worker process) have no loop to keep answering. */
  if (weft_job_input_get_size (input) >= RELEASE_ASIDE_BYTES &&
      g_main_context_is_owner (g_main_context_default ()))
    release_aside (destroy_input, input);
  else
    destroy_input (input);
}

size_t
weft_job_input_get_size (WeftJobInput *input)
{
  return input->klass->get_size (input);
}

const void *
weft_job_input_get_chunk (WeftJobInput *input,
                          size_t        byte_off,
                          size_t       *out_len)
{
  g_assert (byte_off < weft_job_input_get_size (input));

  return input->klass->get_chunk (input, byte_off, out_len);
}

void
weft_job_input_copy (WeftJobInput *input,
                     size_t        byte_off,
                     void         *dest,
                     size_t        len)
{
  guint8 *out = dest;

  g_assert (byte_off <= weft_job_input_get_size (input));
  g_assert (len <= weft_job_input_get_size (input) - byte_off);

  while (len > 0)
    {
      size_t chunk_len;
      const void *chunk = weft_job_input_get_chunk (input, byte_off, &chunk_len);
      size_t n = MIN (chunk_len, len);

      memcpy (out, chunk, n);
      out += n;
      byte_off += n;
      len -= n;
    }
}

/* Contiguous memory: a GBytes, or a mapping kept alive by the caller. */
typedef struct
{
  WeftJobInput  parent;
  GBytes       *bytes;    /* NULL for static memory */
  const guint8 *data;
  size_t        len;
} FlatInput;

static size_t
flat_input_get_size (WeftJobInput *input)
{
  return ((FlatInput *) input)->len;
}

static const void *
flat_input_get_chunk (WeftJobInput *input,
                      size_t        byte_off,
                      size_t       *out_len)
{
  FlatInput *self = (FlatInput *) input;

  *out_len = self->len - byte_off;
  return self->data + byte_off;
}

static void
flat_input_finalize (WeftJobInput *input)
{
  FlatInput *self = (FlatInput *) input;

  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_free (self);
}

static const WeftJobInputClass flat_input_class = {
  flat_input_get_size,
  flat_input_get_chunk,
  flat_input_finalize,
};

WeftJobInput *
weft_job_input_new_bytes (GBytes *bytes)
{
  FlatInput *self;
  gsize len;

  g_return_val_if_fail (bytes != NULL, NULL);

  self = g_new0 (FlatInput, 1);
  weft_job_input_init (&self->parent, &flat_input_class);
  self->bytes = g_bytes_ref (bytes);
  self->data = g_bytes_get_data (bytes, &len);
  self->len = len;
  return &self->parent;
}

WeftJobInput *
weft_job_input_new_static (const void *data,
                           size_t      len)
{
  FlatInput *self;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  self = g_new0 (FlatInput, 1);
  weft_job_input_init (&self->parent, &flat_input_class);
  self->data = data;
  self->len = len;
  return &self->parent;
}

/* Byte blocks end to end. */
typedef struct
{
  WeftJobInput  parent;
  guint         n_pieces;
  GBytes      **pieces;
  size_t       *starts;  /* n_pieces + 1 */
} PiecesInput;

static size_t
pieces_input_get_size (WeftJobInput *input)
{
  PiecesInput *self = (PiecesInput *) input;

  return self->starts[self->n_pieces];
}

static const void *
pieces_input_get_chunk (WeftJobInput *input,
                        size_t        byte_off,
                        size_t       *out_len)
{
  PiecesInput *self = (PiecesInput *) input;
  guint lo = 0, hi = self->n_pieces;

  /* The last piece starting at or before byte_off and not empty. */
  while (hi - lo > 1)
    {
      guint mid = (lo + hi) / 2;

      if (self->starts[mid] <= byte_off)
        lo = mid;
      else
        hi = mid;
    }
  while (self->starts[lo + 1] <= byte_off)
    lo++;
  *out_len = self->starts[lo + 1] - byte_off;
  return (const guint8 *) g_bytes_get_data (self->pieces[lo], NULL) + (byte_off - self->starts[lo]);
}

static void
pieces_input_finalize (WeftJobInput *input)
{
  PiecesInput *self = (PiecesInput *) input;

  for (guint i = 0; i < self->n_pieces; i++)
    g_bytes_unref (self->pieces[i]);
  g_free (self->pieces);
  g_free (self->starts);
  g_free (self);
}

static const WeftJobInputClass pieces_input_class = {
  pieces_input_get_size,
  pieces_input_get_chunk,
  pieces_input_finalize,
};

WeftJobInput *
weft_job_input_new_pieces (GBytes * const *pieces,
                           guint           n_pieces)
{
  PiecesInput *self;

  g_return_val_if_fail (pieces != NULL || n_pieces == 0, NULL);

  self = g_new0 (PiecesInput, 1);
  self->n_pieces = n_pieces;
  self->pieces = g_new (GBytes *, MAX (1, n_pieces));
  self->starts = g_new0 (size_t, n_pieces + 1);
  for (guint i = 0; i < n_pieces; i++)
    {
      self->pieces[i] = g_bytes_ref (pieces[i]);
      self->starts[i + 1] = self->starts[i] + g_bytes_get_size (pieces[i]);
    }
  weft_job_input_init (&self->parent, &pieces_input_class);
  return &self->parent;
}

/* A text snapshot: chunks come straight from the rope's leaves. */
typedef struct
{
  WeftJobInput  parent;
  WeftSnapshot *snap;  /* immutable, so any thread may read it */
  size_t        start; /* the input is the snapshot's bytes [start, start + len) */
  size_t        len;
} SnapshotInput;

static size_t
snapshot_input_get_size (WeftJobInput *input)
{
  return ((SnapshotInput *) input)->len;
}

static const void *
snapshot_input_get_chunk (WeftJobInput *input,
                          size_t        byte_off,
                          size_t       *out_len)
{
  SnapshotInput *self = (SnapshotInput *) input;
  WeftChunkIter iter;
  const char *data = NULL;
  size_t len = 0;

  /* The iterator lives on the stack, so concurrent readers share nothing
   * but the immutable tree. */
  weft_chunk_iter_init (&iter, self->snap, self->start + byte_off, self->len - byte_off);
  if (!weft_chunk_iter_next (&iter, &data, &len))
    g_assert_not_reached ();
  *out_len = MIN (len, self->len - byte_off);
  return data;
}

static void
snapshot_input_finalize (WeftJobInput *input)
{
  SnapshotInput *self = (SnapshotInput *) input;

  weft_snapshot_unref (self->snap);
  g_free (self);
}

static const WeftJobInputClass snapshot_input_class = {
  snapshot_input_get_size,
  snapshot_input_get_chunk,
  snapshot_input_finalize,
};

WeftJobInput *
weft_job_input_new_snapshot (WeftSnapshot *snap)
{
  g_return_val_if_fail (snap != NULL, NULL);

  return weft_job_input_new_snapshot_range (snap, 0, weft_snapshot_get_n_bytes (snap));
}

WeftJobInput *
weft_job_input_new_snapshot_range (WeftSnapshot *snap,
                                   size_t        byte_off,
                                   size_t        len)
{
  SnapshotInput *self;

  g_return_val_if_fail (snap != NULL, NULL);
  g_return_val_if_fail (byte_off <= weft_snapshot_get_n_bytes (snap), NULL);
  g_return_val_if_fail (len <= weft_snapshot_get_n_bytes (snap) - byte_off, NULL);

  self = g_new0 (SnapshotInput, 1);
  weft_job_input_init (&self->parent, &snapshot_input_class);
  self->snap = weft_snapshot_ref (snap);
  self->start = byte_off;
  self->len = len;
  return &self->parent;
}

#define FNV_OFFSET G_GUINT64_CONSTANT (0xcbf29ce484222325)
#define FNV_PRIME  G_GUINT64_CONSTANT (0x100000001b3)

guint64
weft_job_fnv1a (guint64     seed,
                const void *data,
                size_t      len)
{
  const guint8 *p = data;
  guint64 h = seed;

  for (size_t i = 0; i < len; i++)
    {
      h ^= p[i];
      h *= FNV_PRIME;
    }
  return h;
}

GBytes *
weft_job_bench_options (guint32 rounds)
{
  guint32 le = GUINT32_TO_LE (rounds);

  return g_bytes_new (&le, sizeof le);
}

static gboolean
check_cancelled (WeftJobCancelFunc   is_cancelled,
                 gpointer            cancel_data,
                 GError            **error)
{
  if (is_cancelled != NULL && is_cancelled (cancel_data))
    {
      g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_CANCELLED,
                           _("The job was cancelled"));
      return TRUE;
    }
  return FALSE;
}

GBytes *
weft_job_save_options (const char *path,
                       guint32     new_file_mode)
{
  GByteArray *out;
  size_t path_len;
  guint32 le;

  g_return_val_if_fail (path != NULL, NULL);

  path_len = strlen (path);
  out = g_byte_array_sized_new (8 + path_len);
  le = GUINT32_TO_LE (new_file_mode);
  g_byte_array_append (out, (const guint8 *) &le, sizeof le);
  le = GUINT32_TO_LE ((guint32) MIN (path_len, G_MAXUINT32));
  g_byte_array_append (out, (const guint8 *) &le, sizeof le);
  g_byte_array_append (out, (const guint8 *) path, path_len);
  return g_byte_array_free_to_bytes (out);
}

static gboolean
bad_save_options (GError     **error,
                  const char  *what)
{
  g_set_error (error, WEFT_ERROR, WEFT_ERROR_FAILED,
               _("Malformed options for a save job: %s"), what);
  return FALSE;
}

gboolean
weft_job_save_options_parse (GBytes   *options,
                             char    **out_path,
                             guint32  *out_new_file_mode,
                             GError  **error)
{
  const guint8 *data;
  gsize len = 0;
  guint32 mode, path_len;

  g_return_val_if_fail (out_path != NULL, FALSE);
  g_return_val_if_fail (out_new_file_mode != NULL, FALSE);

  /* Options may come from another process: each field is checked before
   * the next is read. */
  data = options != NULL ? g_bytes_get_data (options, &len) : NULL;
  if (len < 2 * sizeof (guint32))
    return bad_save_options (error, "too short");
  memcpy (&mode, data, sizeof mode);
  mode = GUINT32_FROM_LE (mode);
  if (mode > 07777)
    return bad_save_options (error, "bad mode");
  memcpy (&path_len, data + 4, sizeof path_len);
  path_len = GUINT32_FROM_LE (path_len);
  if (path_len == 0 || path_len > WEFT_JOB_SAVE_MAX_PATH)
    return bad_save_options (error, "bad path length");
  if (path_len != len - 8)
    return bad_save_options (error, "path length does not match");
  if (memchr (data + 8, '\0', path_len) != NULL)
    return bad_save_options (error, "NUL in the path");
  if (data[8] != '/')
    return bad_save_options (error, "relative path");

  *out_path = g_strndup ((const char *) data + 8, path_len);
  *out_new_file_mode = mode;
  return TRUE;
}

/* Hands out an input's chunks to weft_file_write_fd(). */
typedef struct
{
  WeftJobInput *input;  /* nullable: nothing to write */
  size_t        off;
} InputCursor;

static gboolean
input_cursor_next (gpointer     user_data,
                   const char **out_data,
                   size_t      *out_len)
{
  InputCursor *cursor = user_data;

  if (cursor->input == NULL || cursor->off >= weft_job_input_get_size (cursor->input))
    return FALSE;
  *out_data = weft_job_input_get_chunk (cursor->input, cursor->off, out_len);
  cursor->off += *out_len;
  return TRUE;
}

static gboolean
run_save (WeftJobInput       *input,
          GBytes             *options,
          WeftJobCancelFunc   is_cancelled,
          gpointer            cancel_data,
          GBytes            **out_result,
          GError            **error)
{
  g_autofree char *path = NULL;
  InputCursor cursor = { input, 0 };
  WeftFileTemp *temp;
  guint32 mode;

  if (!weft_job_save_options_parse (options, &path, &mode, error))
    return FALSE;

  /* weft_file_write_atomic_full()'s steps, taken one by one so that a
   * cancelled save stops before the rename and leaves the target alone. */
  temp = weft_file_temp_new (path, mode, error);
  if (temp == NULL)
    return FALSE;
  if (!weft_file_write_fd (weft_file_temp_get_fd (temp), path, input_cursor_next, &cursor,
                           is_cancelled, cancel_data, error))
    {
      weft_file_temp_abort (temp);
      return FALSE;
    }
  if (check_cancelled (is_cancelled, cancel_data, error))
    {
      weft_file_temp_abort (temp);
      return FALSE;
    }
  if (!weft_file_temp_commit (temp, error))
    return FALSE;

  *out_result = g_bytes_new (NULL, 0);
  return TRUE;
}

gboolean
weft_job_run_save_to_fd (int                 input_fd,
                         size_t              input_len,
                         GBytes             *options,
                         int                 fd,
                         WeftJobCancelFunc   is_cancelled,
                         gpointer            cancel_data,
                         GBytes            **out_result,
                         GError            **error)
{
  g_autofree char *path = NULL;
  guint32 mode;

  g_return_val_if_fail (fd >= 0, FALSE);
  g_return_val_if_fail (input_fd >= 0 || input_len == 0, FALSE);
  g_return_val_if_fail (out_result != NULL && *out_result == NULL, FALSE);

  if (check_cancelled (is_cancelled, cancel_data, error))
    return FALSE;
  if (!weft_job_save_options_parse (options, &path, &mode, error))
    return FALSE;
  if (!weft_file_copy_fd (fd, path, input_fd, input_len, is_cancelled, cancel_data, error))
    return FALSE;

  *out_result = g_bytes_new (NULL, 0);
  return TRUE;
}

static gboolean
run_bench (WeftJobInput       *input,
           GBytes             *options,
           WeftJobCancelFunc   is_cancelled,
           gpointer            cancel_data,
           GBytes            **out_result,
           GError            **error)
{
  size_t size = input != NULL ? weft_job_input_get_size (input) : 0;
  guint32 rounds = 1;
  guint64 h = FNV_OFFSET;
  size_t since_check = 0;

  if (options != NULL && g_bytes_get_size (options) > 0)
    {
      guint32 le;

      if (g_bytes_get_size (options) != sizeof le)
        {
          g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_FAILED,
                               _("Malformed options for a bench job"));
          return FALSE;
        }
      memcpy (&le, g_bytes_get_data (options, NULL), sizeof le);
      rounds = GUINT32_FROM_LE (le);
    }

  if (rounds == 0)
    {
      for (size_t off = 0; off < size; off += WEFT_JOB_BENCH_PAGE)
        {
          size_t chunk_len;
          const guint8 *chunk = weft_job_input_get_chunk (input, off, &chunk_len);

          h = weft_job_fnv1a (h, chunk, 1);
        }
      h = GUINT64_TO_LE (h);
      *out_result = g_bytes_new (&h, sizeof h);
      return TRUE;
    }

  for (guint32 r = 0; r < rounds; r++)
    {
      size_t off = 0;

      /* An empty input still costs a check per round, so that a job made
       * long by its rounds alone stays cancellable. */
      if (size == 0 && check_cancelled (is_cancelled, cancel_data, error))
        return FALSE;

      while (off < size)
        {
          size_t chunk_len;
          const guint8 *chunk = weft_job_input_get_chunk (input, off, &chunk_len);

          chunk_len = MIN (chunk_len, (size_t) CANCEL_CHECK_BYTES);
          h = weft_job_fnv1a (h, chunk, chunk_len);
          off += chunk_len;
          since_check += chunk_len;
          if (since_check >= CANCEL_CHECK_BYTES)
            {
              since_check = 0;
              if (check_cancelled (is_cancelled, cancel_data, error))
                return FALSE;
            }
        }
    }

  h = GUINT64_TO_LE (h);
  *out_result = g_bytes_new (&h, sizeof h);
  return TRUE;
}

static gboolean
run_echo (WeftJobInput  *input,
          GBytes       **out_result)
{
  size_t size = input != NULL ? weft_job_input_get_size (input) : 0;
  guint8 *copy = g_malloc (size);

  if (size > 0)
    weft_job_input_copy (input, 0, copy, size);
  *out_result = g_bytes_new_take (copy, size);
  return TRUE;
}

static gboolean
run_open_path (GBytes  *options,
               GBytes **out_result,
               GError **error)
{
  g_autofree char *path = NULL;
  gsize len = 0;
  const char *data = options != NULL ? g_bytes_get_data (options, &len) : NULL;
  guint32 result;
  int fd;

  if (len == 0 || memchr (data, '\0', len) != NULL)
    {
      g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_FAILED,
                           _("Malformed path for an open-path job"));
      return FALSE;
    }
  path = g_strndup (data, len);

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      result = 0;
      close (fd);
    }
  else
    result = errno;

  result = GUINT32_TO_LE (result);
  *out_result = g_bytes_new (&result, sizeof result);
  return TRUE;
}

static gboolean
run_sort (WeftJobKind        kind,
          WeftJobInput      *input,
          WeftJobInput      *aux,
          GBytes            *options,
          WeftJobCancelFunc  is_cancelled,
          gpointer           cancel_data,
          GBytes           **out_result,
          GError           **error)
{
  size_t len = input != NULL ? weft_job_input_get_size (input) : 0;
  const char *text = input != NULL ? weft_job_input_get_flat (input) : "";

  if (kind == WEFT_JOB_SORT_RUN)
    return weft_sort_job_sort_run (text, len, options, is_cancelled, cancel_data, out_result, error);
  if (kind == WEFT_JOB_SORT_BUCKET)
    return weft_sort_job_sort_bucket (text, len,
                                      aux != NULL ? weft_job_input_get_flat (aux) : "",
                                      aux != NULL ? weft_job_input_get_size (aux) : 0,
                                      options, is_cancelled, cancel_data, out_result, error);
  return weft_sort_job_merge (text, len,
                              aux != NULL ? weft_job_input_get_flat (aux) : "",
                              aux != NULL ? weft_job_input_get_size (aux) : 0,
                              options, is_cancelled, cancel_data, out_result, error);
}

gboolean
weft_job_run (WeftJobKind        kind,
              WeftJobInput      *input,
              GBytes            *options,
              WeftJobCancelFunc  is_cancelled,
              gpointer           cancel_data,
              GBytes           **out_result,
              GError           **error)
{
  return weft_job_run_full (kind, input, NULL, options, is_cancelled, cancel_data, out_result, error);
}

gboolean
weft_job_run_full (WeftJobKind        kind,
                   WeftJobInput      *input,
                   WeftJobInput      *aux,
                   GBytes            *options,
                   WeftJobCancelFunc  is_cancelled,
                   gpointer           cancel_data,
                   GBytes           **out_result,
                   GError           **error)
{
  g_return_val_if_fail (out_result != NULL && *out_result == NULL, FALSE);

  if (check_cancelled (is_cancelled, cancel_data, error))
    return FALSE;

  switch (kind)
    {
    case WEFT_JOB_BENCH:
      return run_bench (input, options, is_cancelled, cancel_data, out_result, error);
    case WEFT_JOB_ECHO:
      return run_echo (input, out_result);
    case WEFT_JOB_SAVE:
      return run_save (input, options, is_cancelled, cancel_data, out_result, error);
    case WEFT_JOB_SORT_RUN:
    case WEFT_JOB_SORT_MERGE:
    case WEFT_JOB_SORT_BUCKET:
      return run_sort (kind, input, aux, options, is_cancelled, cancel_data, out_result, error);
    case WEFT_JOB_TEST_CRASH:
      abort ();
    case WEFT_JOB_TEST_HANG:
      for (;;)
        pause ();
    case WEFT_JOB_TEST_OPEN_PATH:
      return run_open_path (options, out_result, error);
    case WEFT_JOB_SPELL_CHECK:
    case WEFT_JOB_SPELL_SUGGEST:
      {
        /* Without a worker's kept dictionaries: one is loaded for the job. */
        g_autoptr (WeftSpellWorker) worker = weft_spell_worker_new ();

        return weft_spell_worker_run (worker, kind, input, options, is_cancelled, cancel_data,
                                      out_result, error);
      }
    default:
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_FAILED,
                   _("Unknown job kind %u"), (guint) kind);
      return FALSE;
    }
}
