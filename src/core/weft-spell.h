/* weft-spell.h: the spell-check engine: a per-worker Enchant checker, its word cache and a parallel whole-text pass. */
#pragma once

#include <stddef.h>
#include <glib.h>

G_BEGIN_DECLS

/* One misspelled word: byte offset from the start of the checked text and
 * length in bytes. */
typedef struct
{
  size_t byte_off;
  size_t byte_len;
} WeftSpellRange;

/* Call once from main(), before any thread starts (it sets an environment
 * variable): stops Enchant from keeping per-user word lists, which Weft
 * keeps itself and passes in as session words. Enchant would otherwise
 * create ~/.config/enchant/<lang>.dic and .exc and stat() both on every
 * look-up of an unknown word (a quarter of a pass's CPU time, measured),
 * and read words added in other programs into the results. Also hides
 * dictionaries installed under ~/.config/enchant/; the system ones stay. */
void weft_spell_process_init (void);

/* Polled by a running check every 256 words, from the checking thread (from
 * every thread of a parallel check at once): returns TRUE to stop it. A
 * function rather than a flag so that C++ callers and the backends' own
 * job state can answer it. */
typedef gboolean (*WeftSpellCancelFunc) (gpointer user_data);

/* Results of dictionary look-ups, keyed by the word's bytes. Lock-free and
 * insert-only, so the checkers of one pass can share one: a word looked up by
 * one worker is not looked up again by another. Only checkers with the same
 * language may share a cache (session words are not cached). Reference counted
 * (atomically); once it holds @max_words words it stops growing. */
typedef struct _WeftSpellCache WeftSpellCache;

/* What a checker's cache holds: more distinct words than 10 MB of prose
 * with a few percent misspelled has. */
#define WEFT_SPELL_CACHE_WORDS (1u << 18)

WeftSpellCache *weft_spell_cache_new   (size_t          max_words);
WeftSpellCache *weft_spell_cache_ref   (WeftSpellCache *cache);
void            weft_spell_cache_unref (WeftSpellCache *cache);
size_t          weft_spell_cache_get_n_words (WeftSpellCache *cache);

/* A checker: its own EnchantBroker and EnchantDict. Not thread-safe: use it
 * from one thread at a time (a hunspell dictionary used by two threads at
 * once was measured to crash); give each worker its own. It may be created
 * on one thread and handed to another through a synchronising hand-off.
 * Creating and freeing checkers is serialised inside (hunspell shares one
 * unlocked table between its dictionaries); create every Enchant dictionary
 * of the process through here. */
typedef struct _WeftSpellChecker WeftSpellChecker;

/* Loads the dictionary for @lang ("en_US"), preferring the hunspell provider
 * (Debian orders aspell first for English otherwise). Fails with
 * WEFT_ERROR_NOT_FOUND when no provider has a dictionary for @lang. Without
 * weft_spell_process_init() Enchant also opens (creating them) the user's
 * word lists for @lang here. The checker's cache is the one that every
 * checker of the same dictionary in this process shares. */
WeftSpellChecker *weft_spell_checker_new          (const char        *lang,
                                                   GError           **error);
void              weft_spell_checker_free         (WeftSpellChecker  *self);

/* The normalised tag and the provider actually used ("hunspell"). */
const char       *weft_spell_checker_get_language (WeftSpellChecker  *self);
const char       *weft_spell_checker_get_provider (WeftSpellChecker  *self);

/* Accepts @word (UTF-8, @len bytes or -1 for NUL-terminated) from now on:
 * personal-dictionary and "Ignore All" words, which the caller keeps and
 * persists. Its capitalised and upper-case forms are accepted too (a
 * capitalised word's lower-case form is not), as for dictionary words.
 * Session words are kept apart from the cache, which holds only the
 * dictionary's verdicts and stays valid. */
void              weft_spell_checker_add_session_word (WeftSpellChecker *self,
                                                       const char       *word,
                                                       gssize            len);
/* Forgets every session word. */
void              weft_spell_checker_clear_session_words (WeftSpellChecker *self);

