// test-sort.cc: the sort engine (weft-sort.c) and its jobs on both backends (weft-sort-task.c) against GNU sort's output on generated inputs.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <glib.h>
#include <glib/gstdio.h>

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern "C" {
#include "weft-backend.h"
#include "weft-error.h"
#include "weft-job.h"
#include "weft-sort.h"
#include "weft-sort-task.h"
}

#include "weft-test-wait.h"
#include "weft-worker-pids.h"

namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
const int64_t kCancelBoundMs = 3000;
#else
const int64_t kCancelBoundMs = 500;
#endif

// The locale the collation tests run in. The project's test setup
// generates it (Debian: the `locales` package plus locale-gen).
const char *const kLocale = "en_US.UTF-8";

struct Flags
{
  bool locale = false;
  bool fold = false;
  bool numeric = false;
  bool reverse = false;
  bool unique = false;
  bool stable = false;
  unsigned column = 0;

  WeftSortOptions Options () const
  {
    WeftSortOptions opts = {};

    opts.collation = locale ? WEFT_SORT_COLLATION_LOCALE : WEFT_SORT_COLLATION_BYTES;
    opts.locale = locale ? kLocale : nullptr;
    opts.ignore_case = fold;
    opts.numeric = numeric;
    opts.reverse = reverse;
    opts.unique = unique;
    opts.stable = stable;
    opts.column = column;
    return opts;
  }

  std::vector<std::string> GnuArgs () const
  {
    std::vector<std::string> args;

    if (fold)
      args.push_back ("-f");
    if (numeric)
      args.push_back ("-n");
    if (reverse)
      args.push_back ("-r");
    if (unique)
      args.push_back ("-u");
    if (stable)
      args.push_back ("-s");
    if (column > 1)
      args.push_back ("-k" + std::to_string (column));
    return args;
  }

  // -f -n -r -u -s from the bits of @mask, in that order.
  static Flags FromMask (bool locale, unsigned mask, unsigned column)
  {
    Flags flags;

    flags.locale = locale;
    flags.fold = mask & 1;
    flags.numeric = mask & 2;
    flags.reverse = mask & 4;
    flags.unique = mask & 8;
    flags.stable = mask & 16;
    flags.column = column;
    return flags;
  }

  std::string Describe () const
  {
    std::string s = locale ? std::string ("LC_ALL=") + kLocale + " sort" : "LC_ALL=C sort";

    for (const std::string &a : GnuArgs ())
      s += " " + a;
    return s;
  }
};

bool
LocaleAvailable ()
{
  locale_t loc = newlocale (LC_ALL_MASK, kLocale, (locale_t) 0);

  if (loc == (locale_t) 0)
    return false;
  freelocale (loc);
  return true;
}

#define REQUIRE_LOCALE()                                                        \
  ASSERT_TRUE (LocaleAvailable ())                                              \
      << "The locale " << kLocale << " is missing: install the `locales` "     \
      << "package, enable it in /etc/locale.gen and run locale-gen"

