/* weft-misspellings.c: the misspelled words of a document, in blocks that an edit moves as a whole. */
#include "config.h"

#include <string.h>

#include "weft-misspellings.h"

/* A block over BLOCK_MAX words is split in pieces of at most half that:
 * inserting into one moves at most that many, and an edit walks at most one
 * block's words. */
#define BLOCK_MAX   4096

/* A word as stored: 8 bytes, not the 12 of a WeftMisspelling, since a
 * million lines of unknown words can hold several million. */
typedef struct
{
  int     start;        /* less the block's delta */
  guint32 len_drawn;    /* length in chars << 1 | drawn */
} Word;

/* Blocks hold room for a multiple of this many words. Arrays that double
 * (and a split's first half, which kept all of its room) took 34 MB for the
 * 1.2 million words of 200,000 lines, where the words need 10 MB. */
#define BLOCK_ROOM  256

typedef struct
{
  int    delta;   /* added to every word's start */
  guint  len;     /* never 0 */
  guint  room;
  Word  *words;
} Block;

struct _WeftMisspellings
{
  GPtrArray *blocks;   /* Block, in text order */
  guint      n_words;
};

static void
block_free (Block *block)
{
  g_free (block->words);
  g_free (block);
}

static Block *
block_new (int delta)
{
  Block *block = g_new0 (Block, 1);

  block->delta = delta;
  return block;
}

static inline Block *
block_at (const WeftMisspellings *self,
          guint                   i)
{
  return g_ptr_array_index (self->blocks, i);
}

static inline Word *
word_at (Block *block,
         guint  i)
{
  return &block->words[i];
}

/* A word's start, or its end when @by_end, in text offsets. */
static inline int
key (Block    *block,
     guint     i,
     gboolean  by_end)
{
  Word *w = word_at (block, i);

  return w->start + block->delta + (by_end ? (int) (w->len_drawn >> 1) : 0);
}

/* The first word whose start (or end, when @by_end) is at or after @pos. */
static void
locate (const WeftMisspellings *self,
        int                     pos,
        gboolean                by_end,
        WeftMisspellingIter    *iter)
{
  guint lo = 0, hi = self->blocks->len;
  Block *block;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      Block *b = block_at (self, mid);

      if (key (b, b->len - 1, by_end) < pos)
        lo = mid + 1;
      else
        hi = mid;
    }
  iter->block = lo;
  iter->index = 0;
  if (lo == self->blocks->len)
    return;

  block = block_at (self, lo);
  hi = block->len;
  lo = 0;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (key (block, mid, by_end) < pos)
        lo = mid + 1;
      else
        hi = mid;
    }
  iter->index = lo;
}

WeftMisspellings *
weft_misspellings_new (void)
{
  WeftMisspellings *self = g_new0 (WeftMisspellings, 1);

  self->blocks = g_ptr_array_new_with_free_func ((GDestroyNotify) block_free);
  return self;
}

void
weft_misspellings_free (WeftMisspellings *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->blocks);
  g_free (self);
}

void
weft_misspellings_clear (WeftMisspellings *self)
{
  g_return_if_fail (self != NULL);

  g_ptr_array_set_size (self->blocks, 0);
  self->n_words = 0;
}

guint
weft_misspellings_get_size (const WeftMisspellings *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_words;
}

gboolean
weft_misspellings_search (const WeftMisspellings *self,
                          int                     pos,
                          WeftMisspellingIter    *iter)
{
  g_return_val_if_fail (self != NULL && iter != NULL, FALSE);

  locate (self, pos, TRUE, iter);
  return iter->block < self->blocks->len;
}

gboolean
weft_misspellings_first (const WeftMisspellings *self,
                         WeftMisspellingIter    *iter)
{
  g_return_val_if_fail (self != NULL && iter != NULL, FALSE);

  iter->block = 0;
  iter->index = 0;
  return self->blocks->len > 0;
}

