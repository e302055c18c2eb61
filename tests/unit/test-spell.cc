// test-spell.cc: the spell-check tokenizer (weft-tokenize.c) and engine (weft-spell.c), checked against hunspell -l.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <glib/gstdio.h>

extern "C" {
#include "weft-backend.h"
#include "weft-error.h"
#include "weft-spell.h"
#include "weft-spell-job.h"
#include "weft-spell-pass.h"
#include "weft-text.h"
#include "weft-tokenize.h"
}

namespace {

const char kLang[] = "en_US";
const char kDicPath[] = "/usr/share/hunspell/en_US.dic";
const char kHunspell[] = "/usr/bin/hunspell";

// Enchant's per-user word lists would make the comparison with hunspell -l
// depend on the machine; weft_spell_process_init() turns them off, as the
// editor and the worker do. Runs before main(), so before any thread.
const bool kProcessInitialised = (weft_spell_process_init (), true);

std::vector<std::string>
Words (const std::string &text)
{
  GArray *ranges = weft_tokenize_to_array (text.data (), text.size ());
  std::vector<std::string> words;

  for (guint i = 0; i < ranges->len; i++)
    {
      const WeftTokenRange &r = g_array_index (ranges, WeftTokenRange, i);
      words.emplace_back (text, r.byte_off, r.byte_len);
    }
  g_array_unref (ranges);
  return words;
}

using Strings = std::vector<std::string>;

// ---------------------------------------------------------------------------
// The prose generator: deterministic on every machine, so that a failure
// can be reproduced from its seed.

struct Random
{
  uint64_t state;

  uint64_t Next ()
  {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1DULL;
  }

