/* weft-spell.c: per-worker Enchant checkers, a lock-free word cache, and a parallel whole-text check. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <enchant.h>

#include "weft-error.h"
#include "weft-spell.h"
#include "weft-tokenize.h"

/* Debian's /usr/share/enchant-2/enchant.ordering puts aspell first for
 * en_US, en_GB, …; results must match hunspell -l, so hunspell goes first.
 * Set for "*" and for the requested tag, since a tag's own line in the
 * system file wins over "*". */
#define PROVIDER_ORDERING "hunspell,nuspell,aspell,myspell"

/* How often a check asks whether it has been cancelled: a few hundred
 * words take well under a millisecond even when none is cached. */
#define CANCEL_POLL_WORDS 256

/* Longer words are never cached: no dictionary holds them, and a rare
 * long token (a hash, a line of base64 that slipped through) would only
 * bloat the cache. */
#define MAX_CACHED_WORD_BYTES 255

/* ----------------------------------------------------------------------- */
/* The word cache                                                          */

typedef struct
{
  guint64  hash;
  guint32  len;
  gboolean good;
  char     word[];
} CacheEntry;

/* Insert-only open addressing with linear probing. A slot goes from NULL to
 * an entry once, by compare-and-swap, and never changes again; the entry is
 * immutable from then on. The CAS releases the entry's contents and every
 * load acquires them, which is all the synchronisation readers need. The
 * table never fills past half, so a probe always meets a NULL. */
struct _WeftSpellCache
{
  atomic_int               ref_count;  /* any thread; acq_rel on the last unref */
  size_t                   mask;       /* immutable: n_slots - 1 */
  size_t                   max_words;  /* immutable */
  atomic_size_t            n_words;    /* relaxed: only a growth bound */
  _Atomic (CacheEntry *)  *slots;      /* see above */
};

enum
{
  CACHE_UNKNOWN = -1,
  CACHE_BAD = 0,
  CACHE_GOOD = 1,
};

/* FNV-1a with a final mix: words are short, and the mix spreads FNV's weak
 * low bits over the slots linear probing uses. */
static inline guint64
hash_word (const char *word,
           size_t      len)
{
  guint64 h = G_GUINT64_CONSTANT (0xcbf29ce484222325);

  for (size_t i = 0; i < len; i++)
    {
      h ^= (unsigned char) word[i];
      h *= G_GUINT64_CONSTANT (0x100000001b3);
    }
  h ^= h >> 32;
  h *= G_GUINT64_CONSTANT (0xd6e8feb86659fd93);
  h ^= h >> 32;
  return h;
}

WeftSpellCache *
weft_spell_cache_new (size_t max_words)
{
  WeftSpellCache *cache = g_new0 (WeftSpellCache, 1);
  size_t n_slots = 16;

  max_words = MAX (max_words, 1);
  while (n_slots < max_words * 2)
    n_slots *= 2;

  atomic_init (&cache->ref_count, 1);
  atomic_init (&cache->n_words, 0);
  cache->mask = n_slots - 1;
  cache->max_words = max_words;
  cache->slots = g_new (_Atomic (CacheEntry *), n_slots);
  for (size_t i = 0; i < n_slots; i++)
    atomic_init (&cache->slots[i], NULL);

  return cache;
}

WeftSpellCache *
weft_spell_cache_ref (WeftSpellCache *cache)
{
  g_return_val_if_fail (cache != NULL, NULL);

  atomic_fetch_add_explicit (&cache->ref_count, 1, memory_order_relaxed);
  return cache;
}

void
weft_spell_cache_unref (WeftSpellCache *cache)
{
  g_return_if_fail (cache != NULL);

  /* acq_rel: every other owner's last use happens before the frees below. */
  if (atomic_fetch_sub_explicit (&cache->ref_count, 1, memory_order_acq_rel) != 1)
    return;

  for (size_t i = 0; i <= cache->mask; i++)
    g_free (atomic_load_explicit (&cache->slots[i], memory_order_relaxed));
  g_free (cache->slots);
  g_free (cache);
}

size_t
weft_spell_cache_get_n_words (WeftSpellCache *cache)
{
  g_return_val_if_fail (cache != NULL, 0);

  return atomic_load_explicit (&cache->n_words, memory_order_relaxed);
}