// GNU sort's output for @input, with the difference Weft keeps on purpose
// taken out: GNU adds a final newline the input did not have.
std::string
GnuSort (const std::string &input,
         const Flags       &flags)
{
  g_autofree char *dir = g_dir_make_tmp ("weft-sort-test-XXXXXX", nullptr);
  g_autofree char *path = g_build_filename (dir, "input", nullptr);
  g_autoptr (GError) error = nullptr;
  std::vector<std::string> args = flags.GnuArgs ();
  std::vector<char *> argv;
  std::vector<std::string> env_strings;
  std::vector<char *> envp;
  posix_spawn_file_actions_t actions;
  std::string result;
  int fds[2];
  pid_t pid;
  int status = 0;

  EXPECT_TRUE (g_file_set_contents (path, input.data (), (gssize) input.size (), &error));

  argv.push_back (const_cast<char *> ("sort"));
  for (std::string &a : args)
    argv.push_back (a.data ());
  argv.push_back (path);
  argv.push_back (nullptr);

  // Plain posix_spawn rather than GSubprocess: GLib's helper thread is not
  // instrumented and would fill ThreadSanitizer runs with its own reports.
  for (char **e = environ; *e != nullptr; e++)
    if (strncmp (*e, "LC_ALL=", 7) != 0)
      env_strings.push_back (*e);
  env_strings.push_back (std::string ("LC_ALL=") + (flags.locale ? kLocale : "C"));
  for (std::string &e : env_strings)
    envp.push_back (e.data ());
  envp.push_back (nullptr);

  EXPECT_EQ (pipe2 (fds, O_CLOEXEC), 0);
  posix_spawn_file_actions_init (&actions);
  posix_spawn_file_actions_adddup2 (&actions, fds[1], STDOUT_FILENO);
  EXPECT_EQ (posix_spawnp (&pid, "sort", &actions, nullptr, argv.data (), envp.data ()), 0);
  posix_spawn_file_actions_destroy (&actions);
  close (fds[1]);

  char buf[65536];
  ssize_t n;
  while ((n = read (fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      result.append (buf, static_cast<size_t> (n));
  close (fds[0]);
  EXPECT_EQ (waitpid (pid, &status, 0), pid);
  EXPECT_TRUE (WIFEXITED (status) && WEXITSTATUS (status) == 0) << flags.Describe ();

  g_unlink (path);
  g_rmdir (dir);

  if (!input.empty () && input.back () != '\n' && !result.empty () && result.back () == '\n')
    result.pop_back ();
  return result;
}

std::string
WeftSort (const std::string &input,
          const Flags       &flags,
          unsigned           n_threads)
{
  WeftSortOptions opts = flags.Options ();
  g_autoptr (GError) error = nullptr;
  g_autoptr (WeftSortResult) result =
      weft_sort_parallel (input.data (), input.size (), &opts, n_threads, nullptr, &error);

  EXPECT_NE (result, nullptr) << (error ? error->message : "");
  if (result == nullptr)
    return {};

  std::string out (weft_sort_result_get_text_length (result), '\0');
  weft_sort_result_write_text (result, out.data (), n_threads);
  return out;
}

// Where two outputs first differ, as a readable message.
std::string
FirstDifference (const std::string &expected,
                 const std::string &actual)
{
  size_t i = 0;

  while (i < expected.size () && i < actual.size () && expected[i] == actual[i])
    i++;
  size_t line_start = expected.rfind ('\n', i == 0 ? 0 : i - 1);
  line_start = line_start == std::string::npos ? 0 : line_start + 1;
  auto line_at = [] (const std::string &s, size_t from) {
    size_t end = s.find ('\n', from);
    return from >= s.size () ? std::string ("<end>")
                             : s.substr (from, (end == std::string::npos ? s.size () : end) - from);
  };
  return "first difference at byte " + std::to_string (i) + ": expected line \"" +
         line_at (expected, line_start) + "\", got \"" + line_at (actual, line_start) + "\"";
}

void
ExpectSameAsGnu (const std::string &input,
                 const Flags       &flags,
                 const std::vector<unsigned> &thread_counts,
                 const std::string &label)
{
  std::string expected = GnuSort (input, flags);

  for (unsigned n : thread_counts)
    {
      std::string actual = WeftSort (input, flags, n);

      ASSERT_EQ (expected.size (), actual.size ())
          << label << ", " << flags.Describe () << ", " << n << " threads; "
          << FirstDifference (expected, actual);
      ASSERT_TRUE (expected == actual)
          << label << ", " << flags.Describe () << ", " << n << " threads; "
          << FirstDifference (expected, actual);
    }
}

// Deterministic inputs: std::mt19937's output is specified by the standard,
// so every machine generates the same text for a seed.
class InputGenerator
{
public:
  explicit InputGenerator (uint32_t seed) : rng_ (seed) {}

  uint32_t Next (uint32_t bound) { return static_cast<uint32_t> (rng_ () % bound); }

  std::string Field ()
  {
    static const char *const words[] = {
      "apple", "Apple", "APPLE", "banana", "Banana", "bananas", "zebra", "Zebra",
      "café", "cafe", "Café", "éclair", "Éclair", "naïve", "naive", "Straße",
      "strasse", "über", "Uber", "ünder", "_under", "-dash", "dash-", "a.b",
      "x", "X", "y", "Ä", "ä", "z", "€uro", "日本", "ﬁne", "fine",
    };
    static const char *const numbers[] = {
      "0", "-0", "00", "12", "012", "-3", "3", "+5", "1.5", "1.50", "-1.5", "-1.50",
      ".5", "-.5", "0.05", "-0.05", "1e3", "1E3", "0x1F", "1,234", "1,2,3", "12abc",
      "-", ".", "-.", "1.2.3", "99999999999999999999", "-99999999999999999999.5",
      "--5", "- 5", "7.", "-7.", "000.000", "1234", "-1234", "5.000001", "5.0000001",
    };

    switch (Next (4))
      {
      case 0:
      case 1:
        return words[Next (G_N_ELEMENTS (words))];
      case 2:
        return numbers[Next (G_N_ELEMENTS (numbers))];
      default:
        {
          std::string s;
          unsigned n = 1 + Next (6);

          for (unsigned i = 0; i < n; i++)
            s += static_cast<char> ("aAbBzZ09-._,!~"[Next (14)]);
          return s;
        }
      }
  }

  std::string Blanks ()
  {
    static const char *const blanks[] = { " ", " ", " ", "  ", "\t", " \t" };

    return blanks[Next (G_N_ELEMENTS (blanks))];
  }

  std::string Line ()
  {
    std::string line;

    switch (Next (20))
      {
      case 0:
        return "";
      case 1:
        // A long line; some share a 300-byte prefix so that they tie far
        // beyond any cached key prefix.
        line = Next (2) ? std::string (300, 'm') : std::string ();
        for (unsigned i = 0, n = 200 + Next (3000); i < n; i++)
          line += static_cast<char> ("mnMN o"[Next (6)]);
        return line;
      case 2:
        if (!previous_.empty ())
          return previous_[Next (static_cast<uint32_t> (previous_.size ()))];
        break;
      default:
        break;
      }

    if (Next (5) == 0)
      line += Blanks ();
    for (unsigned i = 0, n = 1 + Next (4); i < n; i++)
      {
        if (i > 0)
          line += Blanks ();
        line += Field ();
      }
    if (Next (8) == 0)
      line += Blanks ();
    if (Next (10) == 0)
      line += "\r";
    previous_.push_back (line);
    return line;
  }

  std::string Text (size_t n_lines,
                    bool   final_newline)
  {
    std::string text;

    for (size_t i = 0; i < n_lines; i++)
      {
        text += Line ();
        text += '\n';
      }
    if (!final_newline && !text.empty ())
      text.pop_back ();
    return text;
  }

private:
  std::mt19937 rng_;
  std::vector<std::string> previous_;
};

// Every combination of -f -n -r -u -s and -k 1/2/3 in one collation, on a
// few inputs (one without a final newline), with 1, 2 and 3 threads.
void
CheckEveryCombination (bool locale)
{
  for (uint32_t seed = 1; seed <= 2; seed++)
    {
      InputGenerator gen (seed * 7919);
      std::string input = gen.Text (900, seed == 1);

      for (unsigned mask = 0; mask < 32; mask++)
        for (unsigned column : { 0u, 2u, 3u })
          {
            Flags flags = Flags::FromMask (locale, mask, column);

            ExpectSameAsGnu (input, flags, { 1, 2, 3 }, "seed " + std::to_string (seed));
            if (::testing::Test::HasFatalFailure ())
              return;
          }
    }
}

// Drives the layer-1 pieces by hand: runs, pairwise merges cut into
// several co-ranked slices, unique, output.
std::string
SortWithPieces (const std::string &input,
                const Flags       &flags,
                size_t             n_runs,
                size_t             n_slices,
                bool               use_lcp)
{
  WeftSortOptions opts = flags.Options ();
  g_autoptr (GError) error = nullptr;
  g_autoptr (WeftSortIndex) index = weft_sort_index_new (input.data (), input.size (), &opts, &error);
  size_t n;

  EXPECT_NE (index, nullptr);
  if (index == nullptr)
    return {};
  n = weft_sort_index_get_n_lines (index);

  std::vector<size_t> bounds;
  for (size_t r = 0; r <= n_runs; r++)
    bounds.push_back (n * r / n_runs);

  std::vector<guint32> perm (n), lcp (n);
  for (size_t r = 0; r < n_runs; r++)
    {
      EXPECT_TRUE (weft_sort_index_prepare_keys (index, bounds[r], bounds[r + 1] - bounds[r],
                                                 nullptr, &error));
    }
  for (size_t r = 0; r < n_runs; r++)
    EXPECT_TRUE (weft_sort_run (index, bounds[r], bounds[r + 1] - bounds[r],
                                perm.data () + bounds[r], lcp.data () + bounds[r], nullptr, &error));

  while (bounds.size () > 2)
    {
      std::vector<guint32> merged (n), merged_lcp (n);
      std::vector<size_t> next;

      for (size_t r = 0; r + 1 < bounds.size (); r += 2)
        {
          size_t a0 = bounds[r], a1 = bounds[r + 1];
          size_t b1 = r + 2 < bounds.size () ? bounds[r + 2] : a1;
          size_t total = b1 - a0;

          for (size_t s = 0; s < n_slices; s++)
            {
              size_t lo = total * s / n_slices, hi = total * (s + 1) / n_slices;

              if (use_lcp)
                weft_sort_merge_slice (index, perm.data () + a0, lcp.data () + a0, a1 - a0,
                                       perm.data () + a1, lcp.data () + a1, b1 - a1, lo, hi,
                                       merged.data () + a0 + lo, merged_lcp.data () + a0 + lo);
              else
                weft_sort_merge_slice (index, perm.data () + a0, nullptr, a1 - a0,
                                       perm.data () + a1, nullptr, b1 - a1, lo, hi,
                                       merged.data () + a0 + lo, nullptr);
            }
          next.push_back (a0);
        }
      next.push_back (n);
      bounds = next;
      perm = merged;
      lcp = merged_lcp;
    }

  if (flags.unique)
    n = weft_sort_unique (index, perm.data (), n);

  std::string out (weft_sort_output_length (index, perm.data (), n, 0, n), '\0');
  weft_sort_output_write (index, perm.data (), n, 0, n, out.data ());
  return out;
}

} // namespace

TEST (WeftSort, ByteOrderMatchesGnuSortInEveryOptionCombination)
{
  CheckEveryCombination (false);
}

TEST (WeftSort, LocaleCollationMatchesGnuSortInEveryOptionCombination)
{
  REQUIRE_LOCALE ();
  CheckEveryCombination (true);
}

TEST (WeftSort, ByteOrderIgnoresTheProcessLocale)
{
  REQUIRE_LOCALE ();
  InputGenerator gen (42);
  std::string input = gen.Text (600, true);
  Flags flags;

  flags.fold = true;
  std::string expected = GnuSort (input, flags);
  const char *saved = setlocale (LC_ALL, nullptr);
  std::string saved_name = saved ? saved : "C";
  setlocale (LC_ALL, kLocale);
  std::string actual = WeftSort (input, flags, 2);
  setlocale (LC_ALL, saved_name.c_str ());
  EXPECT_EQ (expected, actual);
}

TEST (WeftSort, EmptyInputSortsToEmptyOutput)
{
  EXPECT_EQ (WeftSort ("", Flags (), 2), "");
  EXPECT_EQ (WeftSort ("\n", Flags (), 2), "\n");
  EXPECT_EQ (WeftSort ("\n\n\n", Flags (), 3), "\n\n\n");
}

TEST (WeftSort, MissingFinalNewlineStaysMissing)
{
  EXPECT_EQ (WeftSort ("b\na\nc", Flags (), 1), "a\nb\nc");
  EXPECT_EQ (WeftSort ("c\nb\na", Flags (), 2), "a\nb\nc");
  EXPECT_EQ (WeftSort ("only", Flags (), 2), "only");
  EXPECT_EQ (WeftSort ("b\n\na", Flags (), 2), "\na\nb");
  EXPECT_EQ (WeftSort ("b\na\n", Flags (), 2), "a\nb\n");
}

TEST (WeftSort, CarriageReturnIsPartOfTheLine)
{
  const std::string input = "b\r\na\r\na\nb\n\r\n";

  EXPECT_EQ (WeftSort (input, Flags (), 2), "\r\na\na\r\nb\nb\r\n");
  ExpectSameAsGnu (input, Flags (), { 1, 2 }, "crlf");
}

TEST (WeftSort, LongLinesAndLongSharedPrefixesMatchGnuSort)
{
  std::mt19937 rng (5);
  std::string input;
  const std::string shared (5000, 'q');

  for (int i = 0; i < 400; i++)
    {
      std::string line = (i % 3 ? shared : std::string ()) + std::string (rng () % 40, 'q');
      for (int j = 0, n = static_cast<int> (rng () % 200); j < n; j++)
        line += "qQ r"[rng () % 4];
      input += line + "\n";
    }
  input += std::string (200000, 'z') + "\n";

  for (bool reverse : { false, true })
    for (bool fold : { false, true })
      {
        Flags flags;

        flags.reverse = reverse;
        flags.fold = fold;
        ExpectSameAsGnu (input, flags, { 1, 2, 4 }, "long lines");
      }
}

TEST (WeftSort, ManyEqualLinesKeepTheirInputOrder)
{
  std::string input;

  for (int i = 0; i < 5000; i++)
    input += (i % 2 ? "same\n" : "Same\n");

  Flags flags;
  flags.fold = true;
  flags.stable = true;
  WeftSortOptions opts = flags.Options ();
  g_autoptr (GError) error = nullptr;
  g_autoptr (WeftSortResult) result =
      weft_sort_parallel (input.data (), input.size (), &opts, 2, nullptr, &error);
  ASSERT_NE (result, nullptr);
  size_t n = 0;
  const guint32 *perm = weft_sort_result_get_permutation (result, &n);
  ASSERT_EQ (n, 5000u);
  for (size_t i = 0; i < n; i++)
    ASSERT_EQ (perm[i], i) << "equal keys must keep their input order";

  ExpectSameAsGnu (input, flags, { 1, 2 }, "stable fold");
}

TEST (WeftSort, StableModeKeepsInputOrderOfEqualKeys)
{
  const std::string input = "b 2\na 1\nc 2\nd 1\nB 2\n";
  Flags flags;

  flags.column = 2;
  flags.stable = true;
  EXPECT_EQ (WeftSort (input, flags, 2), "a 1\nd 1\nb 2\nc 2\nB 2\n");
  flags.reverse = true;
  EXPECT_EQ (WeftSort (input, flags, 2), "b 2\nc 2\nB 2\na 1\nd 1\n");
  // Without -s, GNU orders equal keys by the whole line.
  flags.stable = false;
  flags.reverse = false;
  EXPECT_EQ (WeftSort (input, flags, 2), "a 1\nd 1\nB 2\nb 2\nc 2\n");
}

TEST (WeftSort, UniqueKeepsTheFirstOfEachEqualGroup)
{
  Flags flags;

  flags.fold = true;
  flags.unique = true;
  EXPECT_EQ (WeftSort ("b\nB\na\nA\n", flags, 2), "a\nb\n");
  EXPECT_EQ (WeftSort ("B\nb\nA\na\n", flags, 2), "A\nB\n");
  flags.fold = false;
  flags.numeric = true;
  EXPECT_EQ (WeftSort ("x\n0\n-0\n1.0\n1\n", flags, 2), "x\n1.0\n");
}

TEST (WeftSort, NumericModeReadsGnuNumbersAndTreatsGarbageAsZero)
{
  const std::string input =
      "10\n9\n-1\n-10\n1.5\n1.25\n.5\n-.5\nabc\n\n  3\n\t-2\n+4\n1e9\n1,000\n0x10\n"
      "00007\n7.000\n-0\n99999999999999999999999\n-99999999999999999999999\n";
  Flags flags;

  flags.numeric = true;
  ExpectSameAsGnu (input, flags, { 1, 2 }, "numbers");
  flags.locale = true;
  REQUIRE_LOCALE ();
  // en_US has a thousands separator: "1,000" is a thousand there.
  ExpectSameAsGnu (input, flags, { 1, 2 }, "numbers in en_US");
}

TEST (WeftSort, NulBytesAndInvalidUtf8MatchGnuSort)
{
  REQUIRE_LOCALE ();
  std::string input;
  const char *const lines[] = { "a", "a\xff", "a\xfe", "a\xfe", "\xc3", "abc", "ab", "b", "\xe2\x82" };

  for (int round = 0; round < 3; round++)
    for (const char *l : lines)
      input += std::string (l) + "\n";
  input += std::string ("ab\0c\n", 5) + std::string ("ab\0\n", 4) + std::string ("ab\0b\n", 5);

  for (bool locale : { false, true })
    for (bool unique : { false, true })
      {
        Flags flags;

        flags.locale = locale;
        flags.unique = unique;
        ExpectSameAsGnu (input, flags, { 1, 2 }, "nul and invalid utf-8");
      }
}

TEST (WeftSort, ResultIsTheSameForAnyNumberOfThreads)
{
  InputGenerator gen (99);
  std::string input = gen.Text (5000, false);
  Flags flags;

  flags.fold = true;
  flags.column = 2;
  std::string one = WeftSort (input, flags, 1);
  for (unsigned n = 2; n <= 9; n++)
    ASSERT_EQ (one, WeftSort (input, flags, n)) << n << " threads";
}

// When most lines share their first 8 key bytes, key-range runs would be
// unbalanced and the parallel call sorts runs by position and merges them
// instead: that path must give the same bytes.
TEST (WeftSort, DominantPrefixTakesTheMergePathAndMatchesGnuSort)
{
  InputGenerator gen (77);
  std::string input;

  for (int i = 0; i < 4000; i++)
    {
      std::string line = gen.Line ();

      input += (i % 10 ? "common-prefix " : "") + line + "\n";
    }
  for (unsigned mask = 0; mask < 8; mask++)
    {
      Flags flags;

      flags.fold = mask & 1;
      flags.reverse = mask & 2;
      flags.unique = mask & 4;
      ExpectSameAsGnu (input, flags, { 2, 3, 4, 5 }, "dominant prefix");
      if (::testing::Test::HasFatalFailure ())
        return;
    }
}

TEST (WeftSort, RunLcpsAreTheSharedKeyPrefixes)
{
  InputGenerator gen (8);
  std::string input = gen.Text (3000, true);

  for (bool reverse : { false, true })
    {
      Flags flags;
      flags.reverse = reverse;
      WeftSortOptions opts = flags.Options ();
      g_autoptr (WeftSortIndex) index = weft_sort_index_new (input.data (), input.size (), &opts, nullptr);
      size_t n = weft_sort_index_get_n_lines (index);
      std::vector<guint32> perm (n), lcp (n);
      std::vector<std::string> lines;

      for (size_t start = 0; start < input.size ();)
        {
          size_t end = input.find ('\n', start);
          lines.push_back (input.substr (start, end - start));
          start = end + 1;
        }
      ASSERT_EQ (lines.size (), n);
      ASSERT_TRUE (weft_sort_index_prepare_keys (index, 0, n, nullptr, nullptr));
      ASSERT_TRUE (weft_sort_run (index, 0, n, perm.data (), lcp.data (), nullptr, nullptr));
      for (size_t i = 1; i < n; i++)
        {
          const std::string &x = lines[perm[i - 1]], &y = lines[perm[i]];
          size_t common = 0;

          while (common < x.size () && common < y.size () && x[common] == y[common])
            common++;
          ASSERT_EQ (lcp[i], common) << "position " << i;
        }
    }
}

TEST (WeftSort, RunAndMergePiecesGiveTheSameTextAsTheParallelCall)
{
  InputGenerator gen (1234);
  std::string input = gen.Text (3000, false);

  for (unsigned mask = 0; mask < 16; mask++)
    {
      Flags flags;

      flags.fold = mask & 1;
      flags.numeric = mask & 2;
      flags.reverse = mask & 4;
      flags.unique = mask & 8;
      std::string expected = WeftSort (input, flags, 2);
      for (size_t runs : { 1, 3, 4 })
        for (bool use_lcp : { false, true })
          ASSERT_EQ (expected, SortWithPieces (input, flags, runs, 5, use_lcp))
              << flags.Describe () << ", " << runs << " runs, LCPs " << use_lcp;
    }
}

TEST (WeftSort, CoRanksSplitTheMergeIntoDisjointSlices)
{
  const std::string input = "d\nb\na\nc\ne\nb\n";
  Flags flags;
  WeftSortOptions opts = flags.Options ();
  g_autoptr (WeftSortIndex) index = weft_sort_index_new (input.data (), input.size (), &opts, nullptr);
  guint32 a[3], b[3];

  ASSERT_TRUE (weft_sort_index_prepare_keys (index, 0, 6, nullptr, nullptr));
  ASSERT_TRUE (weft_sort_run (index, 0, 3, a, nullptr, nullptr, nullptr));
  ASSERT_TRUE (weft_sort_run (index, 3, 3, b, nullptr, nullptr, nullptr));
  // a = a b d (lines 2 1 0), b = b c e (lines 5 3 4); merged: a b(1) b(5) c d e.
  EXPECT_EQ (weft_sort_merge_corank (index, a, 3, b, 3, 0), 0u);
  EXPECT_EQ (weft_sort_merge_corank (index, a, 3, b, 3, 2), 2u);
  EXPECT_EQ (weft_sort_merge_corank (index, a, 3, b, 3, 3), 2u);
  EXPECT_EQ (weft_sort_merge_corank (index, a, 3, b, 3, 5), 3u);
  EXPECT_EQ (weft_sort_merge_corank (index, a, 3, b, 3, 6), 3u);
}

TEST (WeftSort, PresetCancelFlagFailsWithCancelled)
{
  InputGenerator gen (3);
  std::string input = gen.Text (20000, true);
  WeftSortCancelFlag cancel (true);
  Flags flags;
  WeftSortOptions opts = flags.Options ();
  g_autoptr (GError) error = nullptr;

  WeftSortResult *result = weft_sort_parallel (input.data (), input.size (), &opts, 2, &cancel, &error);
  EXPECT_EQ (result, nullptr);
  EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_CANCELLED));
}