/* Replaces the checker's cache (at first the one every checker of its
 * dictionary in this process shares) by @cache (a new reference is taken);
 * NULL gives it a fresh private cache, which holds no verdict yet. */
void              weft_spell_checker_set_cache    (WeftSpellChecker  *self,
                                                   WeftSpellCache    *cache);

/* Whether @word (@len bytes of UTF-8, or -1) is spelt correctly. The word is
 * taken as is, not tokenized. */
gboolean          weft_spell_checker_check_word   (WeftSpellChecker  *self,
                                                   const char        *word,
                                                   gssize             len);

/* Checks every word of text[0, len) (UTF-8, need not be NUL-terminated) and
 * appends a WeftSpellRange to @misspelled for each misspelled one, in text
 * order, with offsets from @text. @n_words, when not NULL, is increased by
 * the number of words checked. When @cancelled (may be NULL) returns TRUE the
 * check stops and fails with WEFT_ERROR_CANCELLED; ranges appended so far
 * stay in @misspelled. */
gboolean          weft_spell_checker_check_range  (WeftSpellChecker  *self,
                                                   const char        *text,
                                                   size_t             len,
                                                   WeftSpellCancelFunc cancelled,
                                                   gpointer           cancel_data,
                                                   GArray            *misspelled,
                                                   size_t            *n_words,
                                                   GError           **error);

/* Up to @max_suggestions corrections for @word, best first, as a
 * NULL-terminated array (never NULL; free with g_strfreev()). */
char            **weft_spell_checker_suggest      (WeftSpellChecker  *self,
                                                   const char        *word,
                                                   gssize             len,
                                                   size_t             max_suggestions);

/* The language tags of every installed dictionary, whatever the provider,
 * sorted and without duplicates, for a language menu. Free with g_strfreev(). */
char            **weft_spell_list_languages       (void);

/* The dictionary to use when the user has chosen none: the first of the
 * user's languages (LANGUAGE, LC_ALL, LC_MESSAGES, LANG) with an installed
 * dictionary, tried as "de_DE" and then "de"; else "en_US" if installed;
 * else the first installed one; NULL when there is no dictionary at all.
 * Kept from the last weft_spell_list_languages(): listing asks every
 * provider for its dictionaries (~6 ms), and each new tab needs the answer.
 * Free with g_free(). */
char             *weft_spell_dup_default_language (void);

/* Checks text[0, len) on @n_checkers pthreads, one per checker, which must
 * all have the same language and session words and be used by nothing else
 * meanwhile. The text is cut at line ends into chunks (a single line is not
 * cut) that the threads claim in turn; each checker keeps its own cache
 * (sharing one across threads was measured to cost more than it saved).
 * Returns the misspelled ranges (offsets from @text) in text order as a
 * GArray of WeftSpellRange; @n_words, when not NULL, receives the number of
 * words checked. Fails with the first thread's error, or
 * WEFT_ERROR_CANCELLED when @cancelled returned TRUE. */
GArray           *weft_spell_check_parallel_with  (WeftSpellChecker * const *checkers,
                                                   unsigned                  n_checkers,
                                                   const char               *text,
                                                   size_t                    len,
                                                   WeftSpellCancelFunc       cancelled,
                                                   gpointer                  cancel_data,
                                                   size_t                   *n_words,
                                                   GError                  **error);

/* The same with @n_threads checkers for @lang, created for the call, that
 * accept @session_words (NULL-terminated, may be NULL); fails as
 * weft_spell_checker_new() does when the dictionary is missing. Loading a
 * dictionary costs ~0.1 s: workers that check often keep their checkers and
 * use weft_spell_check_parallel_with(). */
GArray           *weft_spell_check_parallel       (const char         *text,
                                                   size_t              len,
                                                   const char         *lang,
                                                   unsigned            n_threads,
                                                   const char * const *session_words,
                                                   WeftSpellCancelFunc cancelled,
                                                   gpointer            cancel_data,
                                                   size_t             *n_words,
                                                   GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftSpellChecker, weft_spell_checker_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftSpellCache, weft_spell_cache_unref)

G_END_DECLS
