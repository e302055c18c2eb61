/* weft-sort.c: GNU-sort-compatible line sorting: cached key prefixes, radix-sorted runs, key-range or LCP-merged parallelism. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <ctype.h>
#include <langinfo.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft-error.h"
#include "weft-memory.h"
#include "weft-sort.h"

/* Lines between two looks at the cancel flag: a few hundred microseconds
 * of work at most, far inside the 50 ms the design allows. */
#define CANCEL_STRIDE 4096

/* Groups smaller than this are insertion-sorted on their cached key bytes;
 * the radix pass's histograms cost more than they save below it. */
#define SMALL_GROUP 48

/* Each radix level is a stack frame; a group whose keys share more bytes
 * than this (huge identical prefixes) is finished by comparisons. */
#define MAX_RADIX_DEPTH 4096

#define MAX_THREADS 64
/* A line's key-range bucket (one per thread) is kept in a byte. */
G_STATIC_ASSERT (MAX_THREADS <= 256);

typedef struct
{
  const char *ptr;
  size_t      len;
} Span;

/* What comparisons read of a line, in one record: merges and radix
 * passes visit lines in random order, and one cache miss per line is
 * cheaper than one per array. */
typedef struct
{
  guint64 prefix;  /* first 8 key bytes, big-endian, zero padded (unused in numeric mode) */
  Span    key;     /* key bytes: in the text, or primary weights in LOCALE mode */
} LineKey;

/* One line in a run being sorted: the 8 key bytes at the current radix
 * depth (big-endian, zero padded; complemented in reverse mode), its line
 * number, and once sorted the length of the key prefix it shares with the
 * entry before it (the LCP), which the merges use. */
typedef struct
{
  guint64 key;
  guint32 line;
  guint32 lcp;
} Entry;

struct _WeftSortIndex
{
  /* Set by weft_sort_index_new(); read-only afterwards. */
  const char     *text;          /* borrowed */
  size_t          len;
  WeftSortOptions opts;          /* opts.locale is not kept */
  locale_t        locale;        /* (locale_t) 0 in BYTES mode */
  gboolean        final_newline;
  gboolean        has_key;       /* GNU sort has a key list: keys are not whole lines */
  gboolean        last_resort;   /* equal keys are ordered by whole lines */
  gboolean        xfrm;          /* keys are primary collation weights (see append_primary()) */
  gboolean        xfrm_full;     /* the same for whole lines, for the last resort */
  gboolean        fold_bytes;    /* fold while comparing raw bytes */
  int             decimal_point;
  int             thousands_sep; /* -1: none */
  gboolean        blanks[256];
  guchar          fold[256];
  size_t          n_lines;
  size_t         *line_off;      /* n_lines + 1; line i is [off[i], off[i + 1] - 1) */

  /* Written by weft_sort_index_prepare_keys(), each call its own line
   * range; read-only once every line is prepared. */
  LineKey        *lk;
  Span           *full;          /* only when xfrm_full */

  /* A pthread mutex, not a GMutex: GLib's futex-based one is invisible
   * to ThreadSanitizer, which then reports the array's growth as a race. */
  pthread_mutex_t arena_lock;
  GPtrArray      *arenas;        /* guarded by arena_lock: primary-weight blocks */
};

/* What a sort polls to learn that it should stop: the public API's flag,
 * or a job's callback. */
typedef struct
{
  const WeftSortCancelFlag *flag;  /* nullable */
  WeftSortCancelFunc        func;  /* nullable */
  gpointer                  data;
} SortCancel;

static inline gboolean
is_cancelled (const SortCancel *cancel)
{
  if (cancel == NULL)
    return FALSE;
  if (cancel->flag != NULL && atomic_load_explicit (cancel->flag, memory_order_relaxed))
    return TRUE;
  return cancel->func != NULL && cancel->func (cancel->data);
}

static gboolean
set_cancelled (GError **error)
{
  g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_CANCELLED, _("Sorting was cancelled"));
  return FALSE;
}

static inline const char *
line_ptr (const WeftSortIndex *index,
          size_t               line)
{
  return index->text + index->line_off[line];
}

static inline size_t
line_len (const WeftSortIndex *index,
          size_t               line)
{
  return index->line_off[line + 1] - index->line_off[line] - 1;
}

/* Index and options */

static inline size_t
slice_bound (size_t n,
             guint  t,
             guint  n_threads)
{
  return (size_t) ((guint64) n * t / n_threads);
}

/* Runs @func on each of @n items of @size bytes at @items: the first on
 * the calling thread, the others on pthreads of their own. */
static void
run_threads (void  *(*func) (void *),
             void   *items,
             size_t  size,
             guint   n)
{
  pthread_t threads[MAX_THREADS];

  for (guint t = 1; t < n; t++)
    if (pthread_create (&threads[t], NULL, func, (char *) items + t * size) != 0)
      g_error ("weft-sort: cannot create a thread");
  func (items);
  for (guint t = 1; t < n; t++)
    pthread_join (threads[t], NULL);
}

/* One thread's share of the line scan. */
typedef struct
{
  WeftSortIndex *index;       /* line_off: each chunk writes only its own lines' entries */
  size_t         begin;
  size_t         end;
  size_t         n_newlines;  /* set by scan_count */
  size_t         first_line;  /* set between the two passes */
} ScanChunk;

static void *
scan_count (void *data)
{
  ScanChunk *c = data;
  const char *p = c->index->text + c->begin, *end = c->index->text + c->end;

  c->n_newlines = 0;
  for (; p < end; p++)
    {
      p = memchr (p, '\n', (size_t) (end - p));
      if (p == NULL)
        break;
      c->n_newlines++;
    }
  return NULL;
}

static void *
scan_fill (void *data)
{
  ScanChunk *c = data;
  const char *text = c->index->text;
  const char *p = text + c->begin, *end = text + c->end;
  size_t *off = c->index->line_off + c->first_line;

  for (; p < end; p++)
    {
      p = memchr (p, '\n', (size_t) (end - p));
      if (p == NULL)
        break;
      *++off = (size_t) (p - text) + 1;
    }
  return NULL;
}

/* @given_off (nullable, taken): the line table of @text when the caller
 * built it while writing the text (@given_n lines, @given_n + 1 entries,
 * the text ending in a newline), which saves scanning it again. */
static WeftSortIndex *
index_new (const char             *text,
           size_t                  len,
           const WeftSortOptions  *opts,
           guint                   n_threads,
           size_t                 *given_off,
           size_t                  given_n,
           GError                **error)
{
  g_autoptr (WeftSortIndex) index = NULL;
  ScanChunk chunks[MAX_THREADS];
  size_t n = 0;
  guint T;

  /* GLib creates an error domain's quark and its own lock lazily on first
   * use, in ways ThreadSanitizer cannot see; have that done here, before
   * any worker may report a cancellation. */
  g_error_free (g_error_new_literal (WEFT_ERROR, WEFT_ERROR_CANCELLED, ""));

  index = g_new0 (WeftSortIndex, 1);
  index->text = text;
  index->len = len;
  index->line_off = given_off;  /* freed with the index, even on failure */
  index->opts = *opts;
  index->opts.locale = NULL;
  pthread_mutex_init (&index->arena_lock, NULL);
  index->arenas = g_ptr_array_new_with_free_func (g_free);

  if (opts->collation == WEFT_SORT_COLLATION_LOCALE)
    {
      if (opts->locale != NULL)
        index->locale = newlocale (LC_ALL_MASK, opts->locale, (locale_t) 0);
      else
        index->locale = duplocale (LC_GLOBAL_LOCALE);
      if (index->locale == (locale_t) 0)
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_FAILED,
                       _("The locale “%s” is not available"), opts->locale ? opts->locale : "");
          return NULL;
        }
    }

  /* GNU sort's tables: blanks and toupper() from LC_CTYPE, the number
   * syntax from LC_NUMERIC; the C locale's in BYTES mode. */
  index->decimal_point = '.';
  index->thousands_sep = -1;
  for (int c = 0; c < 256; c++)
    {
      if (index->locale != (locale_t) 0)
        {
          index->blanks[c] = isblank_l (c, index->locale) != 0;
          index->fold[c] = (guchar) toupper_l (c, index->locale);
        }
      else
        {
          index->blanks[c] = c == ' ' || c == '\t';
          index->fold[c] = (guchar) (c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        }
    }
  if (index->locale != (locale_t) 0)
    {
      const char *dp = nl_langinfo_l (RADIXCHAR, index->locale);
      const char *ts = nl_langinfo_l (THOUSEP, index->locale);

      if (dp != NULL && dp[0] != '\0' && dp[1] == '\0')
        index->decimal_point = (guchar) dp[0];
      if (ts != NULL && ts[0] != '\0' && ts[1] == '\0')
        index->thousands_sep = (guchar) ts[0];
    }

  index->has_key = opts->ignore_case || opts->numeric || opts->column > 1;
  index->last_resort = index->has_key && !opts->unique && !opts->stable;
  index->xfrm = index->locale != (locale_t) 0 && !opts->numeric;
  index->xfrm_full = index->locale != (locale_t) 0 && index->last_resort;
  index->fold_bytes = opts->ignore_case && !index->xfrm && !opts->numeric;

  index->final_newline = len == 0 || text[len - 1] == '\n';

  T = MAX (1, MIN (n_threads, MAX_THREADS));
  if (len < (size_t) 1 << 20)
    T = 1;
  if (given_off != NULL)
    {
      g_assert (index->final_newline && given_off[given_n] == len);
      index->n_lines = given_n;
    }
  else if (T == 1)
    {
      /* One pass, the table growing as it goes: counting first would
       * read the text twice. Room for lines of 32 bytes on average: only
       * the pages written are ever taken, and growing copies the table. */
      size_t cap = len / 32 + 16;
      const char *p = text, *end = text + len;

      index->line_off = weft_new_large (size_t, cap + 1);
      index->line_off[0] = 0;
      for (; p < end; p++)
        {
          p = memchr (p, '\n', (size_t) (end - p));
          if (p == NULL)
            break;
          if (n + 1 > cap)
            {
              cap *= 2;
              index->line_off = g_renew (size_t, index->line_off, cap + 1);
            }
          index->line_off[++n] = (size_t) (p - text) + 1;
        }
      if (!index->final_newline)
        index->line_off[++n] = len + 1;
      index->n_lines = n;
    }
  if (index->line_off != NULL)
    {
      if (index->n_lines > G_MAXUINT32)
        {
          g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_TOO_LARGE,
                               _("Too many lines to sort (more than 4,294,967,295)"));
          return NULL;
        }
      goto allocated;
    }

  /* Chunks of the text are scanned in parallel: newlines counted, then
   * each chunk's line starts written from its own first line number. */
  for (guint t = 0; t < T; t++)
    chunks[t] = (ScanChunk) { .index = index, .begin = slice_bound (len, t, T),
                              .end = slice_bound (len, t + 1, T) };
  run_threads (scan_count, chunks, sizeof (ScanChunk), T);
  for (guint t = 0; t < T; t++)
    {
      chunks[t].first_line = n;
      n += chunks[t].n_newlines;
    }
  if (!index->final_newline)
    n++;
  if (n > G_MAXUINT32)
    {
      g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_TOO_LARGE,
                           _("Too many lines to sort (more than 4,294,967,295)"));
      return NULL;
    }

  index->n_lines = n;
  index->line_off = weft_new_large (size_t, n + 1);
  index->line_off[0] = 0;
  run_threads (scan_fill, chunks, sizeof (ScanChunk), T);
  /* A missing final newline is stood in for by an imaginary one, so that
   * every line's length is off[i + 1] - off[i] - 1. */
  if (!index->final_newline)
    index->line_off[n] = len + 1;

allocated:
  /* Not zeroed: prepare_keys() writes every entry, and its page faults
   * are then taken by the threads in parallel. */
  index->lk = weft_new_large (LineKey, index->n_lines);
  if (index->xfrm_full)
    index->full = weft_new_large (Span, index->n_lines);

  return g_steal_pointer (&index);
}

WeftSortIndex *
weft_sort_index_new (const char             *text,
                     size_t                  len,
                     const WeftSortOptions  *opts,
                     GError                **error)
{
  g_return_val_if_fail (text != NULL || len == 0, NULL);
  g_return_val_if_fail (opts != NULL, NULL);

  return index_new (text, len, opts, 1, NULL, 0, error);
}