TEST (WeftSort, CancellingDuringASortStopsItPromptly)
{
  InputGenerator gen (4);
  std::string input = gen.Text (400000, true);

  for (bool locale : { false, true })
    {
      if (locale)
        {
          REQUIRE_LOCALE ();
        }
      Flags flags;
      flags.locale = locale;
      WeftSortOptions opts = flags.Options ();
      WeftSortCancelFlag cancel (false);
      std::atomic<int64_t> cancelled_at_ns (0);
      g_autoptr (GError) error = nullptr;

      std::thread canceller ([&] {
        std::this_thread::sleep_for (std::chrono::milliseconds (30));
        cancelled_at_ns.store (g_get_monotonic_time () * 1000);
        cancel.store (true, std::memory_order_release);
      });
      WeftSortResult *result =
          weft_sort_parallel (input.data (), input.size (), &opts, 2, &cancel, &error);
      int64_t returned_at_ns = g_get_monotonic_time () * 1000;
      canceller.join ();

      // The call may have finished before the flag was set; it must not
      // return a result after seeing it.
      if (result != nullptr)
        {
          weft_sort_result_free (result);
          continue;
        }
      EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_CANCELLED));
      // 50 ms is the design's bar; the margin is for a busy machine's
      // scheduling, and sanitizer builds run many times slower.
      EXPECT_LT ((returned_at_ns - cancelled_at_ns.load ()) / 1000000, kCancelBoundMs)
          << "cancellation took too long";
    }
}