  size_t Below (size_t n) { return static_cast<size_t> (Next () % n); }
  bool Percent (unsigned p) { return Below (100) < p; }
};

// The dictionary's stems that are plain prose words: letters (any script)
// and internal apostrophes, no digits and no internal capitals (McDonald,
// iPod), which the tokenizer deliberately skips as code-like.
Strings
DictionaryWords ()
{
  std::ifstream in (kDicPath);
  std::string line;
  Strings words;

  std::getline (in, line);  // the entry count
  while (std::getline (in, line))
    {
      std::string word = line.substr (0, line.find ('/'));
      bool ok = !word.empty () && word.front () != '\'' && word.back () != '\'';

      for (size_t i = 0; ok && i < word.size (); i++)
        {
          unsigned char c = static_cast<unsigned char> (word[i]);

          if (c >= 0x80 || c == '\'')
            continue;
          if (!g_ascii_isalpha (c))
            ok = false;
          else if (i > 0 && g_ascii_isupper (c) && g_ascii_islower (word[i - 1]))
            ok = false;
        }
      if (ok)
        words.push_back (word);
    }
  return words;
}

// Only such words get letters moved: a slip in "KKt" can make "KtK", which
// the tokenizer skips as camelCase where hunspell -l reports it.
bool
IsPlainWord (const std::string &w)
{
  if (w.empty () || !g_ascii_isalpha (w[0]))
    return false;
  for (size_t i = 1; i < w.size (); i++)
    if (!g_ascii_islower (w[i]))
      return false;
  return true;
}

// A typing slip: two letters swapped, one dropped, doubled or replaced.
std::string
Misspell (const std::string &word, Random &rng)
{
  std::string w = word;

  if (w.size () < 3 || !IsPlainWord (w))
    return w + "ness";

  size_t i = 1 + rng.Below (w.size () - 2);
  switch (rng.Below (4))
    {
    case 0:
      std::swap (w[i], w[i + 1]);
      break;
    case 1:
      w.erase (i, 1);
      break;
    case 2:
      w.insert (i, 1, w[i]);
      break;
    default:
      w[i] = "aeiouy"[rng.Below (6)];
      break;
    }
  return w;
}

std::string
Ordinal (unsigned n)
{
  const char *suffix = "th";

  if (n % 100 < 11 || n % 100 > 13)
    {
      switch (n % 10)
        {
        case 1: suffix = "st"; break;
        case 2: suffix = "nd"; break;
        case 3: suffix = "rd"; break;
        default: break;
        }
    }
  return std::to_string (n) + suffix;
}

struct ProseOptions
{
  size_t   target_bytes;
  uint64_t seed;
  // URLs, e-mail addresses and absolute paths of the kinds hunspell -l
  // skips too ("scheme://", "@", a leading '/'), so they belong in the
  // equality corpus.
  bool     with_addresses;
};

std::string
GenerateProse (const Strings &dict, const ProseOptions &opts)
{
  static const char *const contractions[] = {
    "don't", "it's", "we’re", "they’ll", "can't", "I'm", "won’t", "isn't",
    "o'clock", "rock’n’roll", "you've", "she’d", "let's", "ma'am",
  };
  static const char *const foreign[] = {
    "naïve", "café", "Größe", "façade", "déjà", "señor", "Zürich", "smörgåsbord",
  };
  static const char *const addresses[] = {
    "http://www.exmple.com/teh/path", "https://example.org/index.html?tset",
    "user.name@exmaple.com", "/usr/share/doc/teh", "ftp://files.exampel.net/pub/",
    "mailto:someone@wherever.orgg",
  };
  Random rng { opts.seed | 1 };
  std::string text;
  size_t line_len = 0;
  size_t sentences_left = 3 + rng.Below (6);

  auto word = [&] () -> std::string {
    // Roughly Zipf: a rank whose bit length is uniform (ranks 1, 2-3, 4-7,
    // … equally likely as groups), over a fixed shuffle of the list, so that
    // common words repeat as in real prose.
    unsigned n_bits = g_bit_storage (dict.size ());
    size_t rank;

    do
      {
        unsigned b = static_cast<unsigned> (rng.Below (n_bits));
        rank = (size_t (1) << b) - 1 + rng.Below (size_t (1) << b);
      }
    while (rank >= dict.size ());
    return dict[(rank * 2654435761u) % dict.size ()];
  };

  auto emit = [&] (const std::string &token, const char *sep) {
    if (line_len > 0 && line_len + 1 + token.size () > 72)
      {
        text += '\n';
        line_len = 0;
      }
    else if (line_len > 0)
      {
        text += sep;
        line_len += strlen (sep);
      }
    text += token;
    line_len += token.size ();
  };

  while (text.size () < opts.target_bytes)
    {
      size_t n_words = 4 + rng.Below (14);

      for (size_t i = 0; i < n_words; i++)
        {
          std::string t;
          size_t kind = rng.Below (100);

          if (kind < 3)
            t = contractions[rng.Below (G_N_ELEMENTS (contractions))];
          else if (kind < 5)
            t = word () + (rng.Percent (50) ? "'s" : "’s");
          else if (kind < 8)
            t = word () + "-" + word ();
          else if (kind < 10)
            {
              switch (rng.Below (5))
                {
                case 0: t = std::to_string (rng.Below (100000)); break;
                case 1: t = std::to_string (rng.Below (100)) + "." + std::to_string (rng.Below (100)); break;
                case 2: t = std::to_string (1 + rng.Below (9)) + ",000"; break;
                case 3: t = Ordinal (1 + static_cast<unsigned> (rng.Below (200))); break;
                default: t = std::to_string (rng.Below (1000)) + "%"; break;
                }
            }
          else if (kind < 11)
            t = foreign[rng.Below (G_N_ELEMENTS (foreign))];
          else if (kind < 12 && opts.with_addresses)
            t = addresses[rng.Below (G_N_ELEMENTS (addresses))];
          else
            {
              t = word ();
              if (rng.Percent (4))
                t = Misspell (t, rng);
              if (rng.Percent (1))
                for (char &c : t)
                  c = g_ascii_toupper (c);
            }

          if (i == 0 && g_ascii_islower (t[0]))
            t[0] = g_ascii_toupper (t[0]);

          switch (rng.Below (40))
            {
            case 0: t = "\"" + t + "\""; break;
            case 1: t = "“" + t + "”"; break;
            case 2: t = "'" + t + "'"; break;
            case 3: t = "(" + t + ")"; break;
            default: break;
            }

          if (i + 1 == n_words)
            t += ".?!"[rng.Below (3)];
          else if (rng.Percent (8))
            t += ",;:"[rng.Below (3)];

          emit (t, rng.Percent (2) ? " — " : " ");
        }

      if (--sentences_left == 0)
        {
          text += "\n\n";
          line_len = 0;
          sentences_left = 3 + rng.Below (6);
        }
    }

  text += '\n';
  return text;
}

// ---------------------------------------------------------------------------
// Running hunspell -l and the checker

class TempFile
{
public:
  explicit TempFile (const std::string &contents)
  {
    GError *error = nullptr;
    int fd = g_file_open_tmp ("weft-spell-XXXXXX.txt", &path_, &error);

    EXPECT_GE (fd, 0) << (error ? error->message : "");
    g_clear_error (&error);
    if (fd >= 0)
      close (fd);
    EXPECT_TRUE (g_file_set_contents (path_, contents.data (), static_cast<gssize> (contents.size ()), nullptr));
  }
  ~TempFile () { g_unlink (path_); g_free (path_); }
  const char *Path () const { return path_; }

private:
  char *path_ = nullptr;
};

// hunspell -l: the misspelled words one per line, in text order. -i UTF-8
// because hunspell otherwise decodes by the locale; -p names a personal
// dictionary that cannot exist, so ~/.hunspell_en_US cannot add words.
Strings
HunspellMisspelled (const std::string &text)
{
  TempFile file (text);
  const char *argv[] = { kHunspell, "-i", "UTF-8", "-l", "-d", kLang, "-p", "/dev/null/no-personal-dictionary",
                         file.Path (), nullptr };
  g_autofree char *out = nullptr;
  g_autofree char *err = nullptr;
  GError *error = nullptr;
  int status = 0;
  Strings words;

  if (!g_spawn_sync (nullptr, const_cast<char **> (argv), nullptr, G_SPAWN_DEFAULT,
                     nullptr, nullptr, &out, &err, &status, &error))
    {
      ADD_FAILURE () << "cannot run " << kHunspell << " (apt-get install hunspell hunspell-en-us): "
                     << error->message;
      g_error_free (error);
      return words;
    }
  EXPECT_TRUE (g_spawn_check_wait_status (status, nullptr)) << err;

  std::istringstream lines (out);
  std::string line;
  while (std::getline (lines, line))
    words.push_back (line);
  return words;
}

Strings
RangesToWords (const char *text, GArray *ranges)
{
  Strings words;

  for (guint i = 0; i < ranges->len; i++)
    {
      const WeftSpellRange &r = g_array_index (ranges, WeftSpellRange, i);
      words.emplace_back (text + r.byte_off, r.byte_len);
    }
  return words;
}

Strings
ParallelMisspelled (const std::string &text, unsigned n_threads, size_t *n_words = nullptr)
{
  GError *error = nullptr;
  GArray *ranges = weft_spell_check_parallel (text.data (), text.size (), kLang, n_threads,
                                              nullptr, nullptr, nullptr, n_words, &error);
  Strings words;

  EXPECT_NE (ranges, nullptr) << (error ? error->message : "");
  g_clear_error (&error);
  if (ranges == nullptr)
    return words;

  words = RangesToWords (text.data (), ranges);
  g_array_unref (ranges);
  return words;
}

// Shows where two word lists part, rather than two huge lists.
::testing::AssertionResult
SameWords (const Strings &expected, const Strings &actual)
{
  size_t n = std::min (expected.size (), actual.size ());

  for (size_t i = 0; i < n; i++)
    if (expected[i] != actual[i])
      return ::testing::AssertionFailure ()
             << "word " << i << ": hunspell -l says “" << expected[i]
             << "”, weft says “" << actual[i] << "” (previous: “"
             << (i > 0 ? expected[i - 1] : std::string ()) << "”)";
  if (expected.size () != actual.size ())
    return ::testing::AssertionFailure ()
           << "hunspell -l lists " << expected.size () << " words, weft " << actual.size ()
           << "; first extra: “" << (expected.size () > n ? expected[n] : actual[n]) << "”";
  return ::testing::AssertionSuccess ();
}

class WeftSpell : public ::testing::Test
{
protected:
  void SetUp () override
  {
    GError *error = nullptr;

    checker_ = weft_spell_checker_new (kLang, &error);
    ASSERT_NE (checker_, nullptr) << (error ? error->message : "")
                                  << " (apt-get install hunspell-en-us)";
  }