static inline gboolean
entry_matches (const CacheEntry *entry,
               guint64           hash,
               const char       *word,
               size_t            len)
{
  return entry->hash == hash && entry->len == len && memcmp (entry->word, word, len) == 0;
}

static int
cache_lookup (WeftSpellCache *cache,
              guint64         hash,
              const char     *word,
              size_t          len)
{
  for (size_t i = hash & cache->mask;; i = (i + 1) & cache->mask)
    {
      CacheEntry *entry = atomic_load_explicit (&cache->slots[i], memory_order_acquire);

      if (entry == NULL)
        return CACHE_UNKNOWN;
      if (entry_matches (entry, hash, word, len))
        return entry->good ? CACHE_GOOD : CACHE_BAD;
    }
}

static void
cache_insert (WeftSpellCache *cache,
              guint64         hash,
              const char     *word,
              size_t          len,
              gboolean        good)
{
  CacheEntry *entry;

  if (atomic_fetch_add_explicit (&cache->n_words, 1, memory_order_relaxed) >= cache->max_words)
    {
      atomic_fetch_sub_explicit (&cache->n_words, 1, memory_order_relaxed);
      return;
    }

  entry = g_malloc (sizeof (CacheEntry) + len);
  entry->hash = hash;
  entry->len = (guint32) len;
  entry->good = good;
  memcpy (entry->word, word, len);

  for (size_t i = hash & cache->mask;; i = (i + 1) & cache->mask)
    {
      CacheEntry *expected = NULL;

      if (atomic_compare_exchange_strong_explicit (&cache->slots[i], &expected, entry,
                                                   memory_order_acq_rel,
                                                   memory_order_acquire))
        return;

      /* Another worker looked the same word up at the same time; the
       * dictionary gave it the same verdict. */
      if (entry_matches (expected, hash, word, len))
        {
          atomic_fetch_sub_explicit (&cache->n_words, 1, memory_order_relaxed);
          g_free (entry);
          return;
        }
    }
}

/* ----------------------------------------------------------------------- */
/* The checker                                                             */

void
weft_spell_process_init (void)
{
  /* Enchant 2 opens <config dir>/<lang>.dic and .exc with O_CREAT and falls
   * back to in-memory lists when that fails; a path below a file that is
   * not a directory always fails, without touching the disk. */
  g_setenv ("ENCHANT_CONFIG_DIR", "/dev/null", TRUE);
}

/* A process-wide lock for a global that is not ours: hunspell 1.7 keeps
 * a Unicode case table that its UTF-8 dictionaries share,
 * reference-counted without a lock (initialize_utf_tbl / free_utf_tbl in
 * csutil.cxx) and deleted with the last dictionary. Two threads loading or
 * freeing dictionaries at once race on it (ThreadSanitizer reports the
 * delete[]). Every Enchant broker and dictionary is therefore created and
 * freed under this lock; checking and suggesting only read the table and
 * run unlocked, each thread on its own dictionary. */
static pthread_mutex_t dictionary_lock = PTHREAD_MUTEX_INITIALIZER;

/* The checkers of one dictionary in a process share one cache: a word's
 * verdict is looked up once, whichever worker meets it first, and the
 * workers' passes read one table instead of one each. With a cache per
 * worker, a warm pass on 2 threads of a 10 MB text cost 40 % more CPU than
 * on 1: each worker met every word, and the two tables, 9 MB each, did not
 * stay in the CPUs' shared cache together. Caches live as long as the
 * process; there is one per dictionary used. */
static pthread_mutex_t shared_caches_lock = PTHREAD_MUTEX_INITIALIZER;
static GHashTable *shared_caches;  /* "lang provider" -> WeftSpellCache; under the lock */

static WeftSpellCache *
shared_cache_for (const char *lang,
                  const char *provider)
{
  g_autofree char *key = g_strdup_printf ("%s %s", lang, provider != NULL ? provider : "");
  WeftSpellCache *cache;

  pthread_mutex_lock (&shared_caches_lock);
  if (shared_caches == NULL)
    shared_caches = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) weft_spell_cache_unref);
  cache = g_hash_table_lookup (shared_caches, key);
  if (cache == NULL)
    {
      cache = weft_spell_cache_new (WEFT_SPELL_CACHE_WORDS);
      g_hash_table_insert (shared_caches, g_steal_pointer (&key), cache);
    }
  weft_spell_cache_ref (cache);
  pthread_mutex_unlock (&shared_caches_lock);
  return cache;
}