TEST (WeftSort, UnknownLocaleIsAnError)
{
  WeftSortOptions opts = {};
  g_autoptr (GError) error = nullptr;

  opts.collation = WEFT_SORT_COLLATION_LOCALE;
  opts.locale = "xx_NOWHERE.UTF-8";
  EXPECT_EQ (weft_sort_index_new ("a\n", 2, &opts, &error), nullptr);
  EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_FAILED));
}

// The same sorts as jobs on a backend: threads, or weft-worker processes
// (the built one, as test-backend uses).

namespace {

const char *
WorkerPath ()
{
  const char *path = g_getenv ("WEFT_WORKER_PATH");
  return path != nullptr ? path : "weft-worker";
}

// Pids of this process's weft-worker children.
std::vector<pid_t>
WorkerPids ()
{
  pid_t pids[64];
  size_t n = weft_test_worker_pids (pids, G_N_ELEMENTS (pids));

  return std::vector<pid_t> (pids, pids + MIN (n, G_N_ELEMENTS (pids)));
}

struct TaskOutcome
{
  bool done = false;
  bool ok = false;
  int error_code = -1;
  std::string error_message;
  std::string text;
  WeftSortTaskStats stats{};
};

class WeftSortOnBackend : public ::testing::TestWithParam<std::string>
{
protected:
  void SetUp () override
  {
    ctx_ = g_main_context_new ();
    if (GetParam () == "threads")
      backend_ = weft_thread_backend_new (3, ctx_);
    else
      {
        g_autoptr (GError) error = nullptr;

        backend_ = weft_process_backend_new (3, WorkerPath (), ctx_, &error);
        ASSERT_NE (backend_, nullptr) << error->message;
      }
  }

