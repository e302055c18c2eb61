// The time budget that large loads and replacements go into the buffer by
// (src/app/weft-slice.h), on a clock the test drives.
#include <gtest/gtest.h>

#include "weft-slice.h"
#include "weft-watchdog.h"

namespace
{

// Runs slices costing @costs in turn (microseconds, repeating) until the
// budget says no more fit; returns when the last one ended, from the start.
gint64
RunDispatch (std::initializer_list<gint64> costs, int *n_slices)
{
  WeftSliceBudget budget;
  gint64 now = 1000000, start = now;

  weft_slice_budget_init_at (&budget, now);
  *n_slices = 0;
  for (;;)
    for (gint64 cost : costs)
      {
        now += cost;
        ++*n_slices;
        if (!weft_slice_budget_next_at (&budget, now))
          return now - start;
      }
}

constexpr gint64 kBudget = WEFT_SLICE_BUDGET_USEC;

TEST (WeftSliceBudget, EvenSlicesFillTheBudgetWithoutPassingIt)
{
  int n = 0;
  EXPECT_EQ (RunDispatch ({ kBudget / 5 }, &n), kBudget);
  EXPECT_EQ (n, 5);
  // A third slice of 2/5 would end at 6/5 of the budget.
  EXPECT_EQ (RunDispatch ({ 2 * kBudget / 5 }, &n), 4 * kBudget / 5);
  EXPECT_EQ (n, 2);
}

TEST (WeftSliceBudget, OneSliceRunsEvenWhenItAloneTakesTheBudget)
{
  int n = 0;
  EXPECT_EQ (RunDispatch ({ 2 * kBudget }, &n), 2 * kBudget);
  EXPECT_EQ (n, 1);
}

// Insertions of 12/25 of the budget alternating with deletions of 2/25:
// after the deletion that ends at 14/25, another insertion would end at
// 26/25, past the budget. Judged by the deletion's cost alone, it would
// start.
TEST (WeftSliceBudget, AlternatingSlicesAreJudgedByTheDearerOfTheLastTwo)
{
  int n = 0;
  gint64 used = RunDispatch ({ 12 * kBudget / 25, 2 * kBudget / 25 }, &n);
  EXPECT_EQ (used, 14 * kBudget / 25);
  EXPECT_EQ (n, 2);
  EXPECT_LE (used, kBudget);
}

// Slices of a sort of a million lines and its undo: most cost about 0.6 ms,
// and 1 in 500 up to 1.8 ms, unforeseeably. Wherever that dear one falls,
// the dispatch ends within the watchdog's 4 ms.
TEST (WeftSliceBudget, ARareDearSliceStillEndsWithinTheWatchdogsBudget)
{
  for (int dear = 0; dear < 8; dear++)
    {
      WeftSliceBudget budget;
      gint64 now = 1000000, start = now;

      weft_slice_budget_init_at (&budget, now);
      for (int k = 0;; k++)
        {
          now += k == dear ? 1800 : 600;
          if (!weft_slice_budget_next_at (&budget, now))
            break;
        }
      EXPECT_LE (now - start, WEFT_WATCHDOG_WORK_BUDGET_US) << "the dear slice was number " << dear + 1;
    }
}

}  // namespace
