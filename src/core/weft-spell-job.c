/* weft-spell-job.c: SPELL jobs — their wire formats, checked both ways, and the dictionaries a worker keeps. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "weft-error.h"
#include "weft-spell-job.h"
#include "weft-tokenize.h"

/* A check reads its text in pieces of whole lines this long, so that a text
 * with more misspellings than a result holds stops soon after it is full. */
#define CHECK_PIECE_BYTES (256 * 1024)
/* checked_end, n_words, n_ranges */
#define CHECK_HEADER_BYTES (8 + 8 + 4)
/* Two LEB128 varints of at most 64 bits. */
#define MAX_RANGE_BYTES 20
#define MAX_LANG_BYTES 64

gboolean
weft_spell_job_kind_is_spell (WeftJobKind kind)
{
  return kind == WEFT_JOB_SPELL_CHECK || kind == WEFT_JOB_SPELL_SUGGEST;
}

/* ----------------------------------------------------------------------- */
/* Encoding                                                                */

/* Little-endian, @n bytes of @v. */
static void
put_le (GByteArray *out,
        guint64     v,
        size_t      n)
{
  guint8 buf[8];

  for (size_t i = 0; i < n; i++)
    buf[i] = (guint8) (v >> (8 * i));
  g_byte_array_append (out, buf, (guint) n);
}

#define put_u32(out, v) put_le ((out), (v), 4)
#define put_u64(out, v) put_le ((out), (v), 8)

static void
put_string (GByteArray *out,
            const char *s,
            size_t      len)
{
  put_u32 (out, (guint32) len);
  g_byte_array_append (out, (const guint8 *) s, (guint) len);
}

static size_t
varint_size (guint64 v)
{
  size_t n = 1;

  while (v >= 0x80)
    {
      v >>= 7;
      n++;
    }
  return n;
}

static void
put_varint (GByteArray *out,
            guint64     v)
{
  guint8 buf[10];
  size_t n = 0;

  while (v >= 0x80)
    {
      buf[n++] = (guint8) (v | 0x80);
      v >>= 7;
    }
  buf[n++] = (guint8) v;
  g_byte_array_append (out, buf, (guint) n);
}

/* A bounded reader: every get fails rather than read past the end. */
typedef struct
{
  const guint8 *p;
  size_t        left;
} Reader;

static gboolean
get_le (Reader  *r,
        size_t   n,
        guint64 *out)
{
  if (r->left < n)
    return FALSE;
  *out = 0;
  for (size_t i = 0; i < n; i++)
    *out |= (guint64) r->p[i] << (8 * i);
  r->p += n;
  r->left -= n;
  return TRUE;
}

static gboolean
get_u32 (Reader  *r,
         guint32 *out)
{
  guint64 v;

  if (!get_le (r, 4, &v))
    return FALSE;
  *out = (guint32) v;
  return TRUE;
}

#define get_u64(r, out) get_le ((r), 8, (out))

static gboolean
get_varint (Reader  *r,
            guint64 *out)
{
  guint64 v = 0;

  for (unsigned shift = 0; shift < 64; shift += 7)
    {
      guint8 b;

      if (r->left == 0)
        return FALSE;
      b = *r->p++;
      r->left--;
      if (shift == 63 && b > 1)
        return FALSE;
      v |= (guint64) (b & 0x7f) << shift;
      if ((b & 0x80) == 0)
        {
          *out = v;
          return TRUE;
        }
    }
  return FALSE;
}

/* A string of at most @max bytes, valid UTF-8 without NUL; *out points into
 * the buffer, *out_len its length. */
static gboolean
get_string (Reader      *r,
            size_t       max,
            const char **out,
            size_t      *out_len)
{
  guint32 len;

  if (!get_u32 (r, &len) || len > max || len > r->left)
    return FALSE;
  if (memchr (r->p, '\0', len) != NULL || !g_utf8_validate ((const char *) r->p, len, NULL))
    return FALSE;
  *out = (const char *) r->p;
  *out_len = len;
  r->p += len;
  r->left -= len;
  return TRUE;
}

