/* weft-misspellings.h: the misspelled words of a document, in char offsets, kept in step with its edits. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A set of word ranges [start, end), in text order and not overlapping, that
 * stays cheap at millions of words: results are merged a part of the text at
 * a time, in any order, and every edit moves all the words after it.
 *
 * The words are kept in blocks of a few thousand, each with an offset added
 * to all of its words: replacing the words of a part of the text touches one
 * or two blocks, and an edit moves the words after it by changing one offset
 * per block, not each word. Not thread-safe: one owner (the main thread's
 * spell controller). */
typedef struct _WeftMisspellings WeftMisspellings;

typedef struct
{
  int      start, end;   /* chars; a word is shorter than 2^31 of them */
  gboolean drawn;        /* underlined in the buffer */
} WeftMisspelling;

/* A position in the set: a word, or the end. Valid until the set changes. */
typedef struct
{
  guint block;
  guint index;
} WeftMisspellingIter;

WeftMisspellings *weft_misspellings_new      (void);
void              weft_misspellings_free     (WeftMisspellings *self);
void              weft_misspellings_clear    (WeftMisspellings *self);
guint             weft_misspellings_get_size (const WeftMisspellings *self);

/* Sets @iter to the first word that ends at or after @pos, or to the end;
 * FALSE at the end. */
gboolean weft_misspellings_search (const WeftMisspellings *self,
                                   int                     pos,
                                   WeftMisspellingIter    *iter);
/* The first and the last word; FALSE when the set is empty. */
gboolean weft_misspellings_first  (const WeftMisspellings *self,
                                   WeftMisspellingIter    *iter);
gboolean weft_misspellings_last   (const WeftMisspellings *self,
                                   WeftMisspellingIter    *iter);
/* Moves @iter on or back a word; FALSE when there is none (after the last,
 * @iter is then the end; before the first, it stays put). */
gboolean weft_misspellings_next   (const WeftMisspellings *self,
                                   WeftMisspellingIter    *iter);
gboolean weft_misspellings_prev   (const WeftMisspellings *self,
                                   WeftMisspellingIter    *iter);
/* The word at @iter, which must not be the end. */
WeftMisspelling weft_misspellings_get (const WeftMisspellings    *self,
                                       const WeftMisspellingIter *iter);
void            weft_misspellings_set_drawn (WeftMisspellings          *self,
                                             const WeftMisspellingIter *iter);

/* Removes the words that start in [@start, @end) and puts @words there
 * instead: @n_words, in order, each inside [@start, @end). *@any_drawn (may
 * be NULL) is set to whether a removed word was drawn, *@removed_end (may be
 * NULL) to the greater of @end and the end of the last word removed. */
void weft_misspellings_replace (WeftMisspellings      *self,
                                int                    start,
                                int                    end,
                                const WeftMisspelling *words,
                                guint                  n_words,
                                gboolean              *any_drawn,
                                int                   *removed_end);

/* Moves the words through an edit at @pos. A word the edit touches (inside,
 * or right at either end, which may have made it another word) is removed:
 * its text has to be checked again. */
void weft_misspellings_edit (WeftMisspellings *self,
                             int               pos,
                             int               n_deleted,
                             int               n_inserted);

G_END_DECLS