/* Owned by one thread at a time (see weft-spell.h); nothing in it is shared
 * except the cache, which synchronises itself. */
struct _WeftSpellChecker
{
  EnchantBroker  *broker;
  EnchantDict    *dict;
  char           *lang;
  char           *provider;
  /* The dictionary's verdicts only: session words are looked up apart, so
   * that checkers with different session words may share a cache and a
   * session word never invalidates one. */
  WeftSpellCache *cache;
  /* Session words and their accepted case forms, as keys; NULL while there
   * are none. Not Enchant's session list: Enchant cannot take a word out
   * of it again without rejecting that word from then on. */
  GHashTable     *session_words;
};

static gboolean
is_valid_tag (const char *lang)
{
  if (lang == NULL || lang[0] == '\0')
    return FALSE;

  for (const char *p = lang; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("_-.@", *p) == NULL)
      return FALSE;

  return TRUE;
}

static void
describe_dict (const char * const lang_tag,
               const char * const provider_name,
               const char * const provider_desc,
               const char * const provider_file,
               void              *user_data)
{
  WeftSpellChecker *self = user_data;

  g_free (self->lang);
  g_free (self->provider);
  self->lang = g_strdup (lang_tag);
  self->provider = g_strdup (provider_name);
}

WeftSpellChecker *
weft_spell_checker_new (const char  *lang,
                        GError     **error)
{
  g_autoptr (WeftSpellChecker) self = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!is_valid_tag (lang))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_NOT_FOUND,
                   _("“%s” is not a language tag such as en_US"), lang ? lang : "");
      return NULL;
    }

  self = g_new0 (WeftSpellChecker, 1);

  pthread_mutex_lock (&dictionary_lock);
  self->broker = enchant_broker_init ();
  enchant_broker_set_ordering (self->broker, "*", PROVIDER_ORDERING);
  enchant_broker_set_ordering (self->broker, lang, PROVIDER_ORDERING);
  self->dict = enchant_broker_request_dict (self->broker, lang);
  if (self->dict == NULL)
    {
      const char *why = enchant_broker_get_error (self->broker);

      g_set_error (error, WEFT_ERROR, WEFT_ERROR_NOT_FOUND,
                   _("No spelling dictionary is installed for “%s”%s%s"), lang,
                   why ? ": " : "", why ? why : "");
    }
  else
    {
      self->lang = g_strdup (lang);
      enchant_dict_describe (self->dict, describe_dict, self);
    }
  pthread_mutex_unlock (&dictionary_lock);

  if (self->dict == NULL)
    return NULL;

  self->cache = shared_cache_for (self->lang, self->provider);

  return g_steal_pointer (&self);
}

void
weft_spell_checker_free (WeftSpellChecker *self)
{
  if (self == NULL)
    return;

  pthread_mutex_lock (&dictionary_lock);
  if (self->dict != NULL)
    enchant_broker_free_dict (self->broker, self->dict);
  if (self->broker != NULL)
    enchant_broker_free (self->broker);
  pthread_mutex_unlock (&dictionary_lock);
  g_clear_pointer (&self->cache, weft_spell_cache_unref);
  g_clear_pointer (&self->session_words, g_hash_table_unref);
  g_free (self->lang);
  g_free (self->provider);
  g_free (self);
}

const char *
weft_spell_checker_get_language (WeftSpellChecker *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->lang;
}

const char *
weft_spell_checker_get_provider (WeftSpellChecker *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->provider;
}

void
weft_spell_checker_set_cache (WeftSpellChecker *self,
                              WeftSpellCache   *cache)
{
  g_return_if_fail (self != NULL);

  g_clear_pointer (&self->cache, weft_spell_cache_unref);
  self->cache = cache != NULL ? weft_spell_cache_ref (cache)
                              : weft_spell_cache_new (WEFT_SPELL_CACHE_WORDS);
}