gboolean
weft_misspellings_last (const WeftMisspellings *self,
                        WeftMisspellingIter    *iter)
{
  g_return_val_if_fail (self != NULL && iter != NULL, FALSE);

  if (self->blocks->len == 0)
    return weft_misspellings_first (self, iter);
  iter->block = self->blocks->len - 1;
  iter->index = block_at (self, iter->block)->len - 1;
  return TRUE;
}

gboolean
weft_misspellings_next (const WeftMisspellings *self,
                        WeftMisspellingIter    *iter)
{
  g_return_val_if_fail (self != NULL && iter != NULL, FALSE);

  if (iter->block >= self->blocks->len)
    return FALSE;
  if (++iter->index < block_at (self, iter->block)->len)
    return TRUE;
  iter->block++;
  iter->index = 0;
  return iter->block < self->blocks->len;
}

gboolean
weft_misspellings_prev (const WeftMisspellings *self,
                        WeftMisspellingIter    *iter)
{
  g_return_val_if_fail (self != NULL && iter != NULL, FALSE);

  if (iter->index > 0)
    {
      iter->index--;
      return TRUE;
    }
  if (iter->block == 0)
    return FALSE;
  iter->block--;
  iter->index = block_at (self, iter->block)->len - 1;
  return TRUE;
}

WeftMisspelling
weft_misspellings_get (const WeftMisspellings    *self,
                       const WeftMisspellingIter *iter)
{
  Block *block;
  WeftMisspelling w;

  g_return_val_if_fail (self != NULL && iter != NULL && iter->block < self->blocks->len,
                        (WeftMisspelling) { 0 });

  block = block_at (self, iter->block);
  w.start = key (block, iter->index, FALSE);
  w.end = key (block, iter->index, TRUE);
  w.drawn = word_at (block, iter->index)->len_drawn & 1;
  return w;
}

void
weft_misspellings_set_drawn (WeftMisspellings          *self,
                             const WeftMisspellingIter *iter)
{
  g_return_if_fail (self != NULL && iter != NULL && iter->block < self->blocks->len);

  word_at (block_at (self, iter->block), iter->index)->len_drawn |= 1;
}

/* Gives @block room for @n words, a multiple of BLOCK_ROOM. */
static void
block_set_room (Block *block,
                guint  n)
{
  block->room = (n + BLOCK_ROOM - 1) / BLOCK_ROOM * BLOCK_ROOM;
  block->words = g_renew (Word, block->words, block->room);
}

/* Makes room for @n words at @index. */
static void
block_open (Block *block,
            guint  index,
            guint  n)
{
  if (block->len + n > block->room)
    block_set_room (block, block->len + n);
  memmove (&block->words[index + n], &block->words[index], (block->len - index) * sizeof (Word));
  block->len += n;
}

static void
block_remove (Block *block,
              guint  index,
              guint  n)
{
  memmove (&block->words[index], &block->words[index + n], (block->len - index - n) * sizeof (Word));
  block->len -= n;
}

/* Where piece @k of @n starts when @len words are cut into @n pieces whose
 * sizes differ by at most one. */
static guint
piece_start (guint len,
             guint n,
             guint k)
{
  return (guint) (((guint64) len * k + n - 1) / n);
}

/* Splits block @i, when it is over BLOCK_MAX words, into as many blocks of
 * at most BLOCK_MAX / 2 words as it takes. */
static void
split_block (WeftMisspellings *self,
             guint             i)
{
  Block *block = block_at (self, i);
  guint len = block->len, n_pieces;

  if (len <= BLOCK_MAX)
    return;
  n_pieces = (len + BLOCK_MAX / 2 - 1) / (BLOCK_MAX / 2);
  for (guint k = 1; k < n_pieces; k++)
    {
      guint from = piece_start (len, n_pieces, k);
      Block *piece = block_new (block->delta);

      block_open (piece, 0, piece_start (len, n_pieces, k + 1) - from);
      memcpy (piece->words, &block->words[from], piece->len * sizeof (Word));
      g_ptr_array_insert (self->blocks, (int) (i + k), piece);
    }
  block->len = piece_start (len, n_pieces, 1);
  block_set_room (block, block->len);
}