void
weft_sort_index_free (WeftSortIndex *index)
{
  if (index == NULL)
    return;

  if (index->locale != (locale_t) 0)
    freelocale (index->locale);
  g_free (index->line_off);
  g_free (index->lk);
  g_free (index->full);
  g_ptr_array_unref (index->arenas);
  pthread_mutex_destroy (&index->arena_lock);
  g_free (index);
}

size_t
weft_sort_index_get_n_lines (const WeftSortIndex *index)
{
  g_return_val_if_fail (index != NULL, 0);

  return index->n_lines;
}

gboolean
weft_sort_index_get_final_newline (const WeftSortIndex *index)
{
  g_return_val_if_fail (index != NULL, TRUE);

  return index->final_newline;
}

/* Keys */

/* GNU's begfield() without -t: skip N - 1 fields, each a run of blanks then
 * a run of non-blanks. */
static size_t
field_start (const WeftSortIndex *index,
             const char          *p,
             size_t               len)
{
  size_t i = 0;
  guint skip = index->opts.column > 1 ? index->opts.column - 1 : 0;

  while (i < len && skip-- > 0)
    {
      while (i < len && index->blanks[(guchar) p[i]])
        i++;
      while (i < len && !index->blanks[(guchar) p[i]])
        i++;
    }
  return i;
}

static inline guint64
load_prefix (const WeftSortIndex *index,
             Span                 key,
             size_t               depth)
{
  const guchar *p = (const guchar *) key.ptr + depth;
  guint64 v = 0;
  size_t n;

  if (depth >= key.len)
    return 0;
  n = MIN (8, key.len - depth);

  if (index->fold_bytes)
    {
      for (size_t i = 0; i < n; i++)
        v |= (guint64) index->fold[p[i]] << (56 - 8 * i);
      return v;
    }
  if (n == 8)
    {
      memcpy (&v, p, 8);
      return GUINT64_FROM_BE (v);
    }
  for (size_t i = 0; i < n; i++)
    v |= (guint64) p[i] << (56 - 8 * i);
  return v;
}

/* Primary weights go into blocks that never move (so keys can point
 * into them at once); a full block is set aside for the index to free. */
#define ARENA_BLOCK (4u << 20)

typedef struct
{
  char      *data;
  size_t     len;
  size_t     cap;
  size_t     block_size;
  GPtrArray *blocks;  /* the filled ones */
} Arena;

static char *
arena_alloc (Arena  *arena,
             size_t  n)
{
  char *p;

  if (arena->data == NULL || arena->len + n > arena->cap)
    {
      if (arena->data != NULL)
        g_ptr_array_add (arena->blocks, arena->data);
      arena->cap = MAX (arena->block_size, n);
      arena->data = g_malloc (arena->cap);
      arena->len = 0;
    }
  p = arena->data + arena->len;
  arena->len += n;
  return p;
}

/* Per-call scratch space and the block the keys go to. */
typedef struct
{
  char   *scratch;
  size_t  scratch_cap;
  char   *xfrm;
  size_t  xfrm_cap;
  Arena   arena;
} XfrmState;

/* Returns the sort key of @len bytes at @src in LOCALE mode: nothing for
 * an empty string, else 0x01 then the primary-level weights strxfrm()
 * gives for the text up to its first NUL (up to and including strxfrm()'s
 * 0x01 level separator).
 *
 * Only the primary level: glibc 2.36's strxfrm() disagrees with strcoll()
 * from the second level on (combining marks, punctuation; found comparing
 * GNU sort's output), while its primary level agreed with strcoll() on
 * every one of 2 million random pairs tried, invalid UTF-8 included. So
 * keys that differ decide, and equal keys are settled by strcoll() itself
 * (compare_collated()). The 0x01 in front makes an empty string sort
 * first, as GNU sort has it whatever strcoll() says. Cutting at the first
 * 0x01 is safe even if a weight byte were 0x01: both keys are then cut at
 * the same place or differ before it. */
static Span
append_primary (const WeftSortIndex *index,
                XfrmState           *st,
                const char          *src,
                size_t               len,
                gboolean             fold)
{
  const char *sep;
  char *key;
  size_t n, m;

  if (len == 0)
    return (Span) { "", 0 };

  if (st->scratch_cap < len + 1)
    {
      st->scratch_cap = MAX (len + 1, MAX (256, st->scratch_cap * 2));
      /* Nothing to keep: a fresh block rather than a copying realloc. */
      g_free (st->scratch);
      st->scratch = g_malloc (st->scratch_cap);
    }
  if (fold)
    for (size_t i = 0; i < len; i++)
      st->scratch[i] = (char) index->fold[(guchar) src[i]];
  else
    memcpy (st->scratch, src, len);
  st->scratch[len] = '\0';

  n = strxfrm_l (st->xfrm, st->scratch, st->xfrm_cap, index->locale);
  if (n >= st->xfrm_cap)
    {
      st->xfrm_cap = MAX (n + 1, MAX (1024, st->xfrm_cap * 2));
      g_free (st->xfrm);
      st->xfrm = g_malloc (st->xfrm_cap);
      n = strxfrm_l (st->xfrm, st->scratch, st->xfrm_cap, index->locale);
    }
  sep = memchr (st->xfrm, 1, n);
  m = sep != NULL ? (size_t) (sep - st->xfrm) + 1 : n;

  key = arena_alloc (&st->arena, m + 1);
  key[0] = '\1';
  memcpy (key + 1, st->xfrm, m);
  return (Span) { key, m + 1 };
}

/* Prepares lines [@first_line, @first_line + @n_lines), or when @lines is
 * set the @n_lines lines it lists. */
static gboolean
prepare_keys (WeftSortIndex    *index,
              const guint32    *lines,
              size_t            first_line,
              size_t            n_lines,
              const SortCancel *cancel,
              GError          **error)
{
  XfrmState st = { NULL, 0, NULL, 0, { NULL, 0, 0, 0, NULL } };
  gboolean ok = TRUE;

  if (index->xfrm || index->xfrm_full)
    {
      st.arena.blocks = g_ptr_array_new ();
      /* A merge prepares a handful of lines at a time: no 4 MiB block each. */
      st.arena.block_size = MIN (ARENA_BLOCK, MAX (4096, n_lines * 256));
    }

  for (size_t k = 0; k < n_lines; k++)
    {
      size_t line = lines != NULL ? lines[k] : first_line + k;
      const char *p = line_ptr (index, line);
      size_t len = line_len (index, line);
      size_t start = index->opts.column > 1 ? field_start (index, p, len) : 0;

      if (k % CANCEL_STRIDE == 0 && is_cancelled (cancel))
        {
          ok = set_cancelled (error);
          break;
        }

      if (index->xfrm)
        index->lk[line].key = append_primary (index, &st, p + start, len - start,
                                              index->opts.ignore_case);
      else
        index->lk[line].key = (Span) { p + start, len - start };

      if (index->xfrm_full)
        index->full[line] = append_primary (index, &st, p, len, FALSE);
    }

  if (st.arena.blocks != NULL)
    {
      if (st.arena.data != NULL)
        g_ptr_array_add (st.arena.blocks, st.arena.data);
      pthread_mutex_lock (&index->arena_lock);
      for (guint b = 0; b < st.arena.blocks->len; b++)
        g_ptr_array_add (index->arenas, g_ptr_array_index (st.arena.blocks, b));
      pthread_mutex_unlock (&index->arena_lock);
      g_ptr_array_unref (st.arena.blocks);
    }
  g_free (st.scratch);
  g_free (st.xfrm);

  if (ok && !index->opts.numeric)
    for (size_t k = 0; k < n_lines; k++)
      {
        size_t line = lines != NULL ? lines[k] : first_line + k;

        index->lk[line].prefix = load_prefix (index, index->lk[line].key, 0);
      }

  return ok;
}

gboolean
weft_sort_index_prepare_keys (WeftSortIndex            *index,
                              size_t                    first_line,
                              size_t                    n_lines,
                              const WeftSortCancelFlag *cancel,
                              GError                  **error)
{
  SortCancel c = { cancel, NULL, NULL };

  g_return_val_if_fail (index != NULL, FALSE);
  g_return_val_if_fail (first_line + n_lines <= index->n_lines, FALSE);

  return prepare_keys (index, NULL, first_line, n_lines, &c, error);
}

/* Comparisons */

#define ISDIGIT(c) ((unsigned int) (c) - '0' <= 9)

/* A key as GNU's strnumcmp() reads it: a NUL-terminated string, here
 * bounded, reading as NUL past its end. */
typedef struct
{
  const guchar *p;
  size_t        len;
  size_t        i;
} NumCursor;

static inline int
num_cur (const NumCursor *c)
{
  return c->i < c->len ? c->p[c->i] : 0;
}

static inline int
num_next (NumCursor *c)
{
  if (c->i < c->len)
    c->i++;
  return num_cur (c);
}

/* gnulib's fraccompare(): A and B sit on a decimal point or past a
 * number's integer part. */
static int
fraccompare (NumCursor a,
             NumCursor b,
             int       decimal_point)
{
  int ca = num_cur (&a), cb = num_cur (&b);

  if (ca == decimal_point && cb == decimal_point)
    {
      for (;;)
        {
          ca = num_next (&a);
          cb = num_next (&b);
          if (ca != cb)
            break;
          if (!ISDIGIT (ca))
            return 0;
        }
      if (ISDIGIT (ca) && ISDIGIT (cb))
        return ca - cb;
      if (ISDIGIT (ca))
        {
          while (ca == '0')
            ca = num_next (&a);
          return ISDIGIT (ca);
        }
      if (ISDIGIT (cb))
        {
          while (cb == '0')
            cb = num_next (&b);
          return -ISDIGIT (cb);
        }
      return 0;
    }
  if (ca == decimal_point)
    {
      ca = num_next (&a);
      while (ca == '0')
        ca = num_next (&a);
      return ISDIGIT (ca);
    }
  if (cb == decimal_point)
    {
      cb = num_next (&b);
      while (cb == '0')
        cb = num_next (&b);
      return -ISDIGIT (cb);
    }
  return 0;
}

/* gnulib's numcompare(), the core of `sort -n`. */
static int
numcompare (const WeftSortIndex *index,
            Span                 ka,
            Span                 kb)
{
  NumCursor a = { (const guchar *) ka.ptr, ka.len, 0 };
  NumCursor b = { (const guchar *) kb.ptr, kb.len, 0 };
  int dp = index->decimal_point, ts = index->thousands_sep;
  int ta, tb, tmp;
  size_t log_a, log_b;

  while (a.i < a.len && index->blanks[a.p[a.i]])
    a.i++;
  while (b.i < b.len && index->blanks[b.p[b.i]])
    b.i++;
  ta = num_cur (&a);
  tb = num_cur (&b);

  if (ta == '-')
    {
      do
        ta = num_next (&a);
      while (ta == '0' || ta == ts);
      if (tb != '-')
        {
          if (ta == dp)
            do
              ta = num_next (&a);
            while (ta == '0');
          if (ISDIGIT (ta))
            return -1;
          while (tb == '0' || tb == ts)
            tb = num_next (&b);
          if (tb == dp)
            do
              tb = num_next (&b);
            while (tb == '0');
          return -ISDIGIT (tb);
        }
      do
        tb = num_next (&b);
      while (tb == '0' || tb == ts);

      while (ta == tb && ISDIGIT (ta))
        {
          do
            ta = num_next (&a);
          while (ta == ts);
          do
            tb = num_next (&b);
          while (tb == ts);
        }

      if ((ta == dp && !ISDIGIT (tb)) || (tb == dp && !ISDIGIT (ta)))
        return fraccompare (b, a, dp);

      tmp = tb - ta;
      for (log_a = 0; ISDIGIT (ta); ++log_a)
        do
          ta = num_next (&a);
        while (ta == ts);
      for (log_b = 0; ISDIGIT (tb); ++log_b)
        do
          tb = num_next (&b);
        while (tb == ts);

      if (log_a != log_b)
        return log_a < log_b ? 1 : -1;
      if (log_a == 0)
        return 0;
      return tmp;
    }
  else if (tb == '-')
    {
      do
        tb = num_next (&b);
      while (tb == '0' || tb == ts);
      if (tb == dp)
        do
          tb = num_next (&b);
        while (tb == '0');
      if (ISDIGIT (tb))
        return 1;
      while (ta == '0' || ta == ts)
        ta = num_next (&a);
      if (ta == dp)
        do
          ta = num_next (&a);
        while (ta == '0');
      return ISDIGIT (ta);
    }

  while (ta == '0' || ta == ts)
    ta = num_next (&a);
  while (tb == '0' || tb == ts)
    tb = num_next (&b);

  while (ta == tb && ISDIGIT (ta))
    {
      do
        ta = num_next (&a);
      while (ta == ts);
      do
        tb = num_next (&b);
      while (tb == ts);
    }

  if ((ta == dp && !ISDIGIT (tb)) || (tb == dp && !ISDIGIT (ta)))
    return fraccompare (a, b, dp);

  tmp = ta - tb;
  for (log_a = 0; ISDIGIT (ta); ++log_a)
    do
      ta = num_next (&a);
    while (ta == ts);
  for (log_b = 0; ISDIGIT (tb); ++log_b)
    do
      tb = num_next (&b);
    while (tb == ts);

  if (log_a != log_b)
    return log_a < log_b ? -1 : 1;
  if (log_a == 0)
    return 0;
  return tmp;
}