  void TearDown () override
  {
    bool closed = false;

    if (backend_ != nullptr)
      {
        weft_backend_shutdown (backend_, WEFT_SHUTDOWN_CANCEL,
                               [] (gpointer data) { *static_cast<bool *> (data) = true; }, &closed);
        WaitFor ([&] { return closed; });
      }
    while (g_main_context_iteration (ctx_, FALSE))
      ;
    g_main_context_unref (ctx_);
  }

  bool WaitFor (const std::function<bool ()> &cond, int timeout_s = 300)
  {
    return WeftTestWaitFor (ctx_, cond, timeout_s);
  }

  static void OnDone (const WeftSortOutput *output, const GError *error, gpointer user_data)
  {
    auto *outcome = static_cast<TaskOutcome *> (user_data);

    outcome->done = true;
    outcome->ok = output != nullptr;
    if (error != nullptr)
      {
        outcome->error_code = error->domain == WEFT_ERROR ? error->code : -2;
        outcome->error_message = error->message;
      }
    if (output != nullptr)
      {
        for (guint i = 0; i < output->n_pieces; i++)
          {
            gsize n;
            const char *p = static_cast<const char *> (g_bytes_get_data (output->pieces[i], &n));
            outcome->text.append (p != nullptr ? p : "", n);
          }
        EXPECT_EQ (outcome->text.size (), output->length);
        outcome->stats = *output->stats;
      }
  }