/* Removes the words from @at on that start before @limit, block by block,
 * and leaves @at on the first word left after them, or the end. When
 * @drawn and @last_end are given, they gather whether a word removed was
 * drawn and the greatest end among them; when not, a block whose words all
 * go is dropped without a look at each. */
static void
remove_before (WeftMisspellings    *self,
               WeftMisspellingIter *at,
               int                  limit,
               gboolean            *drawn,
               int                 *last_end)
{
  while (at->block < self->blocks->len)
    {
      Block *block = block_at (self, at->block);
      guint stop;

      if (drawn == NULL && at->index == 0 && key (block, block->len - 1, FALSE) < limit)
        stop = block->len;   /* a whole block inside a large deletion */
      else
        {
          for (stop = at->index; stop < block->len && key (block, stop, FALSE) < limit; stop++)
            {
              if (drawn == NULL)
                continue;
              *drawn |= word_at (block, stop)->len_drawn & 1;
              *last_end = MAX (*last_end, key (block, stop, TRUE));
            }
        }
      block_remove (block, at->index, stop - at->index);
      self->n_words -= stop - at->index;
      if (block->len == 0)
        {
          g_ptr_array_remove_index (self->blocks, at->block);
          continue;
        }
      if (at->index < block->len)
        return;   /* the words left here start at or after @limit */
      at->block++;
      at->index = 0;
    }
}

void
weft_misspellings_replace (WeftMisspellings      *self,
                           int                    start,
                           int                    end,
                           const WeftMisspelling *words,
                           guint                  n_words,
                           gboolean              *any_drawn,
                           int                   *removed_end)
{
  WeftMisspellingIter at;
  gboolean drawn = FALSE;
  int last_end = end;
  Block *block;

  g_return_if_fail (self != NULL);
  g_return_if_fail (n_words == 0 || words != NULL);

  locate (self, start, FALSE, &at);
  remove_before (self, &at, end, &drawn, &last_end);
  if (any_drawn != NULL)
    *any_drawn = drawn;
  if (removed_end != NULL)
    *removed_end = last_end;
  if (n_words == 0)
    return;

  /* The new ones go where the old ones were: before the first word left
   * after them, or after the last word of the text. */
  if (self->blocks->len == 0)
    g_ptr_array_add (self->blocks, block_new (0));
  if (at.block >= self->blocks->len)
    {
      at.block = self->blocks->len - 1;
      at.index = block_at (self, at.block)->len;
    }
  else if (at.index == 0 && at.block > 0)
    {
      /* At the start of a block: the end of the one before is the same
       * place, and appending there moves nothing. */
      at.block--;
      at.index = block_at (self, at.block)->len;
    }
  block = block_at (self, at.block);
  block_open (block, at.index, n_words);
  for (guint i = 0; i < n_words; i++)
    {
      Word *w = word_at (block, at.index + i);

      w->start = words[i].start - block->delta;
      w->len_drawn = (guint32) (words[i].end - words[i].start) << 1 | (words[i].drawn ? 1 : 0);
    }
  self->n_words += n_words;
  split_block (self, at.block);
}

void
weft_misspellings_edit (WeftMisspellings *self,
                        int               pos,
                        int               n_deleted,
                        int               n_inserted)
{
  WeftMisspellingIter at;
  int shift = n_inserted - n_deleted;

  g_return_if_fail (self != NULL);

  /* Words that end before @pos stay. From the first that ends at or after
   * it, words are touched until the first that starts after the deleted
   * text; it and every word after it move. */
  locate (self, pos, TRUE, &at);
  remove_before (self, &at, pos + n_deleted + 1, NULL, NULL);
  if (shift == 0 || at.block >= self->blocks->len)
    return;

  /* The rest of this block word by word, the blocks after as a whole. */
  {
    Block *block = block_at (self, at.block);

    for (guint i = at.index; i < block->len; i++)
      word_at (block, i)->start += shift;
  }
  for (guint b = at.block + 1; b < self->blocks->len; b++)
    block_at (self, b)->delta += shift;
}
