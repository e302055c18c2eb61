// test-misspellings.cc: the misspelled-word set (weft-misspellings.c) against a plain vector model.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

extern "C" {
#include "weft-misspellings.h"
}

namespace {

struct Word
{
  int start, end;
  bool drawn;
  bool operator== (const Word &o) const { return start == o.start && end == o.end && drawn == o.drawn; }
};

// The same rules, one word at a time.
struct Model
{
  std::vector<Word> words;

  void replace (int start, int end, const std::vector<Word> &with, bool *any_drawn, int *removed_end)
  {
    std::vector<Word> out;
    bool drawn = false;
    int last = end;

    for (const Word &w : words)
      if (w.start >= start && w.start < end)
        {
          drawn |= w.drawn;
          last = std::max (last, w.end);
        }
    for (const Word &w : words)
      if (w.start < start)
        out.push_back (w);
    out.insert (out.end (), with.begin (), with.end ());
    for (const Word &w : words)
      if (w.start >= end)
        out.push_back (w);
    words = out;
    *any_drawn = drawn;
    *removed_end = last;
  }

  void edit (int pos, int n_deleted, int n_inserted)
  {
    std::vector<Word> out;

    for (Word w : words)
      {
        if (pos <= w.end && pos + n_deleted >= w.start)
          continue;
        if (pos < w.start)
          {
            w.start += n_inserted - n_deleted;
            w.end += n_inserted - n_deleted;
          }
        out.push_back (w);
      }
    words = out;
  }
};

std::vector<Word>
Contents (const WeftMisspellings *set)
{
  std::vector<Word> out;
  WeftMisspellingIter iter;

  for (bool ok = weft_misspellings_first (set, &iter); ok; ok = weft_misspellings_next (set, &iter))
    {
      WeftMisspelling w = weft_misspellings_get (set, &iter);
      out.push_back ({ w.start, w.end, w.drawn != FALSE });
    }
  return out;
}

// Words of 1-9 chars with gaps of 1-5, from @start until @end.
std::vector<Word>
MakeWords (std::mt19937 &rng, int start, int end)
{
  std::vector<Word> out;
  int pos = start + static_cast<int> (rng () % 3);

  for (;;)
    {
      int len = 1 + static_cast<int> (rng () % 9);

      if (pos + len > end)
        break;
      out.push_back ({ pos, pos + len, false });
      pos += len + 1 + static_cast<int> (rng () % 5);
    }
  return out;
}

std::vector<WeftMisspelling>
ToC (const std::vector<Word> &words)
{
  std::vector<WeftMisspelling> out;

  for (const Word &w : words)
    out.push_back ({ w.start, w.end, w.drawn });
  return out;
}

TEST (Misspellings, AnEmptySetHasNoWordsAndNoFirstOrLast)
{
  WeftMisspellings *set = weft_misspellings_new ();
  WeftMisspellingIter iter;

  EXPECT_EQ (weft_misspellings_get_size (set), 0u);
  EXPECT_FALSE (weft_misspellings_first (set, &iter));
  EXPECT_FALSE (weft_misspellings_last (set, &iter));
  EXPECT_FALSE (weft_misspellings_search (set, 0, &iter));
  weft_misspellings_free (set);
}

TEST (Misspellings, SearchFindsTheFirstWordEndingAtOrAfterAPosition)
{
  WeftMisspellings *set = weft_misspellings_new ();
  std::vector<WeftMisspelling> words = { { 2, 5, FALSE }, { 10, 12, FALSE }, { 20, 30, FALSE } };
  WeftMisspellingIter iter;

  weft_misspellings_replace (set, 0, 100, words.data (), 3, nullptr, nullptr);
  ASSERT_TRUE (weft_misspellings_search (set, 5, &iter));
  EXPECT_EQ (weft_misspellings_get (set, &iter).start, 2);
  ASSERT_TRUE (weft_misspellings_search (set, 6, &iter));
  EXPECT_EQ (weft_misspellings_get (set, &iter).start, 10);
  ASSERT_TRUE (weft_misspellings_search (set, 25, &iter));
  EXPECT_EQ (weft_misspellings_get (set, &iter).start, 20);
  EXPECT_FALSE (weft_misspellings_search (set, 31, &iter));
  ASSERT_TRUE (weft_misspellings_prev (set, &iter));
  EXPECT_EQ (weft_misspellings_get (set, &iter).start, 20);
  weft_misspellings_free (set);
}

TEST (Misspellings, AnEditRemovesTheWordsItTouchesAndMovesTheRest)
{
  WeftMisspellings *set = weft_misspellings_new ();
  std::vector<WeftMisspelling> words = { { 0, 3, FALSE }, { 4, 7, FALSE }, { 8, 11, FALSE }, { 20, 22, FALSE } };

  weft_misspellings_replace (set, 0, 100, words.data (), 4, nullptr, nullptr);
  // Typing right after "4-7" touches it; the words after move by two.
  weft_misspellings_edit (set, 7, 0, 2);
  std::vector<Word> expected = { { 0, 3, false }, { 10, 13, false }, { 22, 24, false } };
  EXPECT_EQ (Contents (set), expected);
  // Deleting 0-10 touches the first two words.
  weft_misspellings_edit (set, 0, 10, 0);
  expected = { { 12, 14, false } };
  EXPECT_EQ (Contents (set), expected);
  weft_misspellings_free (set);
}

TEST (Misspellings, ReplaceReportsDrawnWordsAndTheEndOfTheLastRemoved)
{
  WeftMisspellings *set = weft_misspellings_new ();
  std::vector<WeftMisspelling> words = { { 0, 3, FALSE }, { 4, 9, FALSE } };
  std::vector<WeftMisspelling> with = { { 1, 2, FALSE } };
  WeftMisspellingIter iter;
  gboolean drawn = FALSE;
  int removed_end = 0;

  weft_misspellings_replace (set, 0, 100, words.data (), 2, nullptr, nullptr);
  ASSERT_TRUE (weft_misspellings_search (set, 4, &iter));
  weft_misspellings_set_drawn (set, &iter);
  weft_misspellings_replace (set, 0, 5, with.data (), 1, &drawn, &removed_end);
  EXPECT_TRUE (drawn);
  EXPECT_EQ (removed_end, 9);
  std::vector<Word> expected = { { 1, 2, false } };
  EXPECT_EQ (Contents (set), expected);
  weft_misspellings_free (set);
}

// Parts of a large text merged in random order (as parallel workers deliver
// them), edits anywhere, whole-text deletions, drawn flags: every step
// compared with the model, with blocks small and large enough to split.
TEST (Misspellings, RandomMergesAndEditsMatchTheModel)
{
  for (unsigned seed = 1; seed <= 20; seed++)
    {
      std::mt19937 rng (seed);
      WeftMisspellings *set = weft_misspellings_new ();
      Model model;
      int length = 200000;

      for (int step = 0; step < 400; step++)
        {
          unsigned op = rng () % 10;

          if (op < 4)
            {
              int a = static_cast<int> (rng () % static_cast<unsigned> (length + 1));
              int span = 1 + static_cast<int> (rng () % (op == 0 ? 60000u : 3000u));
              int b = std::min (length, a + span);
              int from = a;

              // New words never overlap a word left before them, as on
              // text whose words the same tokenizer found.
              for (const Word &w : model.words)
                if (w.start < a)
                  from = std::max (from, w.end + 1);
              std::vector<Word> with = MakeWords (rng, std::min (from, b), b);
              std::vector<WeftMisspelling> c = ToC (with);
              gboolean drawn = FALSE, model_drawn = FALSE;
              bool md = false;
              int end = -1, model_end = -2;

              weft_misspellings_replace (set, a, b, c.data (), static_cast<guint> (c.size ()), &drawn, &end);
              model.replace (a, b, with, &md, &model_end);
              model_drawn = md;
              ASSERT_EQ (drawn, model_drawn) << "seed " << seed << " step " << step;
              ASSERT_EQ (end, model_end) << "seed " << seed << " step " << step;
            }
          else if (op < 8)
            {
              int pos = static_cast<int> (rng () % static_cast<unsigned> (length + 1));
              int n_deleted = rng () % 3 == 0 ? std::min (length - pos, static_cast<int> (rng () % 50)) : 0;
              int n_inserted = rng () % 2 == 0 ? static_cast<int> (rng () % 20) : 0;

              if (rng () % 40 == 0)
                {
                  // A deletion across most of the text.
                  pos = length / 10;
                  n_deleted = length - 2 * pos;
                }
              weft_misspellings_edit (set, pos, n_deleted, n_inserted);
              model.edit (pos, n_deleted, n_inserted);
              length += n_inserted - n_deleted;
            }
          else if (!model.words.empty ())
            {
              // Draw the first word ending at or after a random position.
              int pos = static_cast<int> (rng () % static_cast<unsigned> (length + 1));
              WeftMisspellingIter iter;
              auto it = std::find_if (model.words.begin (), model.words.end (),
                                      [pos] (const Word &w) { return w.end >= pos; });

              ASSERT_EQ (weft_misspellings_search (set, pos, &iter), it != model.words.end ());
              if (it != model.words.end ())
                {
                  WeftMisspelling w = weft_misspellings_get (set, &iter);

                  ASSERT_EQ (w.start, it->start);
                  weft_misspellings_set_drawn (set, &iter);
                  it->drawn = true;
                }
            }
          ASSERT_EQ (weft_misspellings_get_size (set), model.words.size ()) << "seed " << seed << " step " << step;
          if (step % 20 == 0)
            {
              ASSERT_EQ (Contents (set), model.words) << "seed " << seed << " step " << step;
            }
        }
      ASSERT_EQ (Contents (set), model.words);

      // Walking back from the last word visits them all in reverse.
      std::vector<Word> backwards;
      WeftMisspellingIter iter;
      for (bool ok = weft_misspellings_last (set, &iter); ok; ok = weft_misspellings_prev (set, &iter))
        {
          WeftMisspelling w = weft_misspellings_get (set, &iter);
          backwards.push_back ({ w.start, w.end, w.drawn != FALSE });
        }
      std::reverse (backwards.begin (), backwards.end ());
      ASSERT_EQ (backwards, model.words);
      weft_misspellings_free (set);
    }
}

} // namespace