  void TearDown () override { weft_spell_checker_free (checker_); }

  Strings Misspelled (const std::string &text)
  {
    GArray *ranges = g_array_new (FALSE, FALSE, sizeof (WeftSpellRange));
    GError *error = nullptr;

    EXPECT_TRUE (weft_spell_checker_check_range (checker_, text.data (), text.size (), nullptr,
                                                 nullptr, ranges, nullptr, &error));
    g_clear_error (&error);
    Strings words = RangesToWords (text.data (), ranges);
    g_array_unref (ranges);
    return words;
  }

  WeftSpellChecker *checker_ = nullptr;
};

}  // namespace

// ---------------------------------------------------------------------------
// Tokenizer

TEST (WeftTokenize, SplitsAtSpacesAndPunctuation)
{
  EXPECT_EQ (Words ("Hello, world! (Quick) fox... “jumps” over; the\tlazy\ndog?"),
             (Strings { "Hello", "world", "Quick", "fox", "jumps", "over", "the", "lazy", "dog" }));
  EXPECT_EQ (Words (""), Strings ());
  EXPECT_EQ (Words (" \n\t.,;—…"), Strings ());
}

TEST (WeftTokenize, ReportsByteOffsetsOfMultibyteWords)
{
  std::string text = "naïve Größe — café";
  GArray *ranges = weft_tokenize_to_array (text.data (), text.size ());

  ASSERT_EQ (ranges->len, 3u);
  EXPECT_EQ (g_array_index (ranges, WeftTokenRange, 0).byte_off, 0u);
  EXPECT_EQ (g_array_index (ranges, WeftTokenRange, 0).byte_len, 6u);
  EXPECT_EQ (g_array_index (ranges, WeftTokenRange, 1).byte_off, 7u);
  EXPECT_EQ (g_array_index (ranges, WeftTokenRange, 1).byte_len, 7u);
  EXPECT_EQ (g_array_index (ranges, WeftTokenRange, 2).byte_off, 19u);
  EXPECT_EQ (g_array_index (ranges, WeftTokenRange, 2).byte_len, 5u);
  g_array_unref (ranges);
}

TEST (WeftTokenize, KeepsCombiningMarksInTheWord)
{
  EXPECT_EQ (Words ("e\xCC\x81te\xCC\x81 ok"), (Strings { "e\xCC\x81te\xCC\x81", "ok" }));
}

TEST (WeftTokenize, KeepsInternalApostrophes)
{
  EXPECT_EQ (Words ("don't rock’n’roll O'Neil it’s ma'am"),
             (Strings { "don't", "rock’n’roll", "O'Neil", "it’s", "ma'am" }));
}

TEST (WeftTokenize, TreatsApostrophesAtWordEdgesAsQuotes)
{
  EXPECT_EQ (Words ("'tis ‘quoted’ dogs’ 'single' ’twas '' ’"),
             (Strings { "tis", "quoted", "dogs", "single", "twas" }));
  EXPECT_EQ (Words ("rock''n"), (Strings { "rock", "n" }));
}

TEST (WeftTokenize, ChecksHyphenatedWordsPartByPart)
{
  EXPECT_EQ (Words ("well-known self-aware x-ray -lead trail- a--b"),
             (Strings { "well", "known", "self", "aware", "x", "ray", "lead", "trail", "a", "b" }));
}

TEST (WeftTokenize, SkipsUrls)
{
  EXPECT_EQ (Words ("see http://exmple.com/teh and https://x.org/a?b=c, ftp://a.b/c. ok"),
             (Strings { "see", "and", "ok" }));
  EXPECT_EQ (Words ("(file:///home/teh/x) done"), (Strings { "done" }));
  EXPECT_EQ (Words ("http://x.org/?q=teh&a=b#frag+x;y,z (http://y.org/teh), www.x.org/?a=b; end"),
             (Strings { "end" }));
}

TEST (WeftTokenize, SkipsWwwAddressesThatHunspellWouldCheck)
{
  EXPECT_EQ (Words ("go to www.exmple.org or WWW.Teh.com now"), (Strings { "go", "to", "or", "now" }));
}

TEST (WeftTokenize, SkipsEmailAddresses)
{
  EXPECT_EQ (Words ("mail jane.doe@exmple.com, or mailto:teh@x.org."), (Strings { "mail", "or" }));
}

