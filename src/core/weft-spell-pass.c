/* weft-spell-pass.c: cuts a snapshot's lines into SPELL jobs on a backend and gathers their results. */
#include "config.h"

#include <string.h>

#include "weft-error.h"
#include "weft-spell-pass.h"

#define DEFAULT_JOBS_PER_WORKER 8
/* Smaller jobs cost more in queueing and IPC than they spread the work. */
#define MIN_JOB_BYTES (32 * 1024)

/* Everything here belongs to the context the backend delivers to. */
struct _WeftSpellPass
{
  WeftBackend            *backend;   /* not owned: it outlives its jobs' callbacks */
  WeftSnapshot           *snap;
  size_t                  start_byte, end_byte;
  char                   *lang;
  GStrv                   session_words;
  guint64                 owner;
  gboolean                collect;
  WeftSpellPassChunkFunc  chunk_done;
  WeftSpellPassDoneFunc   done;
  gpointer                user_data;

  GHashTable             *in_flight;   /* job id -> JobSpan */
  GArray                 *misspelled;  /* collected ranges, in arrival order */
  guint64                 n_words;
  guint                   n_jobs;
  GError                 *error;       /* the first failure */
  gboolean                cancelled;
};

typedef struct
{
  WeftSpellPass *pass;
  size_t         start_byte, end_byte;
} JobSpan;

static void on_job_done (const WeftJobResult *result,
                         gpointer             user_data);

/* The start of the line holding @byte_off, or @byte_off at the end. */
static size_t
line_start (WeftSnapshot *snap,
            size_t        byte_off)
{
  if (byte_off >= weft_snapshot_get_n_bytes (snap))
    return weft_snapshot_get_n_bytes (snap);
  return weft_snapshot_line_to_byte (snap, weft_snapshot_byte_to_line (snap, byte_off));
}

/* The end of the line holding @byte_off - 1 (just past its '\n'), i.e. the
 * first line start at or after @byte_off. */
static size_t
line_end (WeftSnapshot *snap,
          size_t        byte_off)
{
  size_t n_bytes = weft_snapshot_get_n_bytes (snap);
  size_t line;

  if (byte_off == 0)
    return 0;
  if (byte_off >= n_bytes)
    return n_bytes;
  line = weft_snapshot_byte_to_line (snap, byte_off - 1);
  if (line + 1 >= weft_snapshot_get_n_lines (snap))
    return n_bytes;
  return weft_snapshot_line_to_byte (snap, line + 1);
}

static void
submit_span (WeftSpellPass *self,
             size_t         start_byte,
             size_t         end_byte)
{
  g_autoptr (WeftJobInput) input = weft_job_input_new_snapshot_range (self->snap, start_byte,
                                                                      end_byte - start_byte);
  g_autoptr (GBytes) options = weft_spell_check_options (self->lang, start_byte,
                                                         (const char * const *) self->session_words);
  WeftJobSpec spec = { .kind = WEFT_JOB_SPELL_CHECK, .input = input, .options = options, .owner = self->owner };
  JobSpan *span = g_new0 (JobSpan, 1);
  guint64 id;

  span->pass = self;
  span->start_byte = start_byte;
  span->end_byte = end_byte;
  self->n_jobs++;
  /* The callback runs from a later iteration of the pass's context, so the
   * id is recorded in time. */
  id = weft_backend_submit (self->backend, &spec, on_job_done, span);
  g_hash_table_insert (self->in_flight, g_memdup2 (&id, sizeof id), span);
}

static int
compare_ranges (gconstpointer a,
                gconstpointer b)
{
  const WeftSpellRange *ra = a, *rb = b;

  return ra->byte_off < rb->byte_off ? -1 : ra->byte_off > rb->byte_off;
}

static void
weft_spell_pass_free (WeftSpellPass *self)
{
  g_hash_table_unref (self->in_flight);
  g_clear_pointer (&self->misspelled, g_array_unref);
  g_clear_error (&self->error);
  g_strfreev (self->session_words);
  g_free (self->lang);
  weft_snapshot_unref (self->snap);
  g_free (self);
}

static void
fail (WeftSpellPass *self,
      const GError  *error)
{
  if (self->error == NULL)
    {
      self->error = g_error_copy (error);
      weft_spell_pass_cancel (self);
    }
}