  WeftSortTask *Start (const std::string &input, const Flags &flags, unsigned n_parts,
                       TaskOutcome *outcome)
  {
    WeftSortOptions opts = flags.Options ();
    GBytes *bytes = g_bytes_new (input.data (), input.size ());
    WeftJobInput *in = weft_job_input_new_bytes (bytes);
    WeftSortTask *task = weft_sort_task_start (backend_, in, &opts, n_parts, 0, OnDone, outcome);

    weft_job_input_unref (in);
    g_bytes_unref (bytes);
    return task;
  }

  TaskOutcome Sort (const std::string &input, const Flags &flags, unsigned n_parts)
  {
    TaskOutcome outcome;

    Start (input, flags, n_parts, &outcome);
    EXPECT_TRUE (WaitFor ([&] { return outcome.done; })) << "the sort never finished";
    return outcome;
  }

  void ExpectSameAsGnuOnBackend (const std::string &input, const Flags &flags,
                                 const std::vector<unsigned> &parts, const std::string &label)
  {
    std::string expected = GnuSort (input, flags);

    for (unsigned n : parts)
      {
        TaskOutcome outcome = Sort (input, flags, n);

        ASSERT_TRUE (outcome.ok) << label << ", " << flags.Describe () << ": " << outcome.error_message;
        ASSERT_TRUE (expected == outcome.text)
            << label << ", " << flags.Describe () << ", " << n << " parts on " << GetParam () << "; "
            << FirstDifference (expected, outcome.text);
      }
  }

  void CheckEveryCombinationOnBackend (bool locale)
  {
    InputGenerator gen (7919);
    std::string input = gen.Text (700, false);

    for (unsigned mask = 0; mask < 32; mask++)
      for (unsigned column : { 0u, 2u })
        {
          Flags flags = Flags::FromMask (locale, mask, column);

          ExpectSameAsGnuOnBackend (input, flags, { 1, 3 }, "generated");
          if (HasFatalFailure ())
            return;
        }
  }

  GMainContext *ctx_ = nullptr;
  WeftBackend *backend_ = nullptr;
};

} // namespace

TEST_P (WeftSortOnBackend, ByteOrderMatchesGnuSortInEveryOptionCombination)
{
  CheckEveryCombinationOnBackend (false);
}

TEST_P (WeftSortOnBackend, LocaleCollationMatchesGnuSortInEveryOptionCombination)
{
  REQUIRE_LOCALE ();
  CheckEveryCombinationOnBackend (true);
}

TEST_P (WeftSortOnBackend, EdgeCasesMatchGnuSortWithAnyNumberOfParts)
{
  const char *const inputs[] = {
    "", "\n", "\n\n\n", "only", "b\na\nc", "b\n\na", "b\r\na\r\na\nb\n\r\n", "z\ny\nx\nw\nv\nu\n",
  };

  for (const char *input : inputs)
    for (bool unique : { false, true })
      {
        Flags flags;

        flags.unique = unique;
        ExpectSameAsGnuOnBackend (input, flags, { 1, 2, 5 }, "edge case");
      }
  std::string long_line = std::string (100000, 'q') + "\nb\na\n" + std::string (50000, 'a');
  ExpectSameAsGnuOnBackend (long_line, Flags (), { 1, 2, 4 }, "long lines");
}

TEST_P (WeftSortOnBackend, DominantPrefixAndDuplicatesAcrossPartsMatchGnuSort)
{
  InputGenerator gen (77);
  std::string input;

  REQUIRE_LOCALE ();
  for (int i = 0; i < 6000; i++)
    input += (i % 10 ? "common-prefix " : "") + gen.Line () + "\n";
  for (unsigned mask = 0; mask < 16; mask++)
    {
      Flags flags;

      flags.fold = mask & 1;
      flags.reverse = mask & 2;
      flags.unique = mask & 4;
      flags.locale = mask & 8;
      ExpectSameAsGnuOnBackend (input, flags, { 2, 3, 4 }, "dominant prefix");
      if (HasFatalFailure ())
        return;
    }
}