TEST (WeftTokenize, SkipsFilePaths)
{
  EXPECT_EQ (Words ("open /usr/lib/teh and ~/notes/teh or ./teh then src/core/weft-spell.c now"),
             (Strings { "open", "and", "or", "then", "now" }));
  EXPECT_EQ (Words ("edit docs/readme.md, C:\\Windows\\teh and foo\\bar\\baz"),
             (Strings { "edit", "and" }));
}

TEST (WeftTokenize, ChecksBothSidesOfASingleSlash)
{
  EXPECT_EQ (Words ("and/or he/she km/h."), (Strings { "and", "or", "he", "she", "km", "h" }));
}

TEST (WeftTokenize, SkipsNumbersAndWordsWithDigits)
{
  EXPECT_EQ (Words ("42 3.14 1,000 3rd abc123 v1.2 x86_64 10-year-old ²"),
             (Strings { "year", "old" }));
}

TEST (WeftTokenize, SkipsCodeIdentifiers)
{
  EXPECT_EQ (Words ("camelCase iPhone XMLHttpRequest snake_case MAX_LEN __init__ foo_bar."),
             Strings ());
}

TEST (WeftTokenize, ChecksCapitalisedAndAllCapsWords)
{
  EXPECT_EQ (Words ("Hello NASA WARNING Élan ÉLAN"),
             (Strings { "Hello", "NASA", "WARNING", "Élan", "ÉLAN" }));
}

TEST (WeftTokenize, TreatsInvalidUtf8AsASeparator)
{
  EXPECT_EQ (Words ("ab\xFF" "cd caf\xC3"), (Strings { "ab", "cd", "caf" }));
  EXPECT_EQ (Words (std::string ("one\0two", 7)), (Strings { "one", "two" }));
}

TEST (WeftTokenize, StopsWhenTheCallbackSaysSo)
{
  size_t seen = 0;
  auto stop_after_two = [] (const char *, size_t, size_t, gpointer data) -> gboolean {
    return ++*static_cast<size_t *> (data) < 2;
  };
  const char text[] = "one two three four";

  EXPECT_FALSE (weft_tokenize (text, strlen (text), stop_after_two, &seen));
  EXPECT_EQ (seen, 2u);
}

TEST (WeftTokenize, DoesNotReadPastTheGivenLength)
{
  // A range cut from a larger buffer: the word at the cut is the prefix only.
  const char text[] = "alpha beta";

  EXPECT_EQ (Words (std::string (text, 8)), (Strings { "alpha", "be" }));
  EXPECT_EQ (Words (std::string ("caf\xC3\xA9", 4)), (Strings { "caf" }));
}

TEST (WeftTokenize, ReportsOrderedValidWordsForAnyBytes)
{
  // Random bytes drawn mostly from the characters the rules look at, plus
  // stray UTF-8 pieces: every word must lie inside the text, follow the
  // previous one, be valid UTF-8 and start with a letter (or a combining
  // mark, which counts as one).
  static const char *const pieces[] = {
    "a", "Z", "é", "\xCC\x81", "’", "'", "-", "_", "/", "\\", ".", ":", "@", "?", "=",
    "&", "1", " ", "\n", "www.", "://", "\xFF", "\xC3", "\xE2\x80", "\0", "ß", "Σ",
  };
  Random rng { 0x9E3779B97F4A7C15ULL };

  for (int round = 0; round < 2000; round++)
    {
      std::string text;
      size_t n = rng.Below (64);

      for (size_t i = 0; i < n; i++)
        {
          const char *p = pieces[rng.Below (G_N_ELEMENTS (pieces))];
          text.append (p, *p == '\0' ? 1 : strlen (p));
        }

      GArray *ranges = weft_tokenize_to_array (text.data (), text.size ());
      size_t end = 0;

      for (guint i = 0; i < ranges->len; i++)
        {
          const WeftTokenRange &r = g_array_index (ranges, WeftTokenRange, i);

          ASSERT_GE (r.byte_off, end) << round;
          ASSERT_GT (r.byte_len, 0u) << round;
          ASSERT_LE (r.byte_off + r.byte_len, text.size ()) << round;
          ASSERT_TRUE (g_utf8_validate (text.data () + r.byte_off, static_cast<gssize> (r.byte_len), nullptr))
            << round;
          gunichar first = g_utf8_get_char (text.data () + r.byte_off);
          ASSERT_TRUE (g_unichar_isalpha (first) || g_unichar_ismark (first)) << round;
          end = r.byte_off + r.byte_len;
        }
      g_array_unref (ranges);
    }
}

// ---------------------------------------------------------------------------
// Checker

TEST_F (WeftSpell, PrefersTheHunspellProvider)
{
  EXPECT_STREQ (weft_spell_checker_get_provider (checker_), "hunspell");
  EXPECT_STREQ (weft_spell_checker_get_language (checker_), kLang);
}

TEST_F (WeftSpell, AcceptsCorrectWordsAndRejectsTypos)
{
  for (const char *good : { "the", "The", "THE", "don't", "it’s", "O'Neil", "NASA", "receive" })
    EXPECT_TRUE (weft_spell_checker_check_word (checker_, good, -1)) << good;
  for (const char *bad : { "teh", "recieve", "tHE", "naïve", "qwzx" })
    EXPECT_FALSE (weft_spell_checker_check_word (checker_, bad, -1)) << bad;
  // Asked twice, the cache must give the same answers.
  EXPECT_TRUE (weft_spell_checker_check_word (checker_, "receive", -1));
  EXPECT_FALSE (weft_spell_checker_check_word (checker_, "recieve", -1));
}