static void
add_session_form (WeftSpellChecker *self,
                  char             *form)
{
  if (self->session_words == NULL)
    self->session_words = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_add (self->session_words, form);
}

void
weft_spell_checker_add_session_word (WeftSpellChecker *self,
                                     const char       *word,
                                     gssize            len)
{
  g_autofree char *copy = NULL;
  char *upper;
  gunichar first;

  g_return_if_fail (self != NULL);
  g_return_if_fail (word != NULL);

  if (len < 0)
    len = (gssize) strlen (word);
  if (len == 0 || !g_utf8_validate (word, len, NULL) || memchr (word, '\0', (size_t) len) != NULL)
    return;

  /* hunspell's own rule for its dictionary words is that a lower-case word
   * may also be capitalised or written in capitals, and a capitalised one in
   * capitals. */
  copy = g_strndup (word, (gsize) len);

  first = g_utf8_get_char (copy);
  if (g_unichar_islower (first))
    {
      char buf[6];
      int n = g_unichar_to_utf8 (g_unichar_totitle (first), buf);

      add_session_form (self, g_strdup_printf ("%.*s%s", n, buf, g_utf8_next_char (copy)));
    }

  upper = g_utf8_strup (copy, len);
  if (strcmp (upper, copy) != 0)
    add_session_form (self, upper);
  else
    g_free (upper);
  add_session_form (self, g_steal_pointer (&copy));
}

void
weft_spell_checker_clear_session_words (WeftSpellChecker *self)
{
  g_return_if_fail (self != NULL);

  g_clear_pointer (&self->session_words, g_hash_table_unref);
}

static gboolean
is_session_word (WeftSpellChecker *self,
                 const char       *word,
                 size_t            len)
{
  char stack[MAX_CACHED_WORD_BYTES + 1];
  g_autofree char *heap = NULL;
  char *key;

  if (self->session_words == NULL)
    return FALSE;
  key = len < sizeof stack ? stack : (heap = g_malloc (len + 1));
  memcpy (key, word, len);
  key[len] = '\0';
  return g_hash_table_contains (self->session_words, key);
}

/* Where a lookup of @hash starts: the first cache line it reads. */
static inline _Atomic (CacheEntry *) *
cache_home (WeftSpellCache *cache,
            guint64         hash)
{
  return &cache->slots[hash & cache->mask];
}

/* The hash a cache lookup of @word uses; words too long to cache go
 * straight to the dictionary and need none. */
static inline guint64
cache_hash (const char *word,
            size_t      len)
{
  return len <= MAX_CACHED_WORD_BYTES ? hash_word (word, len) : 0;
}

/* @hash: cache_hash() of @word. */
static inline gboolean
check_word (WeftSpellChecker *self,
            const char       *word,
            size_t            len,
            guint64           hash)
{
  int verdict;
  gboolean good;

  /* enchant_dict_check() returns 0 for a correct word, > 0 for a misspelled
   * one and < 0 on a provider error, which we report as misspelled too:
   * hunspell -l has no third answer. */
  if (len > MAX_CACHED_WORD_BYTES)
    return enchant_dict_check (self->dict, word, (gssize) len) == 0 ||
           is_session_word (self, word, len);

  verdict = cache_lookup (self->cache, hash, word, len);
  if (verdict == CACHE_UNKNOWN)
    {
      good = enchant_dict_check (self->dict, word, (gssize) len) == 0;
      cache_insert (self->cache, hash, word, len, good);
    }
  else
    good = verdict == CACHE_GOOD;

  return good || is_session_word (self, word, len);
}

gboolean
weft_spell_checker_check_word (WeftSpellChecker *self,
                               const char       *word,
                               gssize            len)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (word != NULL, FALSE);

  if (len < 0)
    len = (gssize) strlen (word);
  if (len == 0 || !g_utf8_validate (word, len, NULL))
    return FALSE;

  return check_word (self, word, (size_t) len, cache_hash (word, (size_t) len));
}