static inline int
compare_bytes (Span a,
               Span b)
{
  int d = memcmp (a.ptr, b.ptr, MIN (a.len, b.len));

  if (d != 0)
    return d;
  return (a.len > b.len) - (a.len < b.len);
}

/* compare_bytes() for keys known to agree on their first @skip bytes (or
 * up to the end of the shorter). */
static inline int
compare_bytes_from (Span   a,
                    Span   b,
                    size_t skip)
{
  size_t n = MIN (a.len, b.len);
  int d;

  skip = MIN (skip, n);
  d = memcmp (a.ptr + skip, b.ptr + skip, n - skip);
  if (d != 0)
    return d;
  return (a.len > b.len) - (a.len < b.len);
}

static int
compare_folded (const WeftSortIndex *index,
                Span                 a,
                Span                 b)
{
  size_t n = MIN (a.len, b.len);

  for (size_t i = 0; i < n; i++)
    {
      int d = index->fold[(guchar) a.ptr[i]] - index->fold[(guchar) b.ptr[i]];

      if (d != 0)
        return d;
    }
  return (a.len > b.len) - (a.len < b.len);
}

/* gnulib's strcoll_loop(): strcoll() over NUL-separated pieces; each
 * string of @size bytes ends in NUL. */
static int
strcoll_pieces (const WeftSortIndex *index,
                const char          *s1,
                size_t               s1size,
                const char          *s2,
                size_t               s2size)
{
  int diff;

  while ((diff = strcoll_l (s1, s2, index->locale)) == 0)
    {
      size_t size1 = strlen (s1) + 1;
      size_t size2 = strlen (s2) + 1;

      s1 += size1;
      s2 += size2;
      s1size -= size1;
      s2size -= size2;
      if (s1size == 0)
        return -(s2size != 0);
      if (s2size == 0)
        return 1;
    }
  return diff;
}

/* GNU sort's locale comparison of two keys (xmemcoll0() after its empty
 * checks), on NUL-terminated copies, folded for -f. Only reached when the
 * primary weights tie. */
static int
compare_collated (const WeftSortIndex *index,
                  Span                 a,
                  Span                 b,
                  gboolean             fold)
{
  char abuf[256], bbuf[256];
  char *x, *y;
  int d;

  if (a.len == 0)
    return -(b.len != 0);
  if (b.len == 0)
    return 1;

  x = a.len < sizeof abuf ? abuf : g_malloc (a.len + 1);
  y = b.len < sizeof bbuf ? bbuf : g_malloc (b.len + 1);
  for (size_t i = 0; i < a.len; i++)
    x[i] = fold ? (char) index->fold[(guchar) a.ptr[i]] : a.ptr[i];
  for (size_t i = 0; i < b.len; i++)
    y[i] = fold ? (char) index->fold[(guchar) b.ptr[i]] : b.ptr[i];
  x[a.len] = y[b.len] = '\0';

  if (a.len == b.len && memcmp (x, y, a.len) == 0)
    d = 0;
  else
    d = strcoll_pieces (index, x, a.len + 1, y, b.len + 1);

  if (x != abuf)
    g_free (x);
  if (y != bbuf)
    g_free (y);
  return d;
}

static inline Span
whole_line (const WeftSortIndex *index,
            guint32              line)
{
  return (Span) { line_ptr (index, line), line_len (index, line) };
}

static Span
key_region (const WeftSortIndex *index,
            guint32              line)
{
  Span s = whole_line (index, line);
  size_t start = index->opts.column > 1 ? field_start (index, s.ptr, s.len) : 0;

  return (Span) { s.ptr + start, s.len - start };
}

/* The key comparison, before -r. */
static inline int
compare_keys (const WeftSortIndex *index,
              guint32              a,
              guint32              b)
{
  int d;

  if (!index->opts.numeric)
    {
      guint64 pa = index->lk[a].prefix, pb = index->lk[b].prefix;

      if (pa != pb)
        return pa < pb ? -1 : 1;
    }
  if (index->opts.numeric)
    return numcompare (index, index->lk[a].key, index->lk[b].key);
  if (index->fold_bytes)
    return compare_folded (index, index->lk[a].key, index->lk[b].key);
  d = compare_bytes_from (index->lk[a].key, index->lk[b].key, 8);
  if (d != 0 || !index->xfrm)
    return d;
  return compare_collated (index, key_region (index, a), key_region (index, b),
                           index->opts.ignore_case);
}

/* GNU's last-resort comparison of whole lines, before -r. */
static int
compare_whole (const WeftSortIndex *index,
               guint32              a,
               guint32              b)
{
  int d;

  if (!index->xfrm_full)
    return compare_bytes (whole_line (index, a), whole_line (index, b));
  d = compare_bytes (index->full[a], index->full[b]);
  if (d != 0)
    return d;
  return compare_collated (index, whole_line (index, a), whole_line (index, b), FALSE);
}

/* The total order every step sorts by: keys, then (if GNU would) whole
 * lines, -r applied to both; then input order, which makes the sort
 * stable and lets any algorithm produce the same permutation. */
static inline int
compare_lines (const WeftSortIndex *index,
               guint32              a,
               guint32              b)
{
  int d = compare_keys (index, a, b);

  if (d == 0 && index->last_resort)
    d = compare_whole (index, a, b);
  if (d != 0)
    return (d < 0) != index->opts.reverse ? -1 : 1;
  return (a > b) - (a < b);
}

/* Where the keys of @a and @b first differ, from @from on (both agree
 * before it), or the shorter key's length: their LCP. */
static size_t
key_lcp (const WeftSortIndex *index,
         guint32              a,
         guint32              b,
         size_t               from)
{
  Span ka = index->lk[a].key, kb = index->lk[b].key;
  size_t n = MIN (ka.len, kb.len), i = MIN (from, n);

  if (index->fold_bytes)
    {
      while (i < n && index->fold[(guchar) ka.ptr[i]] == index->fold[(guchar) kb.ptr[i]])
        i++;
      return i;
    }
  while (i + 8 <= n)
    {
      guint64 x, y;

      memcpy (&x, ka.ptr + i, 8);
      memcpy (&y, kb.ptr + i, 8);
      if (x != y)
        return i + (size_t) __builtin_ctzll (x ^ y) / 8;
      i += 8;
    }
  while (i < n && ka.ptr[i] == kb.ptr[i])
    i++;
  return i;
}

static inline guint32
clamp_lcp (size_t lcp)
{
  return (guint32) MIN (lcp, (size_t) G_MAXUINT32);
}

/* Whether runs carry LCPs: byte-comparable keys, and no key so long that
 * its LCP would not fit in 32 bits. */
static inline gboolean
uses_lcp (const WeftSortIndex *index)
{
  return !index->opts.numeric && index->len < G_MAXUINT32;
}

gboolean
weft_sort_is_duplicate (const WeftSortIndex *index,
                        guint32              prev,
                        guint32              line)
{
  return compare_keys (index, prev, line) == 0;
}

/* Sorting one run */

typedef struct
{
  const WeftSortIndex      *index;
  const SortCancel         *cancel;
  gboolean                  cancelled;
  size_t                    work;  /* lines handled since the last cancel check */
} RunContext;

static gboolean
run_check_cancel (RunContext *ctx,
                  size_t      n)
{
  ctx->work += n;
  if (ctx->work >= CANCEL_STRIDE)
    {
      ctx->work = 0;
      if (is_cancelled (ctx->cancel))
        ctx->cancelled = TRUE;
    }
  return ctx->cancelled;
}

static void
insertion_sort (const WeftSortIndex *index,
                Entry               *e,
                size_t               n)
{
  for (size_t i = 1; i < n; i++)
    {
      Entry x = e[i];
      size_t j = i;

      while (j > 0 && compare_lines (index, x.line, e[j - 1].line) < 0)
        {
          e[j] = e[j - 1];
          j--;
        }
      e[j] = x;
    }
}

/* Bottom-up merge sort by compare_lines(), for numeric keys and for
 * groups the radix sort hands over. */
static void
comparison_sort (RunContext *ctx,
                 Entry      *e,
                 Entry      *tmp,
                 size_t      n)
{
  const WeftSortIndex *index = ctx->index;
  Entry *src = e, *dst = tmp;
  const size_t block = 16;

  for (size_t i = 0; i < n; i += block)
    insertion_sort (index, e + i, MIN (block, n - i));

  for (size_t width = block; width < n; width *= 2)
    {
      for (size_t lo = 0; lo < n; lo += 2 * width)
        {
          size_t mid = MIN (lo + width, n), hi = MIN (lo + 2 * width, n);
          size_t i = lo, j = mid, k = lo;

          if (run_check_cancel (ctx, hi - lo))
            return;
          while (i < mid && j < hi)
            dst[k++] = compare_lines (index, src[j].line, src[i].line) < 0 ? src[j++] : src[i++];
          while (i < mid)
            dst[k++] = src[i++];
          while (j < hi)
            dst[k++] = src[j++];
        }
      Entry *swap = src;
      src = dst;
      dst = swap;
    }
  if (src != e)
    memcpy (e, src, n * sizeof (Entry));
}

/* Stable LSD radix sort of @e by key, skipping bytes all keys share. */
static void
radix_sort (RunContext *ctx,
            Entry      *e,
            Entry      *tmp,
            size_t      n)
{
  size_t count[8][256];
  Entry *src = e, *dst = tmp;

  memset (count, 0, sizeof count);

  for (size_t i = 0; i < n; i++)
    {
      guint64 k = e[i].key;

      for (int b = 0; b < 8; b++)
        count[b][(k >> (8 * b)) & 0xff]++;
    }

  for (int b = 0; b < 8; b++)
    {
      size_t sum = 0;

      if (count[b][(e[0].key >> (8 * b)) & 0xff] == n)
        continue;
      for (int d = 0; d < 256; d++)
        {
          size_t c = count[b][d];

          count[b][d] = sum;
          sum += c;
        }
      for (size_t i = 0; i < n; i++)
        dst[count[b][(src[i].key >> (8 * b)) & 0xff]++] = src[i];
      /* A pass over a whole run is the longest stretch without a look at
       * the flag; after cancellation the order no longer matters. */
      if (run_check_cancel (ctx, n))
        return;
      Entry *swap = src;
      src = dst;
      dst = swap;
    }
  if (src != e)
    memcpy (e, src, n * sizeof (Entry));
}

/* Stable insertion sort by key alone, for small groups. */
static void
insertion_sort_keys (Entry  *e,
                     size_t  n)
{
  for (size_t i = 1; i < n; i++)
    {
      Entry x = e[i];
      size_t j = i;

      while (j > 0 && x.key < e[j - 1].key)
        {
          e[j] = e[j - 1];
          j--;
        }
      e[j] = x;
    }
}

static void msd_sort (RunContext *ctx,
                      Entry      *e,
                      Entry      *tmp,
                      size_t      n,
                      size_t      depth);