TEST_F (WeftSpell, ReportsMisspelledRangesInTextOrder)
{
  std::string text = "Teh cat, the dgo and http://teh.org/ teh end recieve.";
  GArray *ranges = g_array_new (FALSE, FALSE, sizeof (WeftSpellRange));
  size_t n_words = 0;

  ASSERT_TRUE (weft_spell_checker_check_range (checker_, text.data (), text.size (), nullptr,
                                               nullptr, ranges, &n_words, nullptr));
  EXPECT_EQ (RangesToWords (text.data (), ranges), (Strings { "Teh", "dgo", "teh", "recieve" }));
  ASSERT_EQ (ranges->len, 4u);
  EXPECT_EQ (g_array_index (ranges, WeftSpellRange, 0).byte_off, 0u);
  EXPECT_EQ (g_array_index (ranges, WeftSpellRange, 1).byte_off, 13u);
  EXPECT_EQ (n_words, 8u);
  g_array_unref (ranges);
}

TEST_F (WeftSpell, SuggestsTheObviousCorrection)
{
  char **suggestions = weft_spell_checker_suggest (checker_, "recieve", -1, 8);
  bool found = false;

  ASSERT_NE (suggestions, nullptr);
  EXPECT_GT (g_strv_length (suggestions), 0u);
  EXPECT_LE (g_strv_length (suggestions), 8u);
  for (char **s = suggestions; *s != nullptr; s++)
    found = found || strcmp (*s, "receive") == 0;
  EXPECT_TRUE (found);
  g_strfreev (suggestions);

  suggestions = weft_spell_checker_suggest (checker_, "teh", -1, 1);
  ASSERT_EQ (g_strv_length (suggestions), 1u);
  EXPECT_STREQ (suggestions[0], "the");
  g_strfreev (suggestions);

  suggestions = weft_spell_checker_suggest (checker_, "teh", -1, 0);
  EXPECT_EQ (g_strv_length (suggestions), 0u);
  g_strfreev (suggestions);
}

TEST_F (WeftSpell, AcceptsSessionWordsAfterAdding)
{
  EXPECT_EQ (Misspelled ("Weftish weftish"), (Strings { "Weftish", "weftish" }));

  weft_spell_checker_add_session_word (checker_, "weftish", -1);

  EXPECT_TRUE (weft_spell_checker_check_word (checker_, "weftish", -1));
  EXPECT_TRUE (weft_spell_checker_check_word (checker_, "Weftish", -1));
  EXPECT_TRUE (weft_spell_checker_check_word (checker_, "WEFTISH", -1));
  EXPECT_FALSE (weft_spell_checker_check_word (checker_, "wEFTISH", -1));

  weft_spell_checker_add_session_word (checker_, "Zorblax", -1);
  EXPECT_TRUE (weft_spell_checker_check_word (checker_, "ZORBLAX", -1));
  EXPECT_FALSE (weft_spell_checker_check_word (checker_, "zorblax", -1));
  EXPECT_EQ (Misspelled ("Weftish weftish teh"), (Strings { "teh" }));
}

TEST_F (WeftSpell, ReportsAHugeWordAsMisspelled)
{
  std::string text = "start " + std::string (100000, 'a') + " end";

  EXPECT_EQ (Misspelled (text), (Strings { std::string (100000, 'a') }));
}

TEST (WeftSpellDictionary, MissingDictionaryGivesAClearError)
{
  GError *error = nullptr;

  EXPECT_EQ (weft_spell_checker_new ("xx_YY", &error), nullptr);
  ASSERT_NE (error, nullptr);
  EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_NOT_FOUND));
  EXPECT_NE (strstr (error->message, "xx_YY"), nullptr) << error->message;
  g_clear_error (&error);

  for (const char *bad : { "", "../en_US", "en US" })
    {
      EXPECT_EQ (weft_spell_checker_new (bad, &error), nullptr) << bad;
      EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_NOT_FOUND)) << bad;
      g_clear_error (&error);
    }

  EXPECT_EQ (weft_spell_check_parallel ("text\n", 5, "xx_YY", 2, nullptr, nullptr, nullptr,
                                        nullptr, &error),
             nullptr);
  EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_NOT_FOUND));
  g_clear_error (&error);
}

TEST (WeftSpellDictionary, ListsInstalledLanguages)
{
  char **langs = weft_spell_list_languages ();

  ASSERT_NE (langs, nullptr);
  EXPECT_TRUE (g_strv_contains (langs, kLang));
  for (guint i = 1; langs[i] != nullptr; i++)
    EXPECT_LT (strcmp (langs[i - 1], langs[i]), 0) << "sorted, no duplicates";
  g_strfreev (langs);
}

TEST (WeftSpellParallel, StopsWhenCancelled)
{
  Strings dict = DictionaryWords ();
  std::string text = GenerateProse (dict, { 200000, 7, false });
  std::atomic<int> polls { 0 };
  auto cancel_soon = [] (gpointer data) -> gboolean {
    return static_cast<std::atomic<int> *> (data)->fetch_add (1, std::memory_order_relaxed) >= 3;
  };
  GError *error = nullptr;

  EXPECT_EQ (weft_spell_check_parallel (text.data (), text.size (), kLang, 2, nullptr,
                                        cancel_soon, &polls, nullptr, &error),
             nullptr);
  EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_CANCELLED));
  g_clear_error (&error);
}

TEST (WeftSpellParallel, AcceptsSessionWords)
{
  const char *session[] = { "weftish", "Zorblax", nullptr };
  std::string text = "weftish Zorblax teh\nzorblax\n";
  GArray *ranges = weft_spell_check_parallel (text.data (), text.size (), kLang, 2, session,
                                              nullptr, nullptr, nullptr, nullptr);

  ASSERT_NE (ranges, nullptr);
  EXPECT_EQ (RangesToWords (text.data (), ranges), (Strings { "teh", "zorblax" }));
  g_array_unref (ranges);
}