/* A warm pass is all cache hits, and each hit reads two cache lines that
 * are rarely in the CPU's caches: the word's slot, then its entry. Read one
 * after the other, they made a pass wait on memory for most of its time
 * (the two loads took 90 % of the lookups' samples). So tokens wait in a
 * short queue: the slot is prefetched when a token joins it, the entry
 * halfway through, and the word is looked up when it leaves, in text
 * order, by which time both lines have usually arrived. */
#define LOOKAHEAD 16

typedef struct
{
  size_t  byte_off;
  size_t  byte_len;
  guint64 hash;
} PendingWord;

typedef struct
{
  WeftSpellChecker    *self;
  const char          *text;
  GArray              *misspelled;
  WeftSpellCancelFunc  cancelled;
  gpointer             cancel_data;
  size_t               n_words;
  gboolean             was_cancelled;
  PendingWord          pending[LOOKAHEAD];
  size_t               n_pending;   /* queued: the last n_pending of n_words */
} CheckState;

static inline void
look_up_oldest (CheckState *state)
{
  PendingWord *p = &state->pending[(state->n_words - state->n_pending) % LOOKAHEAD];

  state->n_pending--;
  if (!check_word (state->self, state->text + p->byte_off, p->byte_len, p->hash))
    {
      WeftSpellRange range = { p->byte_off, p->byte_len };

      g_array_append_val (state->misspelled, range);
    }
}

static gboolean
check_token (const char *text,
             size_t      byte_off,
             size_t      byte_len,
             gpointer    user_data)
{
  CheckState *state = user_data;
  WeftSpellCache *cache = state->self->cache;
  PendingWord *p;

  if (state->cancelled != NULL && state->n_words % CANCEL_POLL_WORDS == 0 &&
      state->cancelled (state->cancel_data))
    {
      state->was_cancelled = TRUE;
      return FALSE;
    }

  if (state->n_pending == LOOKAHEAD)
    look_up_oldest (state);

  p = &state->pending[state->n_words % LOOKAHEAD];
  p->byte_off = byte_off;
  p->byte_len = byte_len;
  p->hash = cache_hash (text + byte_off, byte_len);
  __builtin_prefetch (cache_home (cache, p->hash));
  state->n_words++;
  state->n_pending++;

  /* Halfway: the slot has had time to arrive; fetch what it points to. */
  if (state->n_pending > LOOKAHEAD / 2)
    {
      PendingWord *mid = &state->pending[(state->n_words - 1 - LOOKAHEAD / 2) % LOOKAHEAD];

      __builtin_prefetch (atomic_load_explicit (cache_home (cache, mid->hash), memory_order_relaxed));
    }

  return TRUE;
}

gboolean
weft_spell_checker_check_range (WeftSpellChecker    *self,
                                const char          *text,
                                size_t               len,
                                WeftSpellCancelFunc  cancelled,
                                gpointer             cancel_data,
                                GArray              *misspelled,
                                size_t              *n_words,
                                GError             **error)
{
  CheckState state = { .self = self, .text = text, .misspelled = misspelled,
                       .cancelled = cancelled, .cancel_data = cancel_data };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (text != NULL || len == 0, FALSE);
  g_return_val_if_fail (misspelled != NULL, FALSE);
  g_return_val_if_fail (g_array_get_element_size (misspelled) == sizeof (WeftSpellRange), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  weft_tokenize (text, len, check_token, &state);
  while (!state.was_cancelled && state.n_pending > 0)
    look_up_oldest (&state);

  if (n_words != NULL)
    *n_words += state.n_words;

  if (state.was_cancelled)
    {
      g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_CANCELLED,
                           _("The spell-check was cancelled"));
      return FALSE;
    }

  return TRUE;
}

