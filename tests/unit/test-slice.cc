// The time budget that large loads and replacements go into the buffer by
// (src/app/weft-slice.h), on a clock the test drives.
#include <gtest/gtest.h>

#include "weft-slice.h"

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

TEST (WeftSliceBudget, EvenSlicesFillTheBudgetWithoutPassingIt)
{
  int n = 0;
  EXPECT_EQ (RunDispatch ({ 1000 }, &n), 3000);
  EXPECT_EQ (n, 3);
  EXPECT_EQ (RunDispatch ({ 500 }, &n), 3500);
  EXPECT_EQ (n, 7);
}

TEST (WeftSliceBudget, OneSliceRunsEvenWhenItAloneTakesTheBudget)
{
  int n = 0;
  EXPECT_EQ (RunDispatch ({ 5000 }, &n), 5000);
  EXPECT_EQ (n, 1);
}

// Insertions of 1.7 ms alternating with deletions of 0.2 ms: after the
// deletion that ends at 1.9 ms, another insertion would end at 3.6 ms, past
// the 3.5 ms budget. Judged by the deletion's cost alone, it would start.
TEST (WeftSliceBudget, AlternatingSlicesAreJudgedByTheDearerOfTheLastTwo)
{
  int n = 0;
  gint64 used = RunDispatch ({ 1700, 200 }, &n);
  EXPECT_EQ (used, 1900);
  EXPECT_EQ (n, 2);
  EXPECT_LE (used, WEFT_SLICE_BUDGET_USEC);
}

}  // namespace