TEST (WeftSpellParallel, ReusesLoadedCheckersAcrossPasses)
{
  std::string text = "Teh quick brown fox\njumps ovre the\nlazy dgo.\nAnd weftish.\n";
  WeftSpellChecker *checkers[2];

  for (WeftSpellChecker *&c : checkers)
    {
      c = weft_spell_checker_new (kLang, nullptr);
      ASSERT_NE (c, nullptr);
      weft_spell_checker_add_session_word (c, "weftish", -1);
    }

  for (int pass = 0; pass < 3; pass++)
    {
      size_t n_words = 0;
      GArray *ranges = weft_spell_check_parallel_with (checkers, 2, text.data (), text.size (),
                                                       nullptr, nullptr, &n_words, nullptr);

      ASSERT_NE (ranges, nullptr);
      EXPECT_EQ (RangesToWords (text.data (), ranges), (Strings { "Teh", "ovre", "dgo" })) << pass;
      EXPECT_EQ (n_words, 11u);
      g_array_unref (ranges);
    }

  for (WeftSpellChecker *c : checkers)
    weft_spell_checker_free (c);
}

TEST (WeftSpellParallel, HandlesTextsWithFewerLinesThanThreads)
{
  for (const std::string &text : { std::string (), std::string ("teh"), std::string ("teh\n") })
    {
      GArray *ranges = weft_spell_check_parallel (text.data (), text.size (), kLang, 4, nullptr,
                                                  nullptr, nullptr, nullptr, nullptr);

      ASSERT_NE (ranges, nullptr);
      EXPECT_EQ (ranges->len, text.empty () ? 0u : 1u);
      g_array_unref (ranges);
    }
}

// ---------------------------------------------------------------------------
// Equality with hunspell -l

TEST (WeftSpellHunspell, SameListOnTheDocumentedCorner)
{
  // What both agree on around the tokenizer's rules: straight quotes,
  // numbers, ordinals, the addresses hunspell skips, hyphens.
  std::string text =
    "'teh' \"teh\" (teh) don't o'clock rock’n’roll it’s 42 3.14 21st 3rd "
    "well-known teh-word http://exmple.com/teh a@teh.com /teh/x and/or adn/or "
    "NASA TEH Teh naïve Größe e.g. I'm\n";

  EXPECT_TRUE (SameWords (HunspellMisspelled (text), ParallelMisspelled (text, 1)));
}

TEST (WeftSpellHunspell, DiffersOnlyWhereDocumented)
{
  // hunspell -l keeps ’ at word edges and checks www., snake_case, camelCase
  // and words with digits; weft skips or strips them (weft-tokenize.h).
  std::string text = "‘teh’ dogs’ www.exmple.org x_teh camelCaes tEH abc123 src/teh/x.c "
                     "http://x.org/?q=teh&a=tset\n";

  EXPECT_EQ (HunspellMisspelled (text),
             (Strings { "teh’", "dogs’", "www", "exmple", "teh", "camelCaes", "tEH", "abc123", "src",
                        "teh", "teh", "tset" }));
  EXPECT_EQ (ParallelMisspelled (text, 1), (Strings { "teh" }));
}

TEST (WeftSpellHunspell, SameListOnGeneratedProseWithOneThread)
{
  Strings dict = DictionaryWords ();
  std::string text = GenerateProse (dict, { 1 << 20, 1, true });
  size_t n_words = 0;
  Strings ours = ParallelMisspelled (text, 1, &n_words);
  Strings theirs = HunspellMisspelled (text);

  EXPECT_GT (n_words, 100000u);
  EXPECT_GT (theirs.size (), 3000u) << "the corpus must hold typos";
  EXPECT_TRUE (SameWords (theirs, ours));
}

TEST (WeftSpellHunspell, SameListOnGeneratedProseWithTwoThreads)
{
  Strings dict = DictionaryWords ();
  std::string text = GenerateProse (dict, { 1 << 20, 2, true });

  EXPECT_TRUE (SameWords (HunspellMisspelled (text), ParallelMisspelled (text, 2)));
}

TEST (WeftSpellHunspell, SameListForASingleCheckerAndForThreads)
{
  Strings dict = DictionaryWords ();
  std::string text = GenerateProse (dict, { 256 << 10, 3, true });
  GError *error = nullptr;
  g_autoptr (WeftSpellChecker) checker = weft_spell_checker_new (kLang, &error);
  GArray *ranges = g_array_new (FALSE, FALSE, sizeof (WeftSpellRange));

  ASSERT_NE (checker, nullptr);
  ASSERT_TRUE (weft_spell_checker_check_range (checker, text.data (), text.size (), nullptr,
                                               nullptr, ranges, nullptr, nullptr));
  EXPECT_EQ (RangesToWords (text.data (), ranges), ParallelMisspelled (text, 3));
  g_array_unref (ranges);
}

// ---------------------------------------------------------------------------
// Spell jobs on the backends

namespace {

const char *
WorkerPath ()
{
  const char *path = g_getenv ("WEFT_WORKER_PATH");
  return path != nullptr ? path : "weft-worker";
}

struct PassOutcome
{
  bool done = false;
  bool ok = false;
  int error_code = -1;
  std::string error_message;
  Strings words;
  size_t n_words = 0;
  unsigned n_jobs = 0;
  std::vector<WeftSpellRange> ranges;
};

class WeftSpellJobs : public ::testing::TestWithParam<const char *>
{
protected:
  void SetUp () override
  {
    ctx_ = g_main_context_new ();
    backend_ = Make (GetParam (), 2);
    ASSERT_NE (backend_, nullptr);
  }