char **
weft_spell_checker_suggest (WeftSpellChecker *self,
                            const char       *word,
                            gssize            len,
                            size_t            max_suggestions)
{
  GPtrArray *out = g_ptr_array_new ();
  char **suggestions;
  size_t n = 0;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (word != NULL, NULL);

  if (len < 0)
    len = (gssize) strlen (word);

  if (len > 0 && max_suggestions > 0 && g_utf8_validate (word, len, NULL))
    {
      suggestions = enchant_dict_suggest (self->dict, word, len, &n);
      for (size_t i = 0; i < n && i < max_suggestions; i++)
        g_ptr_array_add (out, g_strdup (suggestions[i]));
      if (suggestions != NULL)
        enchant_dict_free_string_list (self->dict, suggestions);
    }

  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

static void
collect_tag (const char * const lang_tag,
             const char * const provider_name,
             const char * const provider_desc,
             const char * const provider_file,
             void              *user_data)
{
  g_ptr_array_add (user_data, g_strdup (lang_tag));
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

static char **
list_installed (void)
{
  EnchantBroker *broker;
  GPtrArray *tags = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *unique = g_ptr_array_new ();

  /* Listing loads no dictionary, but starting the providers is as global. */
  pthread_mutex_lock (&dictionary_lock);
  broker = enchant_broker_init ();
  enchant_broker_list_dicts (broker, collect_tag, tags);
  enchant_broker_free (broker);
  pthread_mutex_unlock (&dictionary_lock);

  g_ptr_array_sort (tags, compare_strings);
  for (guint i = 0; i < tags->len; i++)
    if (i == 0 || strcmp (tags->pdata[i], tags->pdata[i - 1]) != 0)
      g_ptr_array_add (unique, g_strdup (tags->pdata[i]));
  g_ptr_array_add (unique, NULL);

  g_ptr_array_unref (tags);
  return (char **) g_ptr_array_free (unique, FALSE);
}

static gboolean
strv_has (char       **strv,
          const char  *s)
{
  return strv != NULL && g_strv_contains ((const char * const *) strv, s);
}

/* The default among @installed (see weft_spell_dup_default_language()). */
static char *
default_language_in (char **installed)
{
  const char * const *names = g_get_language_names ();

  for (size_t i = 0; names[i] != NULL; i++)
    {
      /* "de_DE.UTF-8@euro" -> "de_DE", then "de". */
      g_autofree char *tag = g_strndup (names[i], strcspn (names[i], ".@"));
      char *underscore;

      if (strv_has (installed, tag))
        return g_steal_pointer (&tag);
      underscore = strchr (tag, '_');
      if (underscore != NULL)
        {
          *underscore = '\0';
          if (strv_has (installed, tag))
            return g_steal_pointer (&tag);
        }
    }

  if (strv_has (installed, "en_US"))
    return g_strdup ("en_US");
  return installed[0] != NULL ? g_strdup (installed[0]) : NULL;
}

/* The default language as of the last listing of the dictionaries: every
 * new tab needs it, and listing took ~6 ms (each provider is asked). A
 * language menu or the preferences list them afresh, which refreshes it.
 * NULL until a listing found a dictionary. Guarded by default_language_lock. */
static GMutex default_language_lock;
static char *default_language;

char **
weft_spell_list_languages (void)
{
  char **languages = list_installed ();
  g_autofree char *lang = default_language_in (languages);

  g_mutex_lock (&default_language_lock);
  g_free (default_language);
  default_language = g_steal_pointer (&lang);
  g_mutex_unlock (&default_language_lock);
  return languages;
}

static char *
dup_kept_default_language (void)
{
  char *lang;

  g_mutex_lock (&default_language_lock);
  lang = g_strdup (default_language);
  g_mutex_unlock (&default_language_lock);
  return lang;
}

char *
weft_spell_dup_default_language (void)
{
  char *lang = dup_kept_default_language ();

  if (lang == NULL)
    {
      g_strfreev (weft_spell_list_languages ());
      lang = dup_kept_default_language ();
    }
  return lang;
}

/* ----------------------------------------------------------------------- */
/* The parallel pass                                                       */

/* A pass is cut into chunks of whole lines that the threads claim one at a
 * time, rather than one fixed range per thread: on a machine that is busy
 * with other work a thread that gets less CPU then simply checks fewer
 * chunks, where a fixed split would leave the other thread idle at the end
 * waiting for it. */
#define CHUNKS_PER_THREAD 16
#define MIN_CHUNK_BYTES   (64 * 1024)

typedef struct
{
  size_t  byte_off;    /* of the chunk in the caller's text; whole lines */
  size_t  len;

  /* Written by the thread that claimed the chunk, read by the caller after
   * pthread_join(). */
  GArray *misspelled;
  size_t  n_words;
  GError *error;
} ParallelChunk;

typedef struct
{
  /* Set by the caller before the threads start; read-only while they run. */
  const char          *text;
  ParallelChunk       *chunks;
  size_t               n_chunks;
  WeftSpellCancelFunc  cancelled;
  gpointer             cancel_data;

  /* Index of the next unclaimed chunk. Relaxed: it only hands out indices;
   * the chunks were published by pthread_create() and their results are
   * read after pthread_join(). */
  atomic_size_t        next_chunk;

  /* Set by the first thread that fails, read by the others' cancel polls:
   * release/acquire, though only the flag itself is communicated. */
  atomic_bool          failed;
} ParallelShared;

typedef struct
{
  ParallelShared   *shared;
  WeftSpellChecker *checker;    /* this thread's alone until it is joined */
} ParallelThread;

static gboolean
parallel_cancelled (gpointer user_data)
{
  ParallelShared *shared = user_data;

  if (atomic_load_explicit (&shared->failed, memory_order_acquire))
    return TRUE;
  return shared->cancelled != NULL && shared->cancelled (shared->cancel_data);
}

static void *
parallel_thread (void *data)
{
  ParallelThread *thread = data;
  ParallelShared *shared = thread->shared;

  for (;;)
    {
      size_t i = atomic_fetch_add_explicit (&shared->next_chunk, 1, memory_order_relaxed);
      ParallelChunk *chunk;

      if (i >= shared->n_chunks)
        break;

      chunk = &shared->chunks[i];
      chunk->misspelled = g_array_new (FALSE, FALSE, sizeof (WeftSpellRange));
      if (!weft_spell_checker_check_range (thread->checker, shared->text + chunk->byte_off,
                                           chunk->len, parallel_cancelled, shared,
                                           chunk->misspelled, &chunk->n_words, &chunk->error))
        {
          atomic_store_explicit (&shared->failed, TRUE, memory_order_release);
          break;
        }
    }

  return NULL;
}

/* Cuts text[0, len) into chunks of about @chunk_bytes, each ending after a
 * '\n' (or at the end), so that no word is cut; a line longer than that is
 * one chunk. */
static ParallelChunk *
split_at_lines (const char *text,
                size_t      len,
                size_t      chunk_bytes,
                size_t     *n_chunks)
{
  GArray *chunks = g_array_new (FALSE, TRUE, sizeof (ParallelChunk));
  size_t pos = 0;

  do
    {
      ParallelChunk chunk = { pos, 0 };
      size_t target = MIN (len, pos + chunk_bytes);
      const char *nl = target < len ? memchr (text + target, '\n', len - target) : NULL;
      size_t end = nl != NULL ? (size_t) (nl - text) + 1 : len;

      chunk.len = end - pos;
      g_array_append_val (chunks, chunk);
      pos = end;
    }
  while (pos < len);

  *n_chunks = chunks->len;
  return (ParallelChunk *) g_array_free (chunks, FALSE);
}

GArray *
weft_spell_check_parallel_with (WeftSpellChecker * const *checkers,
                                unsigned                  n_checkers,
                                const char               *text,
                                size_t                    len,
                                WeftSpellCancelFunc       cancelled,
                                gpointer                  cancel_data,
                                size_t                   *n_words,
                                GError                  **error)
{
  ParallelShared shared = { 0 };
  g_autofree ParallelThread *threads = NULL;
  g_autofree pthread_t *thread_ids = NULL;
  GArray *result = NULL;
  GError *first_error = NULL;
  size_t total_words = 0;
  size_t total_misspelled = 0;
  unsigned n_started;

  g_return_val_if_fail (checkers != NULL, NULL);
  g_return_val_if_fail (n_checkers > 0, NULL);
  g_return_val_if_fail (text != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  shared.text = text;
  shared.chunks = split_at_lines (text, len,
                                  MAX (MIN_CHUNK_BYTES, len / ((size_t) n_checkers * CHUNKS_PER_THREAD)),
                                  &shared.n_chunks);
  shared.cancelled = cancelled;
  shared.cancel_data = cancel_data;
  atomic_init (&shared.next_chunk, 0);
  atomic_init (&shared.failed, FALSE);

  /* Each thread uses its checker's cache: checkers of one dictionary share
   * the process's (see shared_cache_for()). A cache made for one call and
   * shared by its threads cost 1392 ms of CPU per 10 MB pass on 2 threads
   * against 941 ms on one: cold every pass, its slots and word counter
   * written by both. The process's lives on: warm, it is only read. */
  threads = g_new0 (ParallelThread, n_checkers);
  thread_ids = g_new0 (pthread_t, n_checkers);
  for (n_started = 0; n_started < n_checkers; n_started++)
    {
      int rc;

      threads[n_started].shared = &shared;
      threads[n_started].checker = checkers[n_started];
      rc = pthread_create (&thread_ids[n_started], NULL, parallel_thread, &threads[n_started]);
      if (rc != 0)
        {
          /* Stop the threads already running and report this instead. */
          g_set_error (&first_error, WEFT_ERROR, WEFT_ERROR_FAILED,
                       _("Cannot start a spell-check thread: %s"), g_strerror (rc));
          atomic_store_explicit (&shared.failed, TRUE, memory_order_release);
          break;
        }
    }

  for (unsigned i = 0; i < n_started; i++)
    pthread_join (thread_ids[i], NULL);

  for (size_t i = 0; i < shared.n_chunks; i++)
    {
      ParallelChunk *chunk = &shared.chunks[i];

      /* A thread that stopped because another failed reports "cancelled";
       * the error worth showing is the one that made it stop. */
      if (chunk->error != NULL &&
          (first_error == NULL ||
           g_error_matches (first_error, WEFT_ERROR, WEFT_ERROR_CANCELLED)))
        {
          g_clear_error (&first_error);
          first_error = g_steal_pointer (&chunk->error);
        }
      g_clear_error (&chunk->error);
      total_words += chunk->n_words;
      if (chunk->misspelled != NULL)
        total_misspelled += chunk->misspelled->len;
    }

  if (first_error == NULL)
    {
      result = g_array_sized_new (FALSE, FALSE, sizeof (WeftSpellRange), (guint) total_misspelled);
      for (size_t i = 0; i < shared.n_chunks; i++)
        {
          ParallelChunk *chunk = &shared.chunks[i];

          for (guint j = 0; j < chunk->misspelled->len; j++)
            {
              WeftSpellRange range = g_array_index (chunk->misspelled, WeftSpellRange, j);

              range.byte_off += chunk->byte_off;
              g_array_append_val (result, range);
            }
        }
    }
  else
    g_propagate_error (error, first_error);

  for (size_t i = 0; i < shared.n_chunks; i++)
    g_clear_pointer (&shared.chunks[i].misspelled, g_array_unref);
  g_free (shared.chunks);

  if (n_words != NULL)
    *n_words = total_words;

  return result;
}

GArray *
weft_spell_check_parallel (const char          *text,
                           size_t               len,
                           const char          *lang,
                           unsigned             n_threads,
                           const char * const  *session_words,
                           WeftSpellCancelFunc  cancelled,
                           gpointer             cancel_data,
                           size_t              *n_words,
                           GError             **error)
{
  g_autofree WeftSpellChecker **checkers = NULL;
  GArray *result = NULL;
  unsigned n_created = 0;

  g_return_val_if_fail (text != NULL || len == 0, NULL);
  g_return_val_if_fail (lang != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  n_threads = CLAMP (n_threads, 1, 256);
  checkers = g_new0 (WeftSpellChecker *, n_threads);

  /* Loading is serialised by dictionary_lock anyway. */
  for (; n_created < n_threads; n_created++)
    {
      checkers[n_created] = weft_spell_checker_new (lang, error);
      if (checkers[n_created] == NULL)
        break;
      if (session_words != NULL)
        for (size_t i = 0; session_words[i] != NULL; i++)
          weft_spell_checker_add_session_word (checkers[n_created], session_words[i], -1);
    }

  if (n_created == n_threads)
    result = weft_spell_check_parallel_with (checkers, n_threads, text, len,
                                             cancelled, cancel_data, n_words, error);
  else if (n_words != NULL)
    *n_words = 0;

  for (unsigned i = 0; i < n_created; i++)
    weft_spell_checker_free (checkers[i]);

  return result;
}