static gboolean
bad_message (GError    **error,
             const char *what)
{
  g_set_error (error, WEFT_ERROR, WEFT_ERROR_FAILED,
               _("Malformed spell-check message: %s"), what);
  return FALSE;
}

GBytes *
weft_spell_check_options (const char         *lang,
                          guint64             base_byte_off,
                          const char * const *session_words)
{
  GByteArray *out = g_byte_array_new ();
  size_t n_words = 0;
  size_t bytes = 0;

  g_return_val_if_fail (lang != NULL, NULL);

  if (session_words != NULL)
    for (; session_words[n_words] != NULL; n_words++)
      {
        size_t len = strlen (session_words[n_words]);

        if (bytes + 4 + len > WEFT_SPELL_MAX_SESSION_BYTES)
          break;
        bytes += 4 + len;
      }

  put_string (out, lang, strlen (lang));
  put_u64 (out, base_byte_off);
  put_u32 (out, (guint32) n_words);
  for (size_t i = 0; i < n_words; i++)
    put_string (out, session_words[i], strlen (session_words[i]));
  return g_byte_array_free_to_bytes (out);
}

typedef struct
{
  char      *lang;
  guint64    base_byte_off;
  GPtrArray *session_words;  /* owns its strings */
  guint      session_hash;   /* of all the words, in order */
} CheckOptions;

static void
check_options_clear (CheckOptions *o)
{
  g_clear_pointer (&o->lang, g_free);
  g_clear_pointer (&o->session_words, g_ptr_array_unref);
}

static gboolean
parse_check_options (GBytes       *options,
                     CheckOptions *out,
                     GError      **error)
{
  gsize size = 0;
  const guint8 *data = options != NULL ? g_bytes_get_data (options, &size) : NULL;
  Reader r = { data, size };
  const char *s;
  size_t len;
  guint32 n_words;

  memset (out, 0, sizeof *out);
  if (!get_string (&r, MAX_LANG_BYTES, &s, &len))
    return bad_message (error, "language");
  out->lang = g_strndup (s, len);
  if (!get_u64 (&r, &out->base_byte_off) || !get_u32 (&r, &n_words) ||
      n_words > WEFT_SPELL_MAX_SESSION_BYTES / 4)
    {
      check_options_clear (out);
      return bad_message (error, "header");
    }
  out->session_words = g_ptr_array_new_with_free_func (g_free);
  out->session_hash = 5381;
  for (guint32 i = 0; i < n_words; i++)
    {
      if (!get_string (&r, WEFT_SPELL_MAX_SESSION_BYTES, &s, &len))
        {
          check_options_clear (out);
          return bad_message (error, "session word");
        }
      g_ptr_array_add (out->session_words, g_strndup (s, len));
      out->session_hash = out->session_hash * 33 + g_str_hash (out->session_words->pdata[i]);
    }
  if (r.left != 0)
    {
      check_options_clear (out);
      return bad_message (error, "trailing bytes");
    }
  return TRUE;
}

GBytes *
weft_spell_suggest_options (const char *lang,
                            const char *word,
                            guint       max_suggestions)
{
  GByteArray *out = g_byte_array_new ();

  g_return_val_if_fail (lang != NULL, NULL);
  g_return_val_if_fail (word != NULL, NULL);

  put_string (out, lang, strlen (lang));
  put_u32 (out, max_suggestions);
  put_string (out, word, strlen (word));
  return g_byte_array_free_to_bytes (out);
}