  void TearDown () override
  {
    bool closed = false;

    // The backend joins its threads, reaps its workers and frees itself
    // from ctx_: wait for that, so that nothing outlives the test.
    if (backend_ != nullptr)
      {
        weft_backend_shutdown (backend_, WEFT_SHUTDOWN_CANCEL,
                               [] (gpointer data) { *static_cast<bool *> (data) = true; }, &closed);
        EXPECT_TRUE (WaitFor ([&] { return closed; }));
      }
    while (g_main_context_iteration (ctx_, FALSE))
      ;
    g_main_context_unref (ctx_);
  }

  WeftBackend *Make (const std::string &kind, guint n_workers)
  {
    GError *error = nullptr;
    WeftBackend *backend;

    if (kind == "threads")
      return weft_thread_backend_new (n_workers, ctx_);
    backend = weft_process_backend_new_full (n_workers, WorkerPath (), kLang, ctx_, &error);
    EXPECT_EQ (error, nullptr) << (error ? error->message : "");
    g_clear_error (&error);
    return backend;
  }

  // Iterates ctx_ until @cond holds or 60 s pass.
  template <typename F> bool WaitFor (F cond)
  {
    gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

    while (!cond () && g_get_monotonic_time () < deadline)
      g_main_context_iteration (ctx_, TRUE);
    return cond ();
  }

  PassOutcome Pass (const std::string &text, const char *const *session = nullptr,
                    const char *lang = kLang)
  {
    g_autoptr (WeftText) mirror = weft_text_new_from_utf8 (text.data (), text.size ());
    g_autoptr (WeftSnapshot) snap = weft_text_snapshot (mirror);
    WeftSpellPassOptions options = {};
    PassOutcome outcome;

    options.lang = lang;
    options.session_words = session;
    options.collect = TRUE;
    weft_spell_pass_start (
      backend_, snap, 0, text.size (), &options, nullptr,
      [] (WeftSpellPass *pass, const GError *error, gpointer data) {
        auto *o = static_cast<PassOutcome *> (data);
        WeftSnapshot *s = weft_spell_pass_get_snapshot (pass);

        o->done = true;
        o->ok = error == nullptr;
        o->n_jobs = weft_spell_pass_get_n_jobs (pass);
        if (error != nullptr)
          {
            o->error_code = error->code;
            o->error_message = error->message;
            return;
          }
        o->n_words = weft_spell_pass_get_n_words (pass);
        GArray *ranges = weft_spell_pass_get_misspelled (pass);
        for (guint i = 0; i < ranges->len; i++)
          {
            const WeftSpellRange &r = g_array_index (ranges, WeftSpellRange, i);
            g_autofree char *word = static_cast<char *> (g_malloc (r.byte_len + 1));

            weft_snapshot_copy_range (s, r.byte_off, r.byte_len, word);
            word[r.byte_len] = '\0';
            o->words.emplace_back (word);
            o->ranges.push_back (r);
          }
      },
      &outcome);
    EXPECT_TRUE (WaitFor ([&] { return outcome.done; }));
    return outcome;
  }