/* @e[0..n) share their first @depth + 8 key bytes (zero padded). Lines
 * whose key ends within them come first (shortest first), as a prefix
 * sorts before its extensions; the rest go one radix level deeper. */
static void
resolve_group (RunContext *ctx,
               Entry      *e,
               Entry      *tmp,
               size_t      n,
               size_t      depth)
{
  const WeftSortIndex *index = ctx->index;
  gboolean reverse = index->opts.reverse;
  size_t end = depth + 8;
  size_t n_fin = 0, n_unfin = 0;
  size_t bucket[10] = { 0 };
  gboolean any_finished = FALSE;

  for (size_t i = 0; i < n && !any_finished; i++)
    any_finished = index->lk[e[i].line].key.len <= end;
  /* The usual case, keys longer than what was compared so far. */
  if (!any_finished)
    {
      msd_sort (ctx, e, tmp, n, end);
      return;
    }

  /* Finished keys have a length in [depth, end]: counting-sort them by it,
   * stably, into tmp; unfinished ones after them, in order. */
  for (size_t i = 0; i < n; i++)
    {
      size_t len = index->lk[e[i].line].key.len;

      if (len <= end)
        {
          bucket[len - depth + 1]++;
          n_fin++;
        }
    }
  for (int b = 1; b < 10; b++)
    bucket[b] += bucket[b - 1];
  for (size_t i = 0; i < n; i++)
    {
      size_t len = index->lk[e[i].line].key.len;

      if (len <= end)
        tmp[bucket[len - depth]++] = e[i];
      else
        tmp[n_fin + n_unfin++] = e[i];
    }

  /* Equal lengths mean equal keys: only the last resort (or, for primary
   * weights, strcoll()) tells them apart. */
  for (size_t i = 0; i < n_fin;)
    {
      size_t j = i + 1;

      while (j < n_fin && index->lk[tmp[j].line].key.len == index->lk[tmp[i].line].key.len)
        j++;
      if (j - i > 1 && (index->last_resort || index->xfrm))
        comparison_sort (ctx, tmp + i, e + i, j - i);
      i = j;
    }

  if (!reverse)
    {
      memcpy (e, tmp, n * sizeof (Entry));
      if (n_unfin > 1)
        msd_sort (ctx, e + n_fin, tmp + n_fin, n_unfin, end);
      /* A finished key is a prefix of every key after it in the group. */
      for (size_t i = 1; i <= n_fin && i < n; i++)
        e[i].lcp = clamp_lcp (index->lk[e[i - 1].line].key.len);
    }
  else
    {
      /* Descending: the extensions first, then the finished keys longest
       * first, each length's group keeping its own order. */
      size_t k = n_unfin;

      memcpy (e, tmp + n_fin, n_unfin * sizeof (Entry));
      for (size_t i = n_fin; i > 0;)
        {
          size_t j = i - 1;

          while (j > 0 && index->lk[tmp[j - 1].line].key.len == index->lk[tmp[i - 1].line].key.len)
            j--;
          memcpy (e + k, tmp + j, (i - j) * sizeof (Entry));
          k += i - j;
          i = j;
        }
      if (n_unfin > 1)
        msd_sort (ctx, e, tmp, n_unfin, end);
      for (size_t i = MAX (n_unfin, 1); i < n; i++)
        e[i].lcp = clamp_lcp (index->lk[e[i].line].key.len);
    }
}

/* Most-significant-digit radix sort with 8-byte digits: sort by the key
 * bytes at @depth, then resolve each group of equal digits. Keys are
 * loaded level by level, so lines sharing long prefixes cost a pass over
 * only those lines, not a full comparison each time they meet. */
static void
msd_sort (RunContext *ctx,
          Entry      *e,
          Entry      *tmp,
          size_t      n,
          size_t      depth)
{
  const WeftSortIndex *index = ctx->index;
  guint64 flip = index->opts.reverse ? G_MAXUINT64 : 0;

  if (run_check_cancel (ctx, n))
    return;

  if (n < 2)
    return;
  if (depth >= MAX_RADIX_DEPTH)
    {
      comparison_sort (ctx, e, tmp, n);
      for (size_t i = 1; i < n; i++)
        e[i].lcp = clamp_lcp (key_lcp (index, e[i - 1].line, e[i].line, depth));
      return;
    }

  for (size_t i = 0; i < n; i++)
    {
      guint64 k;

      /* The loads are the cache misses of this sort: start the next
       * ones early. */
      if (depth > 0 && i + 16 < n)
        __builtin_prefetch (&index->lk[e[i + 16].line]);
      if (depth > 0 && i + 8 < n)
        __builtin_prefetch (index->lk[e[i + 8].line].key.ptr + depth);
      k = depth == 0 ? index->lk[e[i].line].prefix
                     : load_prefix (index, index->lk[e[i].line].key, depth);
      e[i].key = k ^ flip;
    }
  if (n < SMALL_GROUP)
    insertion_sort_keys (e, n);
  else
    radix_sort (ctx, e, tmp, n);

  /* Resolving a group reorders it and reloads its keys, so each group's
   * digit is kept for the LCP across the boundary with the group before,
   * taken once both sides are final. */
  guint64 prev_key = 0;

  for (size_t i = 0; i < n && !ctx->cancelled;)
    {
      guint64 key = e[i].key;
      size_t j = i + 1;

      while (j < n && e[j].key == key)
        j++;
      if (j - i > 1)
        resolve_group (ctx, e + i, tmp + i, j - i, depth);
      if (i > 0)
        {
          size_t lcp = depth + (size_t) __builtin_clzll (prev_key ^ key) / 8;

          lcp = MIN (lcp, index->lk[e[i - 1].line].key.len);
          lcp = MIN (lcp, index->lk[e[i].line].key.len);
          e[i].lcp = clamp_lcp (lcp);
        }
      prev_key = key;
      i = j;
    }
}

/* Sorts @n lines, given in input order by @lines (or, when @lines is NULL,
 * the range starting at @first_line). */
static gboolean
sort_lines (const WeftSortIndex      *index,
            const guint32            *lines,
            size_t                    first_line,
            size_t                    n,
            guint32                  *out_perm,
            guint32                  *out_lcp,
            const SortCancel         *cancel,
            GError                  **error)
{
  RunContext ctx = { index, cancel, FALSE, 0 };
  Entry *e, *tmp;

  if (is_cancelled (cancel))
    return set_cancelled (error);

  e = weft_new_large (Entry, n);
  tmp = weft_new_large (Entry, n);
  for (size_t i = 0; i < n; i++)
    e[i] = (Entry) { 0, lines != NULL ? lines[i] : (guint32) (first_line + i), 0 };

  if (!index->opts.numeric)
    msd_sort (&ctx, e, tmp, n, 0);
  else
    comparison_sort (&ctx, e, tmp, n);

  for (size_t i = 0; i < n; i++)
    out_perm[i] = e[i].line;
  if (out_lcp != NULL)
    {
      if (uses_lcp (index))
        for (size_t i = 0; i < n; i++)
          out_lcp[i] = i > 0 ? e[i].lcp : 0;
      else
        memset (out_lcp, 0, n * sizeof (guint32));
    }
  g_free (e);
  g_free (tmp);

  if (ctx.cancelled)
    return set_cancelled (error);
  return TRUE;
}

gboolean
weft_sort_run (const WeftSortIndex      *index,
               size_t                    first_line,
               size_t                    n_lines,
               guint32                  *out_perm,
               guint32                  *out_lcp,
               const WeftSortCancelFlag *cancel,
               GError                  **error)
{
  g_return_val_if_fail (index != NULL, FALSE);
  g_return_val_if_fail (first_line + n_lines <= index->n_lines, FALSE);
  g_return_val_if_fail (out_perm != NULL || n_lines == 0, FALSE);

  return sort_lines (index, NULL, first_line, n_lines, out_perm, out_lcp,
                     &(SortCancel) { cancel, NULL, NULL }, error);
}

gboolean
weft_sort_run_lines (const WeftSortIndex      *index,
                     const guint32            *lines,
                     size_t                    n_lines,
                     guint32                  *out_perm,
                     guint32                  *out_lcp,
                     const WeftSortCancelFlag *cancel,
                     GError                  **error)
{
  g_return_val_if_fail (index != NULL, FALSE);
  g_return_val_if_fail (lines != NULL || n_lines == 0, FALSE);
  g_return_val_if_fail (out_perm != NULL || n_lines == 0, FALSE);

  return sort_lines (index, lines, 0, n_lines, out_perm, out_lcp,
                     &(SortCancel) { cancel, NULL, NULL }, error);
}

/* Partitioning by key range */

/* The sort-order key of a line's prefix: ascending in output order. */
static inline guint64
bucket_key (const WeftSortIndex *index,
            guint32              line)
{
  guint64 k = index->lk[line].prefix;

  return index->opts.reverse ? ~k : k;
}

static int
compare_u64 (const void *a,
             const void *b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;

  return (x > y) - (x < y);
}

/* Samples the prefixes of lines [0, n_lines) for @n_buckets - 1 splitters
 * (deterministic: every thread computes the same ones). */
void
weft_sort_choose_splitters (const WeftSortIndex *index,
                            guint                n_buckets,
                            guint64             *out_splitters)
{
  size_t n = index->n_lines;
  size_t n_samples = MAX (1, 64 * (size_t) n_buckets);
  guint64 *samples;

  g_return_if_fail (!index->opts.numeric);

  if (n_buckets < 2)
    return;
  samples = g_new (guint64, n_samples);
  for (size_t s = 0; s < n_samples; s++)
    samples[s] = n > 0 ? bucket_key (index, (guint32) ((guint64) n * s / n_samples)) : 0;
  qsort (samples, n_samples, sizeof (guint64), compare_u64);
  for (guint b = 1; b < n_buckets; b++)
    out_splitters[b - 1] = samples[(size_t) b * n_samples / n_buckets];
  g_free (samples);
}