gboolean
weft_spell_check_result_parse (GBytes               *output,
                               guint64               base_byte_off,
                               WeftSpellCheckResult *out,
                               GError              **error)
{
  gsize size = 0;
  const guint8 *data;
  Reader r;
  guint32 n_ranges;
  guint64 pos = base_byte_off;

  g_return_val_if_fail (output != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  data = g_bytes_get_data (output, &size);
  r = (Reader) { data, size };
  memset (out, 0, sizeof *out);
  if (!get_u64 (&r, &out->checked_end_byte) || !get_u64 (&r, &out->n_words) ||
      !get_u32 (&r, &n_ranges) || out->checked_end_byte < base_byte_off ||
      n_ranges > r.left / 2)
    return bad_message (error, "result header");

  out->misspelled = g_array_sized_new (FALSE, FALSE, sizeof (WeftSpellRange), n_ranges);
  for (guint32 i = 0; i < n_ranges; i++)
    {
      guint64 gap, len;
      WeftSpellRange range;

      if (!get_varint (&r, &gap) || !get_varint (&r, &len) || len == 0 ||
          gap > out->checked_end_byte - pos || len > out->checked_end_byte - pos - gap)
        {
          weft_spell_check_result_clear (out);
          return bad_message (error, "range");
        }
      range.byte_off = pos + gap;
      range.byte_len = len;
      pos = range.byte_off + len;
      g_array_append_val (out->misspelled, range);
    }
  if (r.left != 0)
    {
      weft_spell_check_result_clear (out);
      return bad_message (error, "trailing bytes");
    }
  return TRUE;
}

void
weft_spell_check_result_clear (WeftSpellCheckResult *result)
{
  g_clear_pointer (&result->misspelled, g_array_unref);
}

char **
weft_spell_suggest_result_parse (GBytes  *output,
                                 GError **error)
{
  gsize size = 0;
  const guint8 *data;
  Reader r;
  guint32 n;
  g_autoptr (GPtrArray) words = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (output != NULL, NULL);

  data = g_bytes_get_data (output, &size);
  r = (Reader) { data, size };
  if (!get_u32 (&r, &n) || n > WEFT_SPELL_MAX_SUGGESTIONS)
    {
      bad_message (error, "suggestion count");
      return NULL;
    }
  for (guint32 i = 0; i < n; i++)
    {
      const char *s;
      size_t len;

      if (!get_string (&r, 1024, &s, &len))
        {
          bad_message (error, "suggestion");
          return NULL;
        }
      g_ptr_array_add (words, g_strndup (s, len));
    }
  if (r.left != 0)
    {
      bad_message (error, "trailing bytes");
      return NULL;
    }
  g_ptr_array_add (words, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&words), FALSE);
}

/* ----------------------------------------------------------------------- */
/* The worker's dictionaries                                               */

typedef struct
{
  WeftSpellChecker *checker;
  guint             session_hash;  /* of the session words it holds */
  gboolean          has_session;   /* session_hash is meaningful */
} LoadedDict;

struct _WeftSpellWorker
{
  GHashTable *dicts;      /* language tag -> LoadedDict */
  gboolean    sealed;
  GStrv       installed;  /* once sealed: what could have been loaded before */
};

static void
loaded_dict_free (gpointer data)
{
  LoadedDict *d = data;

  weft_spell_checker_free (d->checker);
  g_free (d);
}

WeftSpellWorker *
weft_spell_worker_new (void)
{
  WeftSpellWorker *self = g_new0 (WeftSpellWorker, 1);

  self->dicts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, loaded_dict_free);
  return self;
}

void
weft_spell_worker_free (WeftSpellWorker *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->dicts);
  g_strfreev (self->installed);
  g_free (self);
}

static LoadedDict *
get_dict (WeftSpellWorker *self,
          const char      *lang,
          GError         **error)
{
  LoadedDict *d = g_hash_table_lookup (self->dicts, lang);
  WeftSpellChecker *checker;

  if (d != NULL)
    return d;

  if (self->sealed && !g_strv_contains ((const char * const *) self->installed, lang))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_NOT_FOUND,
                   _("No spelling dictionary is installed for “%s”"), lang);
      return NULL;
    }
  if (self->sealed)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_NOT_FOUND,
                   _("The “%s” dictionary cannot be loaded in a sandboxed worker process, "
                     "which has only the dictionary it loaded when it started. "
                     "Choose the threads backend in Preferences to check this language."),
                   lang);
      return NULL;
    }

  checker = weft_spell_checker_new (lang, error);
  if (checker == NULL)
    return NULL;
  d = g_new0 (LoadedDict, 1);
  d->checker = checker;
  g_hash_table_insert (self->dicts, g_strdup (lang), d);
  return d;
}

