/* weft-tokenize.h: the spell-checker's word tokenizer, a pure function over UTF-8 text. */
#pragma once

#include <stddef.h>
#include <glib.h>

G_BEGIN_DECLS

/* The rules (tests/unit/test-spell.cc holds an example of each):
 *
 * Words are letters (and combining marks) with internal apostrophes, ' or ’,
 * between two letters or digits: "don't", "rock’n’roll". An apostrophe at
 * either end is a quotation mark and not part of the word (‘quoted’, dogs’).
 * A hyphen ends a word, so "well-known" is checked as "well" and "known":
 * this is how hunspell -l splits it with en_US, whose WORDCHARS lack '-',
 * and the dictionaries list compounds by their parts.
 *
 * Words are skipped, never reported, when they are:
 * - part of a URL, e-mail address or path. These are recognised on the
 *   "run" around the word: letters, digits, apostrophes and - _ \ . : / ~
 *   % * $ [ ] ? ! @, the characters hunspell's own URL scanner accepts. A
 *   run is skipped when it starts with '/', contains "://", '@' or ":\",
 *   exactly as hunspell -l does; and, beyond hunspell, when it starts with
 *   "www.", or contains two or more '/' or '\', or one of them and a '.'
 *   before a letter or digit (src/main.c, docs\notes.txt). A single slash
 *   between words ("and/or", "km/h") stays prose and both sides are checked.
 *   A URL (with "://" or "www.") also takes in a query's = & # + ; , ( )
 *   where hunspell -l would check the words after them.
 * - snake_case: the run contains '_' (MAX_LEN, __init__, foo_bar).
 * - numbers or anything holding a digit: 42, 3rd, abc123, v1.2.
 * - camelCase: a lower-case letter directly followed by an upper-case one
 *   inside the word (camelCase, iPhone, JavaScript). ALLCAPS words are
 *   checked: hunspell accepts acronyms its dictionary lists and the
 *   upper-case form of every word, so only real misspellings are reported.
 *
 * Invalid UTF-8 bytes separate words and are never part of one.
 *
 * So on prose the words, and with en_US the misspelled list, are those of
 * hunspell -l. It differs only where the rules above say "beyond hunspell"
 * or skip code-like words hunspell checks (snake_case, camelCase, tEH,
 * abc123), and on ’ at a word's edge, which hunspell -l keeps (and then
 * reports "dogs’" and "quoted’"). */

/* Called for each word in text order with its byte offset from the start of
 * the text and its length in bytes; returns FALSE to stop early. */
typedef gboolean (*WeftTokenFunc) (const char *text,
                                   size_t      byte_off,
                                   size_t      byte_len,
                                   gpointer    user_data);

/* Calls @func for every word of @text (@len bytes, need not be
 * NUL-terminated) that should be spell-checked. Returns FALSE when @func
 * stopped it. */
gboolean weft_tokenize (const char    *text,
                        size_t         len,
                        WeftTokenFunc  func,
                        gpointer       user_data);

typedef struct
{
  size_t byte_off;
  size_t byte_len;
} WeftTokenRange;

/* Every word weft_tokenize() would report, as a GArray of WeftTokenRange. */
GArray  *weft_tokenize_to_array (const char *text,
                                 size_t      len);

G_END_DECLS