static void
on_job_done (const WeftJobResult *result,
             gpointer             user_data)
{
  JobSpan *span = user_data;
  WeftSpellPass *self = span->pass;
  WeftSpellCheckResult parsed = { 0 };
  g_autoptr (GError) error = NULL;

  g_hash_table_remove (self->in_flight, &result->job_id);

  if (result->error != NULL)
    fail (self, result->error);
  else if (!weft_spell_check_result_parse (result->output, span->start_byte, &parsed, &error) ||
           parsed.checked_end_byte > span->end_byte ||
           (parsed.checked_end_byte == span->start_byte && span->end_byte > span->start_byte))
    {
      if (error == NULL)
        g_set_error_literal (&error, WEFT_ERROR, WEFT_ERROR_FAILED,
                             "A spell-check result does not match its job");
      fail (self, error);
    }
  else if (!self->cancelled)
    {
      self->n_words += parsed.n_words;
      if (self->collect)
        g_array_append_vals (self->misspelled, parsed.misspelled->data, parsed.misspelled->len);
      if (parsed.checked_end_byte < span->end_byte)
        submit_span (self, parsed.checked_end_byte, span->end_byte);
      if (self->chunk_done != NULL)
        self->chunk_done (self, span->start_byte, &parsed, self->user_data);
    }
  weft_spell_check_result_clear (&parsed);
  g_free (span);

  if (g_hash_table_size (self->in_flight) == 0)
    {
      if (self->error == NULL && self->cancelled)
        g_set_error_literal (&self->error, WEFT_ERROR, WEFT_ERROR_CANCELLED,
                             "The spell-check was cancelled");
      if (self->collect && self->error == NULL)
        g_array_sort (self->misspelled, compare_ranges);
      self->done (self, self->error, self->user_data);
      weft_spell_pass_free (self);
    }
}

WeftSpellPass *
weft_spell_pass_start (WeftBackend                *backend,
                       WeftSnapshot               *snap,
                       size_t                      start_byte,
                       size_t                      end_byte,
                       const WeftSpellPassOptions *options,
                       WeftSpellPassChunkFunc      chunk_done,
                       WeftSpellPassDoneFunc       done,
                       gpointer                    user_data)
{
  WeftSpellPass *self;
  size_t n_bytes, len, job_bytes;
  guint n_jobs;

  g_return_val_if_fail (backend != NULL, NULL);
  g_return_val_if_fail (snap != NULL, NULL);
  g_return_val_if_fail (options != NULL && options->lang != NULL, NULL);
  g_return_val_if_fail (done != NULL, NULL);

  n_bytes = weft_snapshot_get_n_bytes (snap);
  start_byte = MIN (start_byte, n_bytes);
  end_byte = CLAMP (end_byte, start_byte, n_bytes);

  self = g_new0 (WeftSpellPass, 1);
  self->backend = backend;
  self->snap = weft_snapshot_ref (snap);
  self->start_byte = line_start (snap, start_byte);
  self->end_byte = line_end (snap, end_byte);
  if (self->end_byte < self->start_byte || (end_byte == start_byte && end_byte < n_bytes))
    self->end_byte = line_end (snap, self->start_byte + 1);
  self->lang = g_strdup (options->lang);
  self->session_words = g_strdupv ((char **) options->session_words);
  self->owner = options->owner;
  self->collect = options->collect;
  self->chunk_done = chunk_done;
  self->done = done;
  self->user_data = user_data;
  self->in_flight = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->misspelled = g_array_new (FALSE, FALSE, sizeof (WeftSpellRange));

  len = self->end_byte - self->start_byte;
  n_jobs = MAX (1, weft_backend_get_workers (backend)) *
           (options->jobs_per_worker > 0 ? options->jobs_per_worker : DEFAULT_JOBS_PER_WORKER);
  job_bytes = MAX ((size_t) MIN_JOB_BYTES, len / n_jobs + 1);

  /* At least one job, even for nothing, so that done always comes from the
   * backend's context. */
  for (size_t pos = self->start_byte;;)
    {
      size_t end = pos + job_bytes >= self->end_byte ? self->end_byte
                                                      : line_end (snap, pos + job_bytes);

      submit_span (self, pos, end);
      pos = end;
      if (pos >= self->end_byte)
        break;
    }

  return self;
}

void
weft_spell_pass_cancel (WeftSpellPass *self)
{
  GHashTableIter iter;
  gpointer key;

  g_return_if_fail (self != NULL);

  self->cancelled = TRUE;
  g_hash_table_iter_init (&iter, self->in_flight);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    weft_backend_cancel (self->backend, *(guint64 *) key);
}

WeftSnapshot *
weft_spell_pass_get_snapshot (WeftSpellPass *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->snap;
}

void
weft_spell_pass_get_span (WeftSpellPass *self,
                          size_t        *out_start_byte,
                          size_t        *out_end_byte)
{
  g_return_if_fail (self != NULL);

  *out_start_byte = self->start_byte;
  *out_end_byte = self->end_byte;
}

guint64
weft_spell_pass_get_n_words (WeftSpellPass *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_words;
}

guint
weft_spell_pass_get_n_jobs (WeftSpellPass *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_jobs;
}

GArray *
weft_spell_pass_get_misspelled (WeftSpellPass *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->misspelled;
}