// In locale order, lines meet the bucket splitters through strcoll(), not
// through their weights: lines equal under -f, or equal in their key under
// -k, must still share a bucket, in either direction.
TEST_P (WeftSortOnBackend, LocaleBucketsKeepEqualKeysTogether)
{
  const char *const words[] = { "apple", "Apple", "APPLE", "banana", "Banana", "cherry",
                                "Cherry", "éclair", "Éclair", "eclair", "zebra", "" };
  InputGenerator gen (4242);
  std::string input;

  REQUIRE_LOCALE ();
  for (int i = 0; i < 9000; i++)
    input += std::string (words[i * 7 % G_N_ELEMENTS (words)]) + (i % 3 ? "" : " " + gen.Line ()) + "\n";
  for (unsigned mask = 0; mask < 8; mask++)
    for (unsigned column : { 0u, 2u })
      {
        Flags flags;

        flags.locale = true;
        flags.fold = mask & 1;
        flags.reverse = mask & 2;
        flags.unique = mask & 4;
        flags.column = column;
        ExpectSameAsGnuOnBackend (input, flags, { 2, 3, 5 }, "equal keys");
        if (HasFatalFailure ())
          return;
      }
}

TEST_P (WeftSortOnBackend, EqualKeysKeepTheirInputOrder)
{
  std::string input;
  Flags flags;

  // Every key (field 2 on) is equal: a stable sort must give the input back.
  for (int i = 0; i < 20000; i++)
    {
      char line[32];

      snprintf (line, sizeof line, "%06d same key\n", (i * 7919) % 20000);
      input += line;
    }
  flags.column = 2;
  flags.stable = true;
  for (unsigned parts : { 1u, 2u, 3u })
    {
      TaskOutcome outcome = Sort (input, flags, parts);

      ASSERT_TRUE (outcome.ok) << outcome.error_message;
      EXPECT_TRUE (outcome.text == input) << parts << " parts; " << FirstDifference (input, outcome.text);
    }
}

TEST_P (WeftSortOnBackend, SameResultAsTheInProcessSortAndStatsAddUp)
{
  InputGenerator gen (99);
  std::string input = gen.Text (20000, false);
  Flags flags;

  flags.fold = true;
  flags.column = 2;
  std::string expected = WeftSort (input, flags, 2);
  TaskOutcome outcome = Sort (input, flags, 3);
  ASSERT_TRUE (outcome.ok) << outcome.error_message;
  EXPECT_TRUE (outcome.text == expected) << FirstDifference (expected, outcome.text);
  EXPECT_EQ (outcome.stats.n_jobs, 6u);
  EXPECT_GT (outcome.stats.wall_us, 0);
  EXPECT_GE (outcome.stats.wall_us, outcome.stats.run_phase_us);
  if (GetParam () == "processes")
    EXPECT_GT (outcome.stats.ipc_bytes, input.size ());
  else
    EXPECT_EQ (outcome.stats.ipc_bytes, 0u);
}

TEST_P (WeftSortOnBackend, CancellingStopsTheSortPromptly)
{
  InputGenerator gen (4);
  std::string input = gen.Text (300000, true);

  for (int delay_ms : { 0, 40 })
    {
      TaskOutcome outcome;
      WeftSortTask *task = Start (input, Flags (), 3, &outcome);
      gint64 cancelled_at = 0;

      if (delay_ms > 0)
        {
          gint64 until = g_get_monotonic_time () + delay_ms * 1000;
          WaitFor ([&] { return outcome.done || g_get_monotonic_time () >= until; });
        }
      if (outcome.done)
        continue;  // finished before it could be cancelled: nothing to check
      cancelled_at = g_get_monotonic_time ();
      weft_sort_task_cancel (task);
      ASSERT_TRUE (WaitFor ([&] { return outcome.done; }));
      EXPECT_FALSE (outcome.ok);
      EXPECT_EQ (outcome.error_code, WEFT_ERROR_CANCELLED) << outcome.error_message;
      EXPECT_LT ((g_get_monotonic_time () - cancelled_at) / 1000, kCancelBoundMs)
          << "cancellation took too long";
    }
}

TEST_P (WeftSortOnBackend, UnknownLocaleFailsWithAClearError)
{
  Flags flags;
  WeftSortOptions opts = flags.Options ();
  TaskOutcome outcome;
  GBytes *bytes = g_bytes_new ("b\na\n", 4);
  WeftJobInput *in = weft_job_input_new_bytes (bytes);

  opts.collation = WEFT_SORT_COLLATION_LOCALE;
  opts.locale = "xx_NOWHERE.UTF-8";
  weft_sort_task_start (backend_, in, &opts, 2, 0, OnDone, &outcome);
  weft_job_input_unref (in);
  g_bytes_unref (bytes);
  ASSERT_TRUE (WaitFor ([&] { return outcome.done; }));
  EXPECT_FALSE (outcome.ok);
  EXPECT_EQ (outcome.error_code, WEFT_ERROR_FAILED);
  EXPECT_NE (outcome.error_message.find ("xx_NOWHERE"), std::string::npos) << outcome.error_message;
}

// The run jobs' choice of plan: key ranges where prefixes spread the
// lines, sorted runs and merges where they cannot (numeric keys, one
// prefix on most lines).
TEST (WeftSortJobs, RunJobsSplitByKeyRangeUnlessPrefixesCannot)
{
  InputGenerator gen (21);
  std::string spread = gen.Text (5000, true), dominant;
  for (int i = 0; i < 5000; i++)
    dominant += (i % 10 ? "common-prefix " : "") + gen.Line () + "\n";

  auto next_kind = [] (const std::string &text, const Flags &flags) {
    WeftSortOptions opts = flags.Options ();
    g_autoptr (GBytes) options = weft_sort_job_options (&opts, 1, 2);
    g_autoptr (GBytes) output = nullptr;
    g_autoptr (GError) error = nullptr;

    EXPECT_TRUE (weft_sort_job_sort_run (text.data (), text.size (), options, nullptr, nullptr, &output, &error))
        << (error ? error->message : "");
    return output != nullptr ? weft_sort_job_next_kind (output) : 0u;
  };
  Flags numeric, locale;
  numeric.numeric = true;
  locale.locale = true;
  EXPECT_EQ (next_kind (spread, Flags ()), (guint) WEFT_JOB_SORT_BUCKET);
  EXPECT_EQ (next_kind (spread, numeric), (guint) WEFT_JOB_SORT_MERGE);
  EXPECT_EQ (next_kind (dominant, Flags ()), (guint) WEFT_JOB_SORT_MERGE);
  // Locale order splits by whole sampled keys, not by their first bytes:
  // a shared prefix does not unbalance it.
  REQUIRE_LOCALE ();
  EXPECT_EQ (next_kind (spread, locale), (guint) WEFT_JOB_SORT_BUCKET);
  EXPECT_EQ (next_kind (dominant, locale), (guint) WEFT_JOB_SORT_BUCKET);
}