static guint
bucket_of_key (guint64        k,
               const guint64 *splitters,
               guint          n_buckets)
{
  guint lo = 0, hi = n_buckets - 1;

  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;

      if (splitters[mid] <= k)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

/* Lines with equal prefixes always land in the same bucket, and every
 * line of bucket b sorts before every line of bucket b + 1. */
guint
weft_sort_bucket_of (const WeftSortIndex *index,
                     guint32              line,
                     const guint64       *splitters,
                     guint                n_buckets)
{
  return bucket_of_key (bucket_key (index, line), splitters, n_buckets);
}

/* Merging */

/* How far ahead a merge fetches: a line's record at twice the distance,
 * then, once that has arrived, its key bytes. */
#define MERGE_PREFETCH 8

static inline void
prefetch_ahead (const WeftSortIndex *index,
                const guint32       *run,
                size_t               n,
                size_t               pos)
{
  if (pos + 2 * MERGE_PREFETCH < n)
    __builtin_prefetch (&index->lk[run[pos + 2 * MERGE_PREFETCH]]);
  if (pos + MERGE_PREFETCH < n)
    {
      const LineKey *lk = &index->lk[run[pos + MERGE_PREFETCH]];

      /* A line of ~60 bytes straddles two cache lines more often than not. */
      __builtin_prefetch (lk->key.ptr);
      if (lk->key.len > 8)
        __builtin_prefetch (lk->key.ptr + MIN (lk->key.len - 1, 64));
    }
}

size_t
weft_sort_merge_corank (const WeftSortIndex *index,
                        const guint32       *a,
                        size_t               n_a,
                        const guint32       *b,
                        size_t               n_b,
                        size_t               out_pos)
{
  size_t lo = out_pos > n_b ? out_pos - n_b : 0;
  size_t hi = MIN (out_pos, n_a);

  g_return_val_if_fail (out_pos <= n_a + n_b, 0);

  /* The smallest i with a[i] after b[out_pos - i - 1]. */
  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;

      if (compare_lines (index, a[mid], b[out_pos - mid - 1]) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

/* The LCP merge: a head that shares more of its key with the last line
 * output comes first (in either direction: the other head left that line
 * earlier, on its far side). Only heads sharing equally much are compared,
 * and only from there on, so most steps read no text at all. */
static void
merge_lcp (const WeftSortIndex *index,
           const guint32       *a,
           const guint32       *a_lcp,
           size_t               n_a,
           const guint32       *b,
           const guint32       *b_lcp,
           size_t               n_b,
           size_t               i,
           size_t               j,
           size_t               count,
           guint32             *out,
           guint32             *out_lcp)
{
  gboolean reverse = index->opts.reverse;
  size_t ha = 0, hb = 0;

  /* The LCPs of the heads with the line just before the slice. */
  if (i + j > 0)
    {
      guint32 prev = (i > 0 && (j == 0 || compare_lines (index, a[i - 1], b[j - 1]) > 0))
                       ? a[i - 1] : b[j - 1];

      if (i < n_a)
        ha = key_lcp (index, prev, a[i], 0);
      if (j < n_b)
        hb = key_lcp (index, prev, b[j], 0);
    }

  for (size_t k = 0; k < count; k++)
    {
      gboolean take_a;

      prefetch_ahead (index, a, n_a, i);
      prefetch_ahead (index, b, n_b, j);

      if (j >= n_b)
        take_a = TRUE;
      else if (i >= n_a)
        take_a = FALSE;
      else if (ha != hb)
        take_a = ha > hb;
      else
        {
          size_t p = key_lcp (index, a[i], b[j], ha);
          Span ka = index->lk[a[i]].key, kb = index->lk[b[j]].key;
          int c;

          if (p < ka.len && p < kb.len)
            {
              int ca = (guchar) ka.ptr[p], cb = (guchar) kb.ptr[p];

              if (index->fold_bytes)
                {
                  ca = index->fold[ca];
                  cb = index->fold[cb];
                }
              c = (ca < cb) != reverse ? -1 : 1;
            }
          else if (ka.len != kb.len)
            c = (ka.len < kb.len) != reverse ? -1 : 1;
          else
            c = compare_lines (index, a[i], b[j]);
          take_a = c < 0;
          /* The head left behind shares p bytes with the one output. */
          if (take_a)
            hb = p;
          else
            ha = p;
        }

      if (take_a)
        {
          out[k] = a[i];
          if (out_lcp != NULL)
            out_lcp[k] = clamp_lcp (ha);
          i++;
          ha = i < n_a ? a_lcp[i] : 0;
        }
      else
        {
          out[k] = b[j];
          if (out_lcp != NULL)
            out_lcp[k] = clamp_lcp (hb);
          j++;
          hb = j < n_b ? b_lcp[j] : 0;
        }
    }
}

void
weft_sort_merge_slice (const WeftSortIndex *index,
                       const guint32       *a,
                       const guint32       *a_lcp,
                       size_t               n_a,
                       const guint32       *b,
                       const guint32       *b_lcp,
                       size_t               n_b,
                       size_t               out_begin,
                       size_t               out_end,
                       guint32             *out,
                       guint32             *out_lcp)
{
  size_t i, j;

  g_return_if_fail (out_begin <= out_end && out_end <= n_a + n_b);
  g_return_if_fail (out_lcp == NULL || (a_lcp != NULL && b_lcp != NULL));

  i = weft_sort_merge_corank (index, a, n_a, b, n_b, out_begin);
  j = out_begin - i;

  if (a_lcp != NULL && b_lcp != NULL && uses_lcp (index))
    {
      merge_lcp (index, a, a_lcp, n_a, b, b_lcp, n_b, i, j, out_end - out_begin, out, out_lcp);
      return;
    }

  for (size_t k = 0; k < out_end - out_begin; k++)
    {
      prefetch_ahead (index, a, n_a, i);
      prefetch_ahead (index, b, n_b, j);
      if (j >= n_b || (i < n_a && compare_lines (index, a[i], b[j]) < 0))
        out[k] = a[i++];
      else
        out[k] = b[j++];
      if (out_lcp != NULL)
        out_lcp[k] = 0;
    }
}

size_t
weft_sort_unique (const WeftSortIndex *index,
                  guint32             *perm,
                  size_t               n_perm)
{
  size_t kept = 0;

  g_return_val_if_fail (index != NULL, 0);

  for (size_t i = 0; i < n_perm; i++)
    if (i == 0 || !weft_sort_is_duplicate (index, perm[kept - 1], perm[i]))
      perm[kept++] = perm[i];
  return kept;
}

/* Output */

size_t
weft_sort_output_length (const WeftSortIndex *index,
                         const guint32       *perm,
                         size_t               n_perm,
                         size_t               first,
                         size_t               count)
{
  size_t total = 0;

  g_return_val_if_fail (first + count <= n_perm, 0);

  for (size_t i = first; i < first + count; i++)
    total += line_len (index, perm[i]) + 1;
  if (count > 0 && first + count == n_perm && !index->final_newline)
    total--;
  return total;
}

void
weft_sort_output_write (const WeftSortIndex *index,
                        const guint32       *perm,
                        size_t               n_perm,
                        size_t               first,
                        size_t               count,
                        char                *out)
{
  g_return_if_fail (first + count <= n_perm);

  for (size_t i = first; i < first + count; i++)
    {
      size_t len = line_len (index, perm[i]);

      if (i + 2 * MERGE_PREFETCH < first + count)
        __builtin_prefetch (&index->line_off[perm[i + 2 * MERGE_PREFETCH]]);
      if (i + MERGE_PREFETCH < first + count)
        __builtin_prefetch (line_ptr (index, perm[i + MERGE_PREFETCH]));
      memcpy (out, line_ptr (index, perm[i]), len);
      out += len;
      if (i + 1 < n_perm || index->final_newline)
        *out++ = '\n';
    }
}

/* Layer 2: the whole sort on pthreads */

typedef struct
{
  /* Set before the threads start; read-only while they run. */
  WeftSortIndex            *index;
  const SortCancel         *cancel;
  guint                     n_threads;
  size_t                    n;
  guint32                  *bufs[2];  /* each thread writes only its own output slice per phase */
  guint32                  *lcps[2];  /* the LCPs of bufs[], likewise */
  size_t                    run_bounds[MAX_THREADS + 1];
  pthread_barrier_t         barrier;

  /* One flag per phase, set by a thread that failed in that phase and
   * read by all after the phase's barrier, so they all stop together. */
  atomic_bool               failed[72];

  /* Thread t writes slot t (or row t) before a barrier; all read after it. */
  size_t                   *counts;  /* T x T: lines of thread t's range per bucket */
  guint8                   *buckets; /* per line, written by the thread whose range holds it */
  size_t                    kept[MAX_THREADS];

  /* Written by thread 0 at the end, read after the join. */
  int                       final_buf;
  size_t                    n_final;
} SortJob;

typedef struct
{
  SortJob  *job;
  guint     id;
  pthread_t thread;
  GError   *error;   /* owned by the worker until joined */
} SortWorker;

/* Outputs merged between two looks at the cancel flag. */
#define MERGE_PIECE 65536

/* Ends a phase: returns FALSE (for every thread alike) if any failed. */
static gboolean
phase_end (SortJob  *job,
           guint     phase,
           gboolean  ok)
{
  if (!ok)
    atomic_store_explicit (&job->failed[phase], TRUE, memory_order_relaxed);
  pthread_barrier_wait (&job->barrier);
  return !atomic_load_explicit (&job->failed[phase], memory_order_relaxed);
}

static void *
sort_worker (void *data)
{
  SortWorker *w = data;
  SortJob *job = w->job;
  WeftSortIndex *index = job->index;
  guint t = w->id, T = job->n_threads;
  size_t runs[MAX_THREADS + 1];
  size_t n_runs = T;
  guint phase = 0;
  int cur = 0;
  size_t lo = job->run_bounds[t], hi = job->run_bounds[t + 1];
  gboolean ok;

  ok = prepare_keys (index, NULL, lo, hi - lo, job->cancel, &w->error);
  if (!phase_end (job, phase++, ok))
    return NULL;

  /* First choice: split the lines into T runs by key range, so that the
   * sorted runs follow one another and the merge is a no-op. Unless one
   * prefix is so common that a bucket would be much larger than its
   * share: then runs by position and merge rounds. */
  if (!index->opts.numeric && T > 1)
    {
      guint64 splitters[MAX_THREADS];
      size_t *counts = job->counts + (size_t) t * T;
      size_t largest = 0, start = 0, b_start = 0, b_size = 0;

      weft_sort_choose_splitters (index, T, splitters);
      memset (counts, 0, T * sizeof (size_t));
      for (size_t line = lo; line < hi; line++)
        {
          guint b = weft_sort_bucket_of (index, (guint32) line, splitters, T);

          job->buckets[line] = (guint8) b;
          counts[b]++;
        }
      if (!phase_end (job, phase++, TRUE))
        return NULL;

      for (guint b = 0; b < T; b++)
        {
          size_t size = 0;

          for (guint u = 0; u < T; u++)
            size += job->counts[(size_t) u * T + b];
          largest = MAX (largest, size);
          if (b < t)
            b_start += size;
          if (b == t)
            b_size = size;
        }

      if (largest <= job->n / T + job->n / (2 * T) + 16)
        {
          /* Scatter this thread's lines, in line order, to where each
           * bucket's part from this thread begins. */
          size_t offsets[MAX_THREADS];

          for (guint b = 0; b < T; b++)
            {
              for (guint u = 0; u < T; u++)
                {
                  if (u == t)
                    offsets[b] = start;
                  start += job->counts[(size_t) u * T + b];
                }
            }
          for (size_t line = lo; line < hi; line++)
            job->bufs[1][offsets[job->buckets[line]]++] = (guint32) line;
          if (!phase_end (job, phase++, TRUE))
            return NULL;

          ok = sort_lines (index, job->bufs[1] + b_start, 0, b_size,
                           job->bufs[0] + b_start, NULL, job->cancel, &w->error);
          if (!phase_end (job, phase++, ok))
            return NULL;
          goto sorted;
        }
    }

  ok = sort_lines (index, NULL, lo, hi - lo, job->bufs[0] + lo, job->lcps[0] + lo, job->cancel, &w->error);
  if (!phase_end (job, phase++, ok))
    return NULL;

  memcpy (runs, job->run_bounds, (T + 1) * sizeof (size_t));

  /* Rounds of pairwise merges. Every thread takes the same share of each
   * round's output positions, whichever pairs they fall in. */
  while (n_runs > 1)
    {
      const guint32 *src = job->bufs[cur], *src_lcp = job->lcps[cur];
      guint32 *dst = job->bufs[1 - cur], *dst_lcp = job->lcps[1 - cur];
      size_t out_lo = slice_bound (job->n, t, T), out_hi = slice_bound (job->n, t + 1, T);
      size_t new_n_runs = 0;

      ok = TRUE;
      for (size_t r = 0; r < n_runs; r += 2)
        {
          size_t a0 = runs[r], a1 = runs[r + 1], b1 = r + 2 <= n_runs ? runs[r + 2] : a1;
          size_t s = MAX (out_lo, a0), e = MIN (out_hi, b1);

          /* In pieces, to look at the cancel flag now and then. */
          for (size_t p = s; p < e && ok; p = MIN (e, p + MERGE_PIECE))
            {
              size_t q = MIN (e, p + MERGE_PIECE);

              weft_sort_merge_slice (index, src + a0, src_lcp + a0, a1 - a0,
                                     src + a1, src_lcp + a1, b1 - a1,
                                     p - a0, q - a0, dst + p, dst_lcp + p);
              ok = !is_cancelled (job->cancel);
            }
          runs[new_n_runs++] = a0;
        }
      runs[new_n_runs] = job->n;
      n_runs = new_n_runs;
      cur = 1 - cur;

      if (!ok)
        set_cancelled (&w->error);
      if (!phase_end (job, phase++, ok))
        return NULL;
    }

sorted:
  if (index->opts.unique)
    {
      const guint32 *src = job->bufs[cur];
      guint32 *dst = job->bufs[1 - cur];
      size_t s = slice_bound (job->n, t, T), e = slice_bound (job->n, t + 1, T);
      size_t kept = 0, offset = 0;

      for (size_t i = s; i < e; i++)
        if (i == 0 || !weft_sort_is_duplicate (index, src[i - 1], src[i]))
          kept++;
      job->kept[t] = kept;
      if (!phase_end (job, phase++, TRUE))
        return NULL;

      for (guint u = 0; u < t; u++)
        offset += job->kept[u];
      for (size_t i = s; i < e; i++)
        if (i == 0 || !weft_sort_is_duplicate (index, src[i - 1], src[i]))
          dst[offset++] = src[i];
      cur = 1 - cur;
      if (t == 0)
        {
          size_t total = 0;

          for (guint u = 0; u < T; u++)
            total += job->kept[u];
          job->n_final = total;
        }
    }
  else if (t == 0)
    job->n_final = job->n;

  if (t == 0)
    job->final_buf = cur;
  return NULL;
}

struct _WeftSortResult
{
  WeftSortIndex *index;
  guint32       *perm;
  size_t         n;
  size_t         text_len;
};

static guint
resolve_threads (guint n_threads)
{
  if (n_threads == 0)
    n_threads = (guint) MAX (1, sysconf (_SC_NPROCESSORS_ONLN));
  return MIN (n_threads, MAX_THREADS);
}

static WeftSortResult *
sort_parallel (const char               *text,
               size_t                    len,
               const WeftSortOptions    *opts,
               guint                     n_threads,
               size_t                   *given_off,
               size_t                    given_n,
               const SortCancel         *cancel,
               GError                  **error)
{
  g_autoptr (WeftSortIndex) index = NULL;
  WeftSortResult *result;
  SortJob *job;
  SortWorker workers[MAX_THREADS];
  GError *first_error = NULL;
  guint T;

  g_return_val_if_fail (opts != NULL, NULL);

  T = resolve_threads (n_threads);
  index = index_new (text, len, opts, T, given_off, given_n, error);
  if (index == NULL)
    return NULL;

  if (T > index->n_lines)
    T = (guint) MAX (1, index->n_lines);

  job = g_new0 (SortJob, 1);
  job->index = index;
  job->cancel = cancel;
  job->n_threads = T;
  job->n = index->n_lines;
  job->bufs[0] = weft_new_large (guint32, job->n);
  job->bufs[1] = weft_new_large (guint32, job->n);
  job->lcps[0] = weft_new_large (guint32, job->n);
  job->lcps[1] = weft_new_large (guint32, job->n);
  job->counts = g_new0 (size_t, (size_t) T * T);
  job->buckets = weft_new_large (guint8, job->n);
  for (guint t = 0; t <= T; t++)
    job->run_bounds[t] = slice_bound (job->n, t, T);
  pthread_barrier_init (&job->barrier, NULL, T);

  for (guint t = 0; t < T; t++)
    workers[t] = (SortWorker) { .job = job, .id = t };
  for (guint t = 1; t < T; t++)
    if (pthread_create (&workers[t].thread, NULL, sort_worker, &workers[t]) != 0)
      g_error ("weft-sort: cannot create a thread");
  sort_worker (&workers[0]);
  for (guint t = 1; t < T; t++)
    pthread_join (workers[t].thread, NULL);
  pthread_barrier_destroy (&job->barrier);

  for (guint t = 0; t < T; t++)
    {
      if (workers[t].error != NULL && first_error == NULL)
        first_error = g_steal_pointer (&workers[t].error);
      g_clear_error (&workers[t].error);
    }
  if (first_error == NULL && is_cancelled (cancel))
    set_cancelled (&first_error);
  if (first_error != NULL)
    {
      g_propagate_error (error, first_error);
      g_free (job->bufs[0]);
      g_free (job->bufs[1]);
      g_free (job->lcps[0]);
      g_free (job->lcps[1]);
      g_free (job->counts);
      g_free (job->buckets);
      g_free (job);
      return NULL;
    }

  result = g_new0 (WeftSortResult, 1);
  result->perm = job->bufs[job->final_buf];
  g_free (job->bufs[1 - job->final_buf]);
  g_free (job->lcps[0]);
  g_free (job->lcps[1]);
  g_free (job->counts);
  g_free (job->buckets);
  result->n = job->n_final;
  /* Sorting moves lines, not bytes: only unique mode changes the length. */
  result->text_len = opts->unique
                       ? weft_sort_output_length (index, result->perm, result->n, 0, result->n)
                       : len;
  result->index = g_steal_pointer (&index);
  g_free (job);
  return result;
}

WeftSortResult *
weft_sort_parallel (const char               *text,
                    size_t                    len,
                    const WeftSortOptions    *opts,
                    guint                     n_threads,
                    const WeftSortCancelFlag *cancel,
                    GError                  **error)
{
  g_return_val_if_fail (opts != NULL, NULL);

  return sort_parallel (text, len, opts, n_threads, NULL, 0, &(SortCancel) { cancel, NULL, NULL }, error);
}

void
weft_sort_result_free (WeftSortResult *result)
{
  if (result == NULL)
    return;

  weft_sort_index_free (result->index);
  g_free (result->perm);
  g_free (result);
}

const WeftSortIndex *
weft_sort_result_get_index (const WeftSortResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);

  return result->index;
}

const guint32 *
weft_sort_result_get_permutation (const WeftSortResult *result,
                                  size_t               *out_n)
{
  g_return_val_if_fail (result != NULL, NULL);

  if (out_n != NULL)
    *out_n = result->n;
  return result->perm;
}

size_t
weft_sort_result_get_text_length (const WeftSortResult *result)
{
  g_return_val_if_fail (result != NULL, 0);

  return result->text_len;
}

/* The output is cut into one slice of positions per thread. The first
 * slice starts at 0 and the last ends at the text's length, which is
 * known; only slices in between need the lengths of those before them, so
 * those threads sum their own, wait for each other, then copy. With two
 * threads nobody waits. */
typedef struct
{
  const WeftSortResult *result;
  char                 *out;
  guint                 n_threads;
  pthread_barrier_t     barrier;                 /* only with 3 threads or more */
  size_t                slice_len[MAX_THREADS];  /* slot t: thread t's, before the barrier */
} WriteJob;

typedef struct
{
  WriteJob *job;
  guint     id;
} WriteWorker;

/* weft_sort_output_write() backwards from @out_end, for the last slice. */
static void
output_write_backwards (const WeftSortIndex *index,
                        const guint32       *perm,
                        size_t               n_perm,
                        size_t               first,
                        size_t               count,
                        char                *out_end)
{
  for (size_t i = first + count; i > first; i--)
    {
      size_t len = line_len (index, perm[i - 1]);

      if (i - 1 > first + MERGE_PREFETCH)
        __builtin_prefetch (line_ptr (index, perm[i - 1 - MERGE_PREFETCH]));
      if (i < n_perm || index->final_newline)
        *--out_end = '\n';
      out_end -= len;
      memcpy (out_end, line_ptr (index, perm[i - 1]), len);
    }
}

static void *
write_worker (void *data)
{
  WriteWorker *w = data;
  WriteJob *job = w->job;
  const WeftSortResult *r = job->result;
  guint T = job->n_threads;
  size_t s = slice_bound (r->n, w->id, T);
  size_t e = slice_bound (r->n, w->id + 1, T);
  size_t offset = 0;

  if (T > 1 && w->id + 1 == T)
    {
      output_write_backwards (r->index, r->perm, r->n, s, e - s, job->out + r->text_len);
      if (T > 2)
        pthread_barrier_wait (&job->barrier);
      return NULL;
    }

  if (T > 2)
    {
      job->slice_len[w->id] = weft_sort_output_length (r->index, r->perm, r->n, s, e - s);
      pthread_barrier_wait (&job->barrier);
      for (guint u = 0; u < w->id; u++)
        offset += job->slice_len[u];
    }
  weft_sort_output_write (r->index, r->perm, r->n, s, e - s, job->out + offset);
  return NULL;
}

void
weft_sort_result_write_text (const WeftSortResult *result,
                             char                 *out,
                             guint                 n_threads)
{
  WriteJob job = { 0 };
  WriteWorker workers[MAX_THREADS];
  guint T;

  g_return_if_fail (result != NULL);
  g_return_if_fail (out != NULL || result->text_len == 0);

  T = resolve_threads (n_threads);
  if (T > result->n)
    T = (guint) MAX (1, result->n);

  job.result = result;
  job.out = out;
  job.n_threads = T;
  if (T > 2)
    pthread_barrier_init (&job.barrier, NULL, T);
  for (guint t = 0; t < T; t++)
    workers[t] = (WriteWorker) { &job, t };
  run_threads (write_worker, workers, sizeof (WriteWorker), T);
  if (T > 2)
    pthread_barrier_destroy (&job.barrier);
}

/* Layer 3: a sort as jobs */

/* Options: collation, flags, column, part, parts, locale length (u32
 * each, host order: both ends are the same build), then the locale name. */
#define JOB_OPTIONS_HEADER (6 * sizeof (guint32))
#define JOB_MAX_LOCALE     256

enum
{
  JOB_FLAG_IGNORE_CASE = 1 << 0,
  JOB_FLAG_NUMERIC     = 1 << 1,
  JOB_FLAG_REVERSE     = 1 << 2,
  JOB_FLAG_UNIQUE      = 1 << 3,
  JOB_FLAG_STABLE      = 1 << 4,
  JOB_FLAGS_ALL        = (1 << 5) - 1,
};

GBytes *
weft_sort_job_options (const WeftSortOptions *opts,
                       guint                  part,
                       guint                  n_parts)
{
  size_t locale_len = opts->locale != NULL ? strlen (opts->locale) : 0;
  guint32 header[6];
  GByteArray *out;

  g_return_val_if_fail (n_parts > 0 && part < n_parts, NULL);

  header[0] = opts->collation;
  header[1] = (opts->ignore_case ? JOB_FLAG_IGNORE_CASE : 0) |
              (opts->numeric ? JOB_FLAG_NUMERIC : 0) |
              (opts->reverse ? JOB_FLAG_REVERSE : 0) |
              (opts->unique ? JOB_FLAG_UNIQUE : 0) |
              (opts->stable ? JOB_FLAG_STABLE : 0);
  header[2] = opts->column;
  header[3] = part;
  header[4] = n_parts;
  header[5] = (guint32) MIN (locale_len, (size_t) G_MAXUINT32);
  out = g_byte_array_sized_new (sizeof header + locale_len);
  g_byte_array_append (out, (const guint8 *) header, sizeof header);
  g_byte_array_append (out, (const guint8 *) opts->locale, locale_len);
  return g_byte_array_free_to_bytes (out);
}

static gboolean
bad_job (GError     **error,
         const char  *what)
{
  g_set_error (error, WEFT_ERROR, WEFT_ERROR_FAILED, _("Malformed sort job: %s"), what);
  return FALSE;
}

gboolean
weft_sort_job_options_parse (GBytes           *options,
                             WeftSortOptions  *out_opts,
                             char            **out_locale,
                             guint            *out_part,
                             guint            *out_n_parts,
                             GError          **error)
{
  const guint8 *data;
  gsize len = 0;
  guint32 header[6];

  /* The options may come from another process: every field is checked. */
  data = options != NULL ? g_bytes_get_data (options, &len) : NULL;
  if (len < JOB_OPTIONS_HEADER)
    return bad_job (error, "options too short");
  memcpy (header, data, sizeof header);
  if (header[0] > WEFT_SORT_COLLATION_LOCALE)
    return bad_job (error, "unknown collation");
  if ((header[1] & ~(guint32) JOB_FLAGS_ALL) != 0)
    return bad_job (error, "unknown flags");
  if (header[4] == 0 || header[4] > MAX_THREADS || header[3] >= header[4])
    return bad_job (error, "bad part");
  if (header[5] > JOB_MAX_LOCALE || header[5] != len - JOB_OPTIONS_HEADER)
    return bad_job (error, "bad locale length");
  if (memchr (data + JOB_OPTIONS_HEADER, '\0', header[5]) != NULL)
    return bad_job (error, "NUL in the locale");

  *out_opts = (WeftSortOptions) {
    .collation = header[0],
    .ignore_case = (header[1] & JOB_FLAG_IGNORE_CASE) != 0,
    .numeric = (header[1] & JOB_FLAG_NUMERIC) != 0,
    .reverse = (header[1] & JOB_FLAG_REVERSE) != 0,
    .unique = (header[1] & JOB_FLAG_UNIQUE) != 0,
    .stable = (header[1] & JOB_FLAG_STABLE) != 0,
    .column = header[2],
  };
  *out_locale = header[5] > 0 ? g_strndup ((const char *) data + JOB_OPTIONS_HEADER, header[5]) : NULL;
  out_opts->locale = *out_locale;
  *out_part = header[3];
  *out_n_parts = header[4];
  return TRUE;
}

size_t
weft_sort_job_run_start (const char *text,
                         size_t      len,
                         guint       part,
                         guint       n_parts)
{
  size_t cut;
  const char *nl;

  g_return_val_if_fail (n_parts > 0 && part <= n_parts, len);

  if (part == 0)
    return 0;
  if (part == n_parts)
    return len;
  /* The first line that starts at or after the even cut. */
  cut = slice_bound (len, part, n_parts);
  if (cut == 0)
    return 0;
  nl = memchr (text + cut - 1, '\n', len - (cut - 1));
  return nl != NULL ? (size_t) (nl - text) + 1 : len;
}

/* How many lines of the whole text every run job samples, alike, to
 * choose the bucket splitters. */
#define BUCKET_SAMPLES 2048

/* A job sort's bucket splitters. In BYTES mode, key prefixes. In LOCALE
 * mode, the key regions of sampled lines (copied to @store), which a line
 * meets through strcoll() (bucket_of_collated()): to weigh a whole line
 * only to choose its bucket would cost as much as the bucket's sort
 * weighing it again, while strcoll() stops at the first weight that
 * differs, a few characters in. */
typedef struct
{
  guint64  prefix[MAX_THREADS];
  Span     key[MAX_THREADS];
  char    *store;
} JobSplitters;

static void
job_splitters_clear (JobSplitters *splitters)
{
  g_clear_pointer (&splitters->store, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (JobSplitters, job_splitters_clear)

/* The bucket of @line (LOCALE mode): after every splitter that sorts
 * before it or with it in output order. The order is strcoll()'s, which
 * compare_keys() follows (see append_primary()): lines with equal keys
 * share a bucket, and every line of bucket b sorts before every line of
 * bucket b + 1. */
static guint
bucket_of_collated (const WeftSortIndex *index,
                    guint32              line,
                    const Span          *splitters,
                    guint                n_buckets)
{
  Span key = key_region (index, line);
  guint lo = 0, hi = n_buckets - 1;

  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;
      int d = compare_collated (index, splitters[mid], key, index->opts.ignore_case);

      if (index->opts.reverse ? d >= 0 : d <= 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

/* The splitters of @n_parts buckets, from lines sampled at even byte
 * offsets of the whole text (the same on every run job), and whether the
 * samples spread evenly enough over them: if one key dominates, a bucket
 * would get far more than its share. */
static gboolean
choose_bucket_splitters (const char            *text,
                         size_t                 len,
                         const WeftSortOptions *opts,
                         guint                  n_parts,
                         JobSplitters          *out_splitters,
                         GError               **error)
{
  g_autoptr (GString) sample = g_string_new (NULL);
  g_autoptr (WeftSortIndex) index = NULL;
  g_autofree guint64 *keys = NULL;
  size_t counts[MAX_THREADS] = { 0 }, n, largest = 0;

  if (opts->numeric)
    return FALSE;
  if (n_parts < 2)
    return TRUE;
  /* The line starting at or after each offset, looking no further than the
   * next offset: a huge line costs one scan, not one per sample. */
  for (size_t s = 0; s < BUCKET_SAMPLES; s++)
    {
      size_t pos = (size_t) ((guint64) len * s / BUCKET_SAMPLES);
      size_t limit = (size_t) ((guint64) len * (s + 1) / BUCKET_SAMPLES);
      const char *nl, *end;

      if (pos > 0)
        {
          nl = memchr (text + pos - 1, '\n', limit - (pos - 1));
          if (nl == NULL)
            continue;
          pos = (size_t) (nl - text) + 1;
        }
      if (pos >= len)
        continue;
      end = memchr (text + pos, '\n', len - pos);
      g_string_append_len (sample, text + pos, (end != NULL ? (size_t) (end - text) : len) - pos);
      g_string_append_c (sample, '\n');
    }

  index = index_new (sample->str, sample->len, opts, 1, NULL, 0, error);
  if (index == NULL)
    return FALSE;
  n = index->n_lines;
  if (!prepare_keys (index, NULL, 0, n, NULL, error))
    return FALSE;

  if (index->xfrm)
    {
      g_autofree guint32 *perm = g_new (guint32, MAX (1, n));
      size_t total = 0;
      char *p;

      if (n == 0)
        return FALSE;
      if (!sort_lines (index, NULL, 0, n, perm, NULL, NULL, error))
        return FALSE;
      for (guint b = 1; b < n_parts; b++)
        total += key_region (index, perm[n * b / n_parts]).len;
      p = out_splitters->store = g_malloc (MAX (1, total));
      for (guint b = 1; b < n_parts; b++)
        {
          Span key = key_region (index, perm[n * b / n_parts]);

          memcpy (p, key.ptr, key.len);
          out_splitters->key[b - 1] = (Span) { p, key.len };
          p += key.len;
        }
      for (size_t i = 0; i < n; i++)
        counts[bucket_of_collated (index, (guint32) i, out_splitters->key, n_parts)]++;
    }
  else
    {
      keys = g_new (guint64, MAX (1, n));
      for (size_t i = 0; i < n; i++)
        keys[i] = bucket_key (index, (guint32) i);
      qsort (keys, n, sizeof (guint64), compare_u64);
      for (guint b = 1; b < n_parts; b++)
        out_splitters->prefix[b - 1] = n > 0 ? keys[n * b / n_parts] : 0;
      for (size_t i = 0; i < n; i++)
        counts[weft_sort_bucket_of (index, (guint32) i, out_splitters->prefix, n_parts)]++;
    }
  for (guint b = 0; b < n_parts; b++)
    largest = MAX (largest, counts[b]);
  return largest <= n / n_parts + n / (2 * n_parts) + 8;
}

/* The two plans a run job's output announces (its first u32); every run
 * job of a sort reaches the same one. */
enum
{
  PLAN_MERGE = 1,    /* sorted runs, merged by WEFT_JOB_SORT_MERGE */
  PLAN_BUCKETS = 2,  /* lines by key range, each sorted by WEFT_JOB_SORT_BUCKET */
};

gboolean
weft_sort_job_sort_run (const char          *text,
                        size_t               len,
                        GBytes              *options,
                        WeftSortCancelFunc   cancel_func,
                        gpointer             cancel_data,
                        GBytes             **out_result,
                        GError             **error)
{
  g_autofree char *locale = NULL;
  g_autoptr (WeftSortResult) result = NULL;
  SortCancel cancel = { NULL, cancel_func, cancel_data };
  WeftSortOptions opts;
  g_auto (JobSplitters) splitters = { { 0 }, { { 0 } }, NULL };
  guint part, n_parts;
  size_t begin, end, n_perm;
  const guint32 *perm;
  guint32 header[3];
  GByteArray *out;
  g_autoptr (GError) local_error = NULL;

  if (!weft_sort_job_options_parse (options, &opts, &locale, &part, &n_parts, error))
    return FALSE;
  begin = weft_sort_job_run_start (text, len, part, n_parts);
  end = weft_sort_job_run_start (text, len, part + 1, n_parts);

  if (choose_bucket_splitters (text, len, &opts, n_parts, &splitters, &local_error))
    {
      /* By key range: this run's lines (their offsets in the run, in input
       * order) listed bucket by bucket; the buckets' sorted texts follow
       * one another, so nothing is merged. */
      g_autoptr (WeftSortIndex) index = index_new (text + begin, end - begin, &opts, 1, NULL, 0, error);
      g_autofree guint32 *offsets = NULL;
      guint8 *buckets;
      guint32 counts[MAX_THREADS] = { 0 }, starts[MAX_THREADS];
      size_t n;

      if (index == NULL)
        return FALSE;
      n = index->n_lines;
      buckets = (guint8 *) g_malloc (MAX (1, n));
      /* No key is prepared: the line table's key records stay untouched. */
      for (size_t i = 0; i < n; i++)
        {
          guint b = 0;

          if (i % CANCEL_STRIDE == 0 && is_cancelled (&cancel))
            {
              g_free (buckets);
              return set_cancelled (error);
            }
          if (n_parts > 1 && index->xfrm)
            b = bucket_of_collated (index, (guint32) i, splitters.key, n_parts);
          else if (n_parts > 1)
            {
              guint64 k = load_prefix (index, key_region (index, (guint32) i), 0);

              b = bucket_of_key (opts.reverse ? ~k : k, splitters.prefix, n_parts);
            }
          buckets[i] = (guint8) b;
          counts[b]++;
        }
      starts[0] = 0;
      for (guint b = 1; b < n_parts; b++)
        starts[b] = starts[b - 1] + counts[b - 1];
      offsets = g_new (guint32, MAX (1, n));
      for (size_t i = 0; i < n; i++)
        offsets[starts[buckets[i]]++] = (guint32) index->line_off[i];
      g_free (buckets);

      header[0] = PLAN_BUCKETS;
      header[1] = (guint32) n;
      header[2] = n_parts;
      out = g_byte_array_sized_new (sizeof header + (n_parts + n) * sizeof (guint32));
      g_byte_array_append (out, (const guint8 *) header, sizeof header);
      g_byte_array_append (out, (const guint8 *) counts, n_parts * sizeof (guint32));
      g_byte_array_append (out, (const guint8 *) offsets, n * sizeof (guint32));
      *out_result = g_byte_array_free_to_bytes (out);
      return TRUE;
    }
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  /* One thread: the backend runs one job per worker. Unique mode drops a
   * run's own duplicates already: the one kept, the first in input order,
   * is the one the whole sort keeps. */
  result = sort_parallel (text + begin, end - begin, &opts, 1, NULL, 0, &cancel, error);
  if (result == NULL)
    return FALSE;

  perm = weft_sort_result_get_permutation (result, &n_perm);
  header[0] = PLAN_MERGE;
  header[1] = (guint32) result->index->n_lines;
  header[2] = (guint32) n_perm;
  out = g_byte_array_sized_new (sizeof header + n_perm * sizeof (guint32));
  g_byte_array_append (out, (const guint8 *) header, sizeof header);
  g_byte_array_append (out, (const guint8 *) perm, n_perm * sizeof (guint32));
  *out_result = g_byte_array_free_to_bytes (out);
  return TRUE;
}

guint
weft_sort_job_next_kind (GBytes *run_output)
{
  guint32 plan;

  if (g_bytes_get_size (run_output) < sizeof plan)
    return 0;
  memcpy (&plan, g_bytes_get_data (run_output, NULL), sizeof plan);
  return plan == PLAN_MERGE ? 5 : plan == PLAN_BUCKETS ? 6 : 0;
}

/* The sorted text of @text, every line ending in a newline (see
 * weft_sort_job_merge()). */
static GBytes *
sort_to_text (const char            *text,
              size_t                 len,
              const WeftSortOptions *opts,
              size_t                *given_off,
              size_t                 given_n,
              const SortCancel      *cancel,
              GError               **error)
{
  g_autoptr (WeftSortResult) result = sort_parallel (text, len, opts, 1, given_off, given_n, cancel, error);
  size_t out_len;
  char *out;

  if (result == NULL)
    return NULL;
  out_len = result->text_len + (result->index->final_newline ? 0 : 1);
  out = weft_alloc_large (out_len);
  weft_sort_result_write_text (result, out, 1);
  if (!result->index->final_newline)
    out[out_len - 1] = '\n';
  return g_bytes_new_take (out, out_len);
}

gboolean
weft_sort_job_sort_bucket (const char          *text,
                           size_t               len,
                           const void          *runs_data,
                           size_t               runs_len,
                           GBytes              *options,
                           WeftSortCancelFunc   cancel_func,
                           gpointer             cancel_data,
                           GBytes             **out_result,
                           GError             **error)
{
  g_autofree char *locale = NULL;
  SortCancel cancel = { NULL, cancel_func, cancel_data };
  const guint8 *aux = runs_data;
  WeftSortOptions opts;
  guint part, n_parts;
  size_t off = 0, total_lines = 0, bucket_lines = 0, bucket_bytes = 0;
  const guint8 *lists[MAX_THREADS];
  guint32 counts[MAX_THREADS];
  size_t run_start[MAX_THREADS + 1];
  g_autofree char *buf = NULL;
  g_autofree size_t *line_off = NULL;
  size_t k = 0;
  char *p;

  if (!weft_sort_job_options_parse (options, &opts, &locale, &part, &n_parts, error))
    return FALSE;

  /* Every run's list for this bucket. */
  for (guint r = 0; r <= n_parts; r++)
    run_start[r] = weft_sort_job_run_start (text, len, r, n_parts);
  for (guint r = 0; r < n_parts; r++)
    {
      guint32 header[3], run_counts[MAX_THREADS];
      size_t before = 0, sum = 0;

      if (runs_len - off < sizeof header)
        return bad_job (error, "runs too short");
      memcpy (header, aux + off, sizeof header);
      off += sizeof header;
      if (header[0] != PLAN_BUCKETS || header[2] != n_parts ||
          (runs_len - off) / sizeof (guint32) < n_parts)
        return bad_job (error, "bad run header");
      memcpy (run_counts, aux + off, n_parts * sizeof (guint32));
      off += n_parts * sizeof (guint32);
      for (guint b = 0; b < n_parts; b++)
        {
          if (b < part)
            before += run_counts[b];
          sum += run_counts[b];
        }
      if (sum != header[1] || (runs_len - off) / sizeof (guint32) < sum)
        return bad_job (error, "bad run length");
      counts[r] = run_counts[part];
      lists[r] = aux + off + before * sizeof (guint32);
      off += sum * sizeof (guint32);
      total_lines += header[1];
      bucket_lines += counts[r];
    }
  if (off != runs_len)
    return bad_job (error, "runs too long");

  /* Every line in this bucket (one part, or a dominant prefix): sort the
   * text where it is. */
  if (bucket_lines == total_lines)
    {
      *out_result = sort_to_text (text, len, &opts, NULL, 0, &cancel, error);
      return *out_result != NULL;
    }

  /* Else gather the bucket's lines, in input order, checking each is a
   * line start of its run, strictly after the one before. The copy has a
   * newline after every line, so it takes at most the runs' bytes plus
   * one; only what is written is ever touched. */
  buf = weft_alloc_large (len + 1);
  line_off = weft_new_large (size_t, bucket_lines + 1);
  line_off[0] = 0;
  p = buf;
  for (guint r = 0; r < n_parts; r++)
    {
      size_t run_len = run_start[r + 1] - run_start[r];
      const char *run = text + run_start[r];
      guint32 prev = 0;

      for (size_t i = 0; i < counts[r]; i++)
        {
          guint32 o;
          const char *nl;
          size_t l;

          memcpy (&o, lists[r] + i * sizeof (guint32), sizeof o);
          if (o >= run_len || (i > 0 && o <= prev) || (o > 0 && run[o - 1] != '\n'))
            return bad_job (error, "not a line of its run");
          prev = o;
          nl = memchr (run + o, '\n', run_len - o);
          l = nl != NULL ? (size_t) (nl - run) - o : run_len - o;
          memcpy (p, run + o, l);
          p += l;
          *p++ = '\n';
          line_off[++k] = (size_t) (p - buf);
        }
    }
  bucket_bytes = (size_t) (p - buf);
  /* The line table was made while copying: the sort need not scan. */
  *out_result = sort_to_text (buf, bucket_bytes, &opts, g_steal_pointer (&line_off), bucket_lines,
                              &cancel, error);
  return *out_result != NULL;
}

/* A sorted run, as a merge sees it: global line numbers. */
typedef struct
{
  guint32 *lines;
  size_t   n;
  size_t   lo, hi;  /* the part of it this merge takes */
} MergeRun;

/* The first position of @run whose line sorts after @line. The probed
 * lines get their keys first. */
static size_t
upper_bound (WeftSortIndex  *index,
             const MergeRun *run,
             guint32         line)
{
  size_t lo = 0, hi = run->n;

  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;

      prepare_keys (index, &run->lines[mid], 0, 1, NULL, NULL);
      if (compare_lines (index, run->lines[mid], line) <= 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

/* Regularly spaced lines of each run, as many from a run as its share of
 * all lines, and among them the @n_parts - 1 splitters: the same on every
 * merge job, since all see the same runs. */
#define MERGE_SAMPLES 64

static void
choose_run_splitters (WeftSortIndex  *index,
                      const MergeRun *runs,
                      guint           n_runs,
                      guint           n_parts,
                      guint32        *out_splitters)
{
  size_t total = 0, n = 0, cap = (size_t) (n_runs + 1) * MERGE_SAMPLES;
  g_autofree guint32 *samples = g_new (guint32, cap);

  for (guint r = 0; r < n_runs; r++)
    total += runs[r].n;
  for (guint r = 0; r < n_runs && total > 0; r++)
    {
      size_t k = (runs[r].n * n_runs * MERGE_SAMPLES + total - 1) / total;

      k = MIN (k, runs[r].n);
      for (size_t s = 0; s < k && n < cap; s++)
        samples[n++] = runs[r].lines[(s * 2 + 1) * runs[r].n / (2 * k)];
    }
  prepare_keys (index, samples, 0, n, NULL, NULL);
  /* At most a few thousand: insertion sort does. */
  for (size_t i = 1; i < n; i++)
    {
      guint32 x = samples[i];
      size_t j = i;

      while (j > 0 && compare_lines (index, x, samples[j - 1]) < 0)
        {
          samples[j] = samples[j - 1];
          j--;
        }
      samples[j] = x;
    }
  for (guint b = 1; b < n_parts; b++)
    out_splitters[b - 1] = n > 0 ? samples[MIN (n - 1, n * b / n_parts)] : 0;
}

/* Reads the runs' permutations (each as weft_sort_job_sort_run() wrote
 * it) and checks them against the text: line counts, bounds, no line
 * twice. */
static gboolean
read_runs (const WeftSortIndex *index,
           const guint8        *aux,
           size_t               aux_len,
           guint                n_runs,
           const char          *text,
           size_t               len,
           MergeRun            *runs,
           GError             **error)
{
  g_autofree guint8 *seen = g_new0 (guint8, index->n_lines / 8 + 1);
  size_t off = 0, first = 0;

  for (guint r = 0; r < n_runs; r++)
    {
      guint32 plan, header[2];
      size_t start = weft_sort_job_run_start (text, len, r, n_runs);

      if (aux_len - off < sizeof plan + sizeof header)
        return bad_job (error, "runs too short");
      memcpy (&plan, aux + off, sizeof plan);
      if (plan != PLAN_MERGE)
        return bad_job (error, "bad run header");
      memcpy (header, aux + off + sizeof plan, sizeof header);
      off += sizeof plan + sizeof header;
      if (header[1] > header[0] || (aux_len - off) / sizeof (guint32) < header[1])
        return bad_job (error, "bad run length");
      /* The run must begin where the text's line @first begins. */
      if (first + header[0] > index->n_lines ||
          (first < index->n_lines && index->line_off[first] != start))
        return bad_job (error, "run does not match the text");

      runs[r].n = header[1];
      runs[r].lines = weft_new_large (guint32, runs[r].n);
      memcpy (runs[r].lines, aux + off, runs[r].n * sizeof (guint32));
      off += runs[r].n * sizeof (guint32);
      for (size_t i = 0; i < runs[r].n; i++)
        {
          guint32 line;

          if (runs[r].lines[i] >= header[0])
            return bad_job (error, "line out of its run");
          line = runs[r].lines[i] = (guint32) (first + runs[r].lines[i]);
          if (seen[line / 8] & (1u << (line % 8)))
            return bad_job (error, "line twice");
          seen[line / 8] |= (guint8) (1u << (line % 8));
        }
      first += header[0];
    }
  if (off != aux_len || first != index->n_lines)
    return bad_job (error, "runs do not cover the text");
  return TRUE;
}

gboolean
weft_sort_job_merge (const char          *text,
                     size_t               len,
                     const void          *runs_data,
                     size_t               runs_len,
                     GBytes              *options,
                     WeftSortCancelFunc   cancel_func,
                     gpointer             cancel_data,
                     GBytes             **out_result,
                     GError             **error)
{
  g_autofree char *locale = NULL;
  g_autoptr (WeftSortIndex) index = NULL;
  SortCancel cancel = { NULL, cancel_func, cancel_data };
  MergeRun runs[MAX_THREADS] = { { 0 } };
  guint32 splitters[MAX_THREADS];
  WeftSortOptions opts;
  guint part, n_parts;
  gboolean ok = FALSE, have_prev = FALSE;
  guint32 prev = 0;
  size_t n_out = 0, out_len = 0, count = 0;
  guint32 *merged = NULL;
  char *out = NULL, *p;

  if (!weft_sort_job_options_parse (options, &opts, &locale, &part, &n_parts, error))
    return FALSE;
  /* The line table of the whole text (one sequential scan), but keys only
   * for the lines this part merges and those its searches probe. */
  index = index_new (text, len, &opts, 1, NULL, 0, error);
  if (index == NULL)
    return FALSE;
  if (!read_runs (index, runs_data, runs_len, n_parts, text, len, runs, error))
    goto out;

  choose_run_splitters (index, runs, n_parts, n_parts, splitters);
  for (guint r = 0; r < n_parts; r++)
    {
      runs[r].lo = part == 0 ? 0 : upper_bound (index, &runs[r], splitters[part - 1]);
      runs[r].hi = part + 1 == n_parts ? runs[r].n : upper_bound (index, &runs[r], splitters[part]);
      runs[r].hi = MAX (runs[r].hi, runs[r].lo);
      count += runs[r].hi - runs[r].lo;
      if (!prepare_keys (index, runs[r].lines + runs[r].lo, 0, runs[r].hi - runs[r].lo, &cancel, error))
        goto out;
      /* Unique mode: the line before this part, the greatest line left of
       * the cuts, decides whether this part's first line is a duplicate. */
      if (opts.unique && runs[r].lo > 0)
        {
          guint32 line = runs[r].lines[runs[r].lo - 1];

          prepare_keys (index, &line, 0, 1, NULL, NULL);
          if (!have_prev || compare_lines (index, line, prev) > 0)
            prev = line;
          have_prev = TRUE;
        }
    }

  /* A merge of the parts of the runs, by the heads' order. */
  merged = weft_new_large (guint32, count);
  for (size_t k = 0; k < count; k++)
    {
      guint best = G_MAXUINT;

      if (k % CANCEL_STRIDE == 0 && is_cancelled (&cancel))
        {
          set_cancelled (error);
          goto out;
        }
      for (guint r = 0; r < n_parts; r++)
        if (runs[r].lo < runs[r].hi &&
            (best == G_MAXUINT ||
             compare_lines (index, runs[r].lines[runs[r].lo], runs[best].lines[runs[best].lo]) < 0))
          best = r;
      if (runs[best].lo + MERGE_PREFETCH < runs[best].hi)
        __builtin_prefetch (&index->lk[runs[best].lines[runs[best].lo + MERGE_PREFETCH]]);
      {
        guint32 line = runs[best].lines[runs[best].lo++];

        if (opts.unique && have_prev && weft_sort_is_duplicate (index, prev, line))
          continue;
        merged[n_out++] = line;
        prev = line;
        have_prev = TRUE;
        out_len += line_len (index, line) + 1;
      }
    }

  /* Every line ends in a newline here: which part holds the sorted text's
   * last line is not known to any one part, so the task drops the extra
   * newline from the last piece that is not empty. */
  out = weft_alloc_large (out_len);
  p = out;
  for (size_t k = 0; k < n_out; k++)
    {
      size_t l = line_len (index, merged[k]);

      if (k + MERGE_PREFETCH < n_out)
        __builtin_prefetch (line_ptr (index, merged[k + MERGE_PREFETCH]));
      memcpy (p, line_ptr (index, merged[k]), l);
      p += l;
      *p++ = '\n';
    }
  *out_result = g_bytes_new_take (g_steal_pointer (&out), out_len);
  ok = TRUE;

out:
  for (guint r = 0; r < n_parts; r++)
    g_free (runs[r].lines);
  g_free (merged);
  g_free (out);
  return ok;
}