  GMainContext *ctx_ = nullptr;
  WeftBackend *backend_ = nullptr;
};

TEST_P (WeftSpellJobs, SameListAsHunspellOnGeneratedProse)
{
  Strings dict = DictionaryWords ();
  std::string text = GenerateProse (dict, { 1 << 20, 4, true });
  PassOutcome outcome = Pass (text);

  ASSERT_TRUE (outcome.ok) << outcome.error_message;
  EXPECT_GT (outcome.n_jobs, 2u) << "the pass must be spread over the workers";
  EXPECT_GT (outcome.n_words, 100000u);
  EXPECT_TRUE (SameWords (HunspellMisspelled (text), outcome.words));
}

TEST_P (WeftSpellJobs, ReportsSnapshotOffsets)
{
  std::string text = "The cat.\nA dgo here\nand teh end\n";
  PassOutcome outcome = Pass (text);

  ASSERT_TRUE (outcome.ok) << outcome.error_message;
  ASSERT_EQ (outcome.ranges.size (), 2u);
  EXPECT_EQ (outcome.ranges[0].byte_off, text.find ("dgo"));
  EXPECT_EQ (outcome.ranges[0].byte_len, 3u);
  EXPECT_EQ (outcome.ranges[1].byte_off, text.find ("teh"));
}

TEST_P (WeftSpellJobs, ContinuesWhereAFullResultStopped)
{
  // Every word misspelled, more than one result holds, on one long line
  // and then on many short ones.
  std::string line;
  for (int i = 0; i < 40000; i++)
    line += (i % 2) ? "qx " : "zqj ";
  std::string text = line + "\n" + line + "\n";
  PassOutcome outcome = Pass (text);

  ASSERT_TRUE (outcome.ok) << outcome.error_message;
  ASSERT_EQ (outcome.words.size (), 80000u);
  for (size_t i = 0; i < outcome.words.size (); i++)
    ASSERT_EQ (outcome.words[i], (i % 2) ? "qx" : "zqj") << i;
  EXPECT_EQ (outcome.n_words, 80000u);
}

TEST_P (WeftSpellJobs, AcceptsSessionWordsSentWithTheJob)
{
  const char *session[] = { "weftish", nullptr };
  std::string text = "weftish Weftish teh\n";

  EXPECT_EQ (Pass (text, session).words, (Strings { "teh" }));
  // The same workers, without the words again.
  EXPECT_EQ (Pass (text).words, (Strings { "weftish", "Weftish", "teh" }));
}

TEST_P (WeftSpellJobs, SuggestsCorrections)
{
  g_autoptr (GBytes) options = weft_spell_suggest_options (kLang, "recieve", 8);
  WeftJobSpec spec = { WEFT_JOB_SPELL_SUGGEST, nullptr, options, 0, nullptr };
  struct { bool done = false; Strings words; std::string error; } got;

  weft_backend_submit (
    backend_, &spec,
    [] (const WeftJobResult *result, gpointer data) {
      auto *g = static_cast<decltype (got) *> (data);
      GError *error = nullptr;

      g->done = true;
      if (result->error != nullptr)
        {
          g->error = result->error->message;
          return;
        }
      char **words = weft_spell_suggest_result_parse (result->output, &error);
      ASSERT_NE (words, nullptr) << error->message;
      for (char **w = words; *w != nullptr; w++)
        g->words.emplace_back (*w);
      g_strfreev (words);
    },
    &got);
  ASSERT_TRUE (WaitFor ([&] { return got.done; }));
  EXPECT_EQ (got.error, "");
  EXPECT_LE (got.words.size (), 8u);
  EXPECT_NE (std::find (got.words.begin (), got.words.end (), "receive"), got.words.end ());
}

TEST_P (WeftSpellJobs, MissingDictionaryFailsThePassClearly)
{
  PassOutcome outcome = Pass ("teh\n", nullptr, "xx_YY");

  EXPECT_FALSE (outcome.ok);
  EXPECT_EQ (outcome.error_code, WEFT_ERROR_NOT_FOUND);
  EXPECT_NE (outcome.error_message.find ("xx_YY"), std::string::npos) << outcome.error_message;
}

INSTANTIATE_TEST_SUITE_P (Backends, WeftSpellJobs, ::testing::Values ("threads", "processes"));

TEST (WeftSpellWorker, SealedWorkerSaysWhyItCannotLoadALanguage)
{
  g_autoptr (WeftSpellWorker) worker = weft_spell_worker_new ();
  g_autoptr (GBytes) options = weft_spell_check_options (kLang, 0, nullptr);
  g_autoptr (WeftJobInput) input = weft_job_input_new_static ("teh\n", 4);
  GBytes *out = nullptr;
  GError *error = nullptr;

  weft_spell_worker_seal (worker);
  EXPECT_FALSE (weft_spell_worker_run (worker, WEFT_JOB_SPELL_CHECK, input, options, nullptr,
                                       nullptr, &out, &error));
  ASSERT_NE (error, nullptr);
  EXPECT_EQ (error->code, WEFT_ERROR_NOT_FOUND);
  EXPECT_NE (strstr (error->message, "sandboxed"), nullptr) << error->message;
  g_clear_error (&error);
}

TEST (WeftSpellWorker, PreloadedLanguageWorksAfterSealing)
{
  g_autoptr (WeftSpellWorker) worker = weft_spell_worker_new ();
  g_autoptr (GBytes) options = weft_spell_check_options (kLang, 100, nullptr);
  g_autoptr (WeftJobInput) input = weft_job_input_new_static ("the teh\n", 8);
  g_autoptr (GBytes) out = nullptr;
  WeftSpellCheckResult result;

  ASSERT_TRUE (weft_spell_worker_preload (worker, kLang, nullptr));
  weft_spell_worker_seal (worker);
  ASSERT_TRUE (weft_spell_worker_run (worker, WEFT_JOB_SPELL_CHECK, input, options, nullptr,
                                      nullptr, &out, nullptr));
  ASSERT_TRUE (weft_spell_check_result_parse (out, 100, &result, nullptr));
  EXPECT_EQ (result.checked_end_byte, 108u);
  EXPECT_EQ (result.n_words, 2u);
  ASSERT_EQ (result.misspelled->len, 1u);
  EXPECT_EQ (g_array_index (result.misspelled, WeftSpellRange, 0).byte_off, 104u);
  weft_spell_check_result_clear (&result);
}

TEST (WeftSpellWorker, RejectsMalformedResults)
{
  // checked_end 10, 5 words, 1 range: gap 2, length 3 (from base 0).
  const guint8 good[] = { 10, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 3 };
  WeftSpellCheckResult result;
  GError *error = nullptr;

  {
    g_autoptr (GBytes) bytes = g_bytes_new_static (good, sizeof good);
    ASSERT_TRUE (weft_spell_check_result_parse (bytes, 0, &result, nullptr));
    EXPECT_EQ (g_array_index (result.misspelled, WeftSpellRange, 0).byte_off, 2u);
    weft_spell_check_result_clear (&result);
    // A base past checked_end.
    EXPECT_FALSE (weft_spell_check_result_parse (bytes, 11, &result, &error));
    g_clear_error (&error);
    // A range past checked_end once the base moves it.
    EXPECT_FALSE (weft_spell_check_result_parse (bytes, 8, &result, &error));
    g_clear_error (&error);
  }
  // Every truncation, and one trailing byte.
  for (size_t n = 0; n < sizeof good; n++)
    {
      g_autoptr (GBytes) bytes = g_bytes_new_static (good, n);
      EXPECT_FALSE (weft_spell_check_result_parse (bytes, 0, &result, &error)) << n;
      g_clear_error (&error);
    }
  guint8 longer[sizeof good + 1];
  memcpy (longer, good, sizeof good);
  longer[sizeof good] = 0;
  g_autoptr (GBytes) bytes = g_bytes_new_static (longer, sizeof longer);
  EXPECT_FALSE (weft_spell_check_result_parse (bytes, 0, &result, &error));
  g_clear_error (&error);
}

} // namespace