// A run job's output that does not fit the text fails the next phase with
// an error, rather than picking wrong lines.
TEST (WeftSortJobs, PhaseTwoRefusesOutputsThatDoNotFitTheText)
{
  const std::string text = "c\nb\na\nd\n";
  WeftSortOptions opts = Flags ().Options ();
  std::string runs;

  for (guint part = 0; part < 2; part++)
    {
      g_autoptr (GBytes) options = weft_sort_job_options (&opts, part, 2);
      g_autoptr (GBytes) output = nullptr;
      ASSERT_TRUE (weft_sort_job_sort_run (text.data (), text.size (), options, nullptr, nullptr, &output, nullptr));
      gsize n;
      const char *p = static_cast<const char *> (g_bytes_get_data (output, &n));
      runs.append (p, n);
    }
  g_autoptr (GBytes) options = weft_sort_job_options (&opts, 0, 2);
  // A line count that does not add up, an offset that starts no line, a
  // list cut short.
  std::string bad_count = runs, bad_offset = runs;
  bad_count[4] ^= 1;
  bad_offset[bad_offset.size () - 4] ^= 1;
  {
    g_autoptr (GBytes) output = nullptr;
    ASSERT_TRUE (weft_sort_job_sort_bucket (text.data (), text.size (), runs.data (), runs.size (), options,
                                            nullptr, nullptr, &output, nullptr));
  }
  for (const std::string &aux : { bad_count, bad_offset, runs.substr (0, runs.size () - 4) })
    {
      bool refused = false;

      for (guint part = 0; part < 2; part++)
        {
          g_autoptr (GBytes) part_options = weft_sort_job_options (&opts, part, 2);
          g_autoptr (GBytes) output = nullptr;
          g_autoptr (GError) error = nullptr;

          if (!weft_sort_job_sort_bucket (text.data (), text.size (), aux.data (), aux.size (), part_options,
                                          nullptr, nullptr, &output, &error))
            {
              EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_FAILED));
              refused = true;
            }
        }
      EXPECT_TRUE (refused);
    }
}

INSTANTIATE_TEST_SUITE_P (Backends, WeftSortOnBackend, ::testing::Values ("threads", "processes"),
                          [] (const ::testing::TestParamInfo<std::string> &info) { return info.param; });

// Workers killed while they sort: each job is retried once on a fresh
// worker, so the sort either gives GNU sort's exact output or fails with
// WEFT_ERROR_WORKER_CRASHED; never a wrong text.
TEST (WeftSortOnProcesses, KilledWorkersGiveTheRightOutputOrAnError)
{
  GMainContext *ctx = g_main_context_new ();
  g_autoptr (GError) error = nullptr;
  WeftBackend *backend = weft_process_backend_new (2, WorkerPath (), ctx, &error);
  ASSERT_NE (backend, nullptr) << error->message;
  InputGenerator gen (12);
  std::string input = gen.Text (150000, true);
  std::string expected = GnuSort (input, Flags ());
  int kills_total = 0, crashed_errors = 0, exact = 0;

  for (int round = 0; round < 4; round++)
    {
      TaskOutcome outcome;
      WeftSortOptions opts = Flags ().Options ();
      GBytes *bytes = g_bytes_new (input.data (), input.size ());
      WeftJobInput *in = weft_job_input_new_bytes (bytes);
      int kills = 0;

      weft_sort_task_start (backend, in, &opts, 2, 0,
                            [] (const WeftSortOutput *output, const GError *err, gpointer data) {
                              auto *o = static_cast<TaskOutcome *> (data);
                              o->done = true;
                              o->ok = output != nullptr;
                              if (err != nullptr)
                                o->error_code = err->code;
                              for (guint i = 0; output != nullptr && i < output->n_pieces; i++)
                                {
                                  gsize n;
                                  const char *p = static_cast<const char *> (g_bytes_get_data (output->pieces[i], &n));
                                  o->text.append (p != nullptr ? p : "", n);
                                }
                            },
                            &outcome);
      weft_job_input_unref (in);
      g_bytes_unref (bytes);

      // Round 0 kills once, later rounds keep killing: one worker death is
      // survived, repeated ones may exhaust a job's retry.
      gint64 deadline = g_get_monotonic_time () + 300 * G_USEC_PER_SEC;
      while (!outcome.done && g_get_monotonic_time () < deadline)
        {
          g_main_context_iteration (ctx, FALSE);
          if (kills < (round == 0 ? 1 : 6))
            {
              std::vector<pid_t> pids = WorkerPids ();
              if (!pids.empty () && kill (pids[kills % pids.size ()], SIGKILL) == 0)
                kills++;
            }
          g_usleep (2000);
        }
      ASSERT_TRUE (outcome.done);
      kills_total += kills;
      if (outcome.ok)
        {
          ASSERT_TRUE (outcome.text == expected) << "round " << round << "; " << FirstDifference (expected, outcome.text);
          exact++;
        }
      else
        {
          EXPECT_EQ (outcome.error_code, WEFT_ERROR_WORKER_CRASHED);
          crashed_errors++;
        }
    }
  EXPECT_GT (kills_total, 0);
  EXPECT_EQ (exact + crashed_errors, 4);

  bool closed = false;
  weft_backend_shutdown (backend, WEFT_SHUTDOWN_CANCEL,
                         [] (gpointer data) { *static_cast<bool *> (data) = true; }, &closed);
  while (!closed)
    g_main_context_iteration (ctx, TRUE);
  g_main_context_unref (ctx);
}