gboolean
weft_spell_worker_preload (WeftSpellWorker *self,
                           const char      *lang,
                           GError         **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (lang != NULL, FALSE);

  return get_dict (self, lang, error) != NULL;
}

void
weft_spell_worker_seal (WeftSpellWorker *self)
{
  g_return_if_fail (self != NULL);

  if (!self->sealed)
    self->installed = weft_spell_list_languages ();
  self->sealed = TRUE;
}

/* The input as one contiguous run: itself when it is one chunk (a mapped
 * memfd, a GBytes), else a copy in *owned. */
static const char *
flatten_input (WeftJobInput *input,
               size_t        len,
               char        **owned)
{
  size_t chunk_len;
  const char *chunk;

  *owned = NULL;
  if (len == 0)
    return "";
  chunk = weft_job_input_get_chunk (input, 0, &chunk_len);
  if (chunk_len >= len)
    return chunk;
  *owned = g_malloc (len);
  weft_job_input_copy (input, 0, *owned, len);
  return *owned;
}

/* Where a check that must stop before @stop_off (a misspelled word's start)
 * resumes: after the last space or line end before it, where the tokenizer
 * starts afresh (no word, URL or path runs over white space), but not
 * before @min_off. */
static size_t
resume_point (const char *text,
              size_t      min_off,
              size_t      stop_off)
{
  for (size_t i = stop_off; i > min_off; i--)
    if (text[i - 1] == ' ' || text[i - 1] == '\n' || text[i - 1] == '\t')
      return i;
  return stop_off;
}

static gboolean
count_token (const char *text,
             size_t      byte_off,
             size_t      byte_len,
             gpointer    user_data)
{
  (*(size_t *) user_data)++;
  return TRUE;
}

static gboolean
run_check (WeftSpellWorker   *self,
           WeftJobInput      *input,
           GBytes            *options,
           WeftJobCancelFunc  is_cancelled,
           gpointer           cancel_data,
           GBytes           **out_result,
           GError           **error)
{
  CheckOptions o;
  LoadedDict *d;
  size_t len = input != NULL ? weft_job_input_get_size (input) : 0;
  g_autofree char *owned = NULL;
  g_autoptr (GArray) ranges = g_array_new (FALSE, FALSE, sizeof (WeftSpellRange));
  g_autoptr (GByteArray) out = NULL;
  const char *text;
  size_t n_words = 0;
  size_t pos = 0;
  size_t budget = WEFT_SPELL_MAX_RESULT - CHECK_HEADER_BYTES;
  size_t checked_end;
  size_t prev_end = 0;
  size_t used = 0;
  guint n_kept = 0;

  if (!parse_check_options (options, &o, error))
    return FALSE;
  if (o.base_byte_off > G_MAXUINT64 - len)
    {
      check_options_clear (&o);
      return bad_message (error, "offset");
    }
  d = get_dict (self, o.lang, error);
  if (d == NULL)
    {
      check_options_clear (&o);
      return FALSE;
    }

  if (!d->has_session || d->session_hash != o.session_hash)
    {
      weft_spell_checker_clear_session_words (d->checker);
      for (guint i = 0; i < o.session_words->len; i++)
        weft_spell_checker_add_session_word (d->checker, o.session_words->pdata[i], -1);
      d->session_hash = o.session_hash;
      d->has_session = TRUE;
    }

  text = flatten_input (input, len, &owned);

  /* Piece by piece, until the text is done or a range does not fit. */
  while (pos < len && n_kept == ranges->len)
    {
      size_t target = MIN (len, pos + CHECK_PIECE_BYTES);
      const char *nl = target < len ? memchr (text + target, '\n', len - target) : NULL;
      size_t end = nl != NULL ? (size_t) (nl - text) + 1 : len;
      guint first = ranges->len;

      if (!weft_spell_checker_check_range (d->checker, text + pos, end - pos, is_cancelled,
                                           cancel_data, ranges, &n_words, error))
        {
          check_options_clear (&o);
          return FALSE;
        }
      for (guint i = first; i < ranges->len; i++)
        g_array_index (ranges, WeftSpellRange, i).byte_off += pos;
      pos = end;

      for (; n_kept < ranges->len; n_kept++)
        {
          const WeftSpellRange *r = &g_array_index (ranges, WeftSpellRange, n_kept);
          size_t need = varint_size (r->byte_off - prev_end) + varint_size (r->byte_len);

          if (used + need > budget)
            break;
          used += need;
          prev_end = r->byte_off + r->byte_len;
        }
    }
  checked_end = pos;

  /* Not all fit: stop where checking can resume, before the first range
   * left out. */
  if (n_kept < ranges->len)
    {
      checked_end = resume_point (text, prev_end,
                                  g_array_index (ranges, WeftSpellRange, n_kept).byte_off);
      while (n_kept > 0 &&
             g_array_index (ranges, WeftSpellRange, n_kept - 1).byte_off +
             g_array_index (ranges, WeftSpellRange, n_kept - 1).byte_len > checked_end)
        n_kept--;
      /* The count covers what the result covers; this only happens to
       * texts that are mostly misspellings. */
      n_words = 0;
      weft_tokenize (text, checked_end, count_token, &n_words);
    }

  out = g_byte_array_sized_new (CHECK_HEADER_BYTES + n_kept * 4);
  put_u64 (out, o.base_byte_off + checked_end);
  put_u64 (out, n_words);
  put_u32 (out, n_kept);
  prev_end = 0;
  for (guint i = 0; i < n_kept; i++)
    {
      const WeftSpellRange *r = &g_array_index (ranges, WeftSpellRange, i);

      put_varint (out, r->byte_off - prev_end);
      put_varint (out, r->byte_len);
      prev_end = r->byte_off + r->byte_len;
    }

  check_options_clear (&o);
  *out_result = g_byte_array_free_to_bytes (g_steal_pointer (&out));
  return TRUE;
}

