/* weft-job.c: job inputs and the one implementation of every job kind. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft-job-private.h"

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

const char *
weft_job_kind_name (WeftJobKind kind)
{
  switch (kind)
    {
    case WEFT_JOB_BENCH:
      return "bench";
    case WEFT_JOB_ECHO:
      return "echo";
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
  if (atomic_fetch_sub_explicit (&input->ref_count, 1, memory_order_acq_rel) == 1)
    input->klass->finalize (input);
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
                           "The job was cancelled");
      return TRUE;
    }
  return FALSE;
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
                               "Malformed options for a bench job");
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
                           "Malformed path for an open-path job");
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

gboolean
weft_job_run (WeftJobKind        kind,
              WeftJobInput      *input,
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
    case WEFT_JOB_TEST_CRASH:
      abort ();
    case WEFT_JOB_TEST_HANG:
      for (;;)
        pause ();
    case WEFT_JOB_TEST_OPEN_PATH:
      return run_open_path (options, out_result, error);
    default:
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_FAILED,
                   "Unknown job kind %u", (guint) kind);
      return FALSE;
    }
}