static gboolean
run_suggest (WeftSpellWorker *self,
             GBytes          *options,
             GBytes         **out_result,
             GError         **error)
{
  gsize size = 0;
  const guint8 *data = options != NULL ? g_bytes_get_data (options, &size) : NULL;
  Reader r = { data, size };
  const char *s, *w;
  size_t lang_len, word_len;
  guint32 max;
  g_autofree char *lang = NULL;
  g_auto (GStrv) suggestions = NULL;
  g_autoptr (GByteArray) out = g_byte_array_new ();
  LoadedDict *d;
  guint32 n;

  if (!get_string (&r, MAX_LANG_BYTES, &s, &lang_len) || !get_u32 (&r, &max) ||
      !get_string (&r, 1024, &w, &word_len) || r.left != 0)
    return bad_message (error, "suggestion options");
  lang = g_strndup (s, lang_len);
  d = get_dict (self, lang, error);
  if (d == NULL)
    return FALSE;

  suggestions = weft_spell_checker_suggest (d->checker, w, (gssize) word_len,
                                            MIN (max, WEFT_SPELL_MAX_SUGGESTIONS));
  n = g_strv_length (suggestions);
  put_u32 (out, n);
  for (guint32 i = 0; i < n; i++)
    put_string (out, suggestions[i], MIN (strlen (suggestions[i]), 1024));
  *out_result = g_byte_array_free_to_bytes (g_steal_pointer (&out));
  return TRUE;
}

gboolean
weft_spell_worker_run (WeftSpellWorker   *self,
                       WeftJobKind        kind,
                       WeftJobInput      *input,
                       GBytes            *options,
                       WeftJobCancelFunc  is_cancelled,
                       gpointer           cancel_data,
                       GBytes           **out_result,
                       GError           **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (out_result != NULL && *out_result == NULL, FALSE);

  switch (kind)
    {
    case WEFT_JOB_SPELL_CHECK:
      return run_check (self, input, options, is_cancelled, cancel_data, out_result, error);
    case WEFT_JOB_SPELL_SUGGEST:
      return run_suggest (self, options, out_result, error);
    default:
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_FAILED,
                   _("Unknown job kind %u"), (guint) kind);
      return FALSE;
    }
}
