// test-text.cc: the document mirror (weft-text.c) against a plain std::string model.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern "C" {
#include "weft-text.h"
}

namespace {

// The model's byte loops run on the test thread only and dominate the run
// time of sanitizer builds when instrumented, so ThreadSanitizer skips them.
#if defined(__GNUC__) && !defined(__clang__)
#define MODEL_LOOP __attribute__ ((no_sanitize_thread))
#else
#define MODEL_LOOP
#endif

#define IS_LEAD(c) ((static_cast<unsigned char> (c) & 0xC0) != 0x80)

// The model: the text as one UTF-8 string, with every mapping computed by a
// linear scan so that it is obviously right.
struct Model
{
  std::string text;

  // Byte offset of the char @char_off counted from byte @from.
  MODEL_LOOP size_t CharToByte (size_t char_off, size_t from = 0) const
  {
    const char *p = text.data ();
    size_t n = text.size ();

    for (size_t i = from; i < n; i++)
      if (IS_LEAD (p[i]) && char_off-- == 0)
        return i;
    return n;
  }

  void Insert (size_t char_off, const std::string &s) { text.insert (CharToByte (char_off), s); }

  void Delete (size_t char_off, size_t n_chars)
  {
    size_t b0 = CharToByte (char_off);
    size_t b1 = CharToByte (n_chars, b0);
    text.erase (b0, b1 - b0);
  }
};

// Every offset of a model text, computed in one pass so that a test can
// compare many mappings per step cheaply. The buffers are reused from step
// to step: fresh large allocations each step made sanitizer runs crawl.
class ModelIndex
{
public:
  void Build (const std::string &s)
  {
    size_t n_lines = CountNewlines (s.data (), s.size ()) + 1;

    if (char_byte_.size () < s.size () + 1)
      char_byte_.resize (s.size () + 1);
    if (line_byte_.size () < n_lines)
      {
        line_byte_.resize (n_lines);
        line_char_.resize (n_lines);
      }
    Fill (s.data (), s.size (), char_byte_.data (), line_byte_.data (), line_char_.data (), &n_chars_, &n_lines_);
  }

  size_t NChars () const { return n_chars_; }
  size_t NLines () const { return n_lines_; }
  size_t CharByte (size_t char_off) const { return char_byte_[char_off]; }
  size_t LineByte (size_t line) const { return line_byte_[line]; }
  size_t LineChar (size_t line) const { return line_char_[line]; }

  size_t LineOfByte (size_t byte_off) const
  {
    const size_t *begin = line_byte_.data ();
    return static_cast<size_t> (std::upper_bound (begin, begin + n_lines_, byte_off) - begin) - 1;
  }

private:
  MODEL_LOOP static size_t CountNewlines (const char *s, size_t len)
  {
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
      n += s[i] == '\n';
    return n;
  }

  MODEL_LOOP static void Fill (const char *s, size_t len, size_t *char_byte, size_t *line_byte,
                               size_t *line_char, size_t *n_chars, size_t *n_lines)
  {
    size_t chars = 0, lines = 1;

    line_byte[0] = 0;
    line_char[0] = 0;
    for (size_t i = 0; i < len; i++)
      {
        if (IS_LEAD (s[i]))
          char_byte[chars++] = i;
        if (s[i] == '\n')
          {
            line_byte[lines] = i + 1;
            line_char[lines] = chars;
            lines++;
          }
      }
    char_byte[chars] = len;
    *n_chars = chars;
    *n_lines = lines;
  }

  std::vector<size_t> char_byte_;  // char_byte_[c]: byte offset of char c; [n_chars_] is the end
  std::vector<size_t> line_byte_;  // line_byte_[l]: byte offset where line l starts
  std::vector<size_t> line_char_;  // line_char_[l]: char offset where line l starts
  size_t n_chars_ = 0;
  size_t n_lines_ = 1;
};

// Fixed seeds keep runs reproducible; WEFT_TEST_SEED=N explores others
// (the seed is mixed with each test's own so that tests still differ).
unsigned
Seed (unsigned fixed)
{
  const char *env = g_getenv ("WEFT_TEST_SEED");

  if (env == nullptr)
    return fixed;
  return fixed ^ static_cast<unsigned> (g_ascii_strtoull (env, nullptr, 10) * 2654435761u);
}

std::string
Dup (const WeftSnapshot *snap)
{
  size_t len = 0;
  char *s = weft_snapshot_dup_utf8 (snap, &len);
  std::string result (s, len);
  g_free (s);
  return result;
}

::testing::AssertionResult
TreeIsValid (const WeftSnapshot *snap)
{
  GError *error = nullptr;

  if (weft_snapshot_check (snap, &error))
    return ::testing::AssertionSuccess ();

  ::testing::AssertionResult failure = ::testing::AssertionFailure () << error->message;
  g_error_free (error);
  return failure;
}

// Checks counts, text and the offset mappings at the ends and at a few
// random points.
void
ExpectSnapshotMatches (const WeftSnapshot *snap, const std::string &expected, std::mt19937 &rng)
{
  static thread_local ModelIndex index;
  index.Build (expected);
  size_t n_chars = index.NChars ();
  size_t n_lines = index.NLines ();

  ASSERT_EQ (weft_snapshot_get_n_bytes (snap), expected.size ());
  ASSERT_EQ (weft_snapshot_get_n_chars (snap), n_chars);
  ASSERT_EQ (weft_snapshot_get_n_lines (snap), n_lines);
  ASSERT_EQ (Dup (snap), expected);
  ASSERT_TRUE (TreeIsValid (snap));

  std::vector<size_t> chars = { 0, n_chars };
  std::vector<size_t> lines = { 0, n_lines - 1 };
  for (int i = 0; i < 6; i++)
    {
      chars.push_back (std::uniform_int_distribution<size_t> (0, n_chars) (rng));
      lines.push_back (std::uniform_int_distribution<size_t> (0, n_lines - 1) (rng));
    }

  for (size_t c : chars)
    {
      size_t b = index.CharByte (c);
      size_t line = index.LineOfByte (b);

      ASSERT_EQ (weft_snapshot_char_to_byte (snap, c), b) << "char " << c;
      ASSERT_EQ (weft_snapshot_byte_to_char (snap, b), c) << "byte " << b;
      ASSERT_EQ (weft_snapshot_char_to_line (snap, c), line) << "char " << c;
      ASSERT_EQ (weft_snapshot_byte_to_line (snap, b), line) << "byte " << b;
    }

  // The same chars in text order, converted in one walk (with a repeat, so
  // equal neighbours are covered too).
  std::sort (chars.begin (), chars.end ());
  chars.push_back (chars.back ());
  std::vector<size_t> bytes, converted (chars.size ());
  for (size_t c : chars)
    bytes.push_back (index.CharByte (c));
  weft_snapshot_bytes_to_chars (snap, bytes.data (), bytes.size (), converted.data ());
  ASSERT_EQ (converted, chars);

  for (size_t l : lines)
    {
      ASSERT_EQ (weft_snapshot_line_to_byte (snap, l), index.LineByte (l)) << "line " << l;
      ASSERT_EQ (weft_snapshot_line_to_char (snap, l), index.LineChar (l)) << "line " << l;
    }
}

// Random text weighted towards what makes mappings interesting: newlines and
// 1- to 4-byte sequences, including U+FFFC, which stands for a paintable.
std::string
RandomText (std::mt19937 &rng, size_t n_chars)
{
  static const char *const pieces[] = {
    "a", "b", "c", "d", " ", " ", "\n", "\n",
    "\xC3\xA9",          // é
    "\xD0\x96",          // Ж
    "\xE2\x82\xAC",      // €
    "\xE6\x97\xA5",      // 日
    "\xEF\xBF\xBC",      // U+FFFC
    "\xF0\x9F\x98\x80",  // 😀
    "\xF0\x90\x8D\x88",  // 𐍈
    "\t",
  };
  std::uniform_int_distribution<size_t> pick (0, G_N_ELEMENTS (pieces) - 1);
  std::string s;

  for (size_t i = 0; i < n_chars; i++)
    s += pieces[pick (rng)];
  return s;
}

// Lines of ~60 bytes of mixed text, as a loaded file would be.
std::string
RandomLines (std::mt19937 &rng, size_t n_bytes)
{
  std::string s;
  while (s.size () < n_bytes)
    {
      std::string line = RandomText (rng, 40);
      for (char &c : line)
        if (c == '\n')
          c = ' ';
      s += line;
      s += '\n';
    }
  return s;
}

class RandomEditor
{
public:
  RandomEditor (WeftText *text, Model *model, std::mt19937 *rng, size_t max_bytes)
    : text_ (text), model_ (model), rng_ (*rng), max_bytes_ (max_bytes)
  {
  }

  // One random edit applied to both; returns false when it was a no-op.
  bool Step ()
  {
    size_t n_chars = weft_text_get_n_chars (text_);
    size_t kind = Uniform (0, 99);

    if (model_->text.size () > max_bytes_ && kind < 60)
      kind += 40;  // lean towards deletes once the text is big

    if (kind < 40)
      return Insert (Uniform (0, n_chars), RandomText (rng_, Uniform (1, 8)));
    if (kind < 48)
      return Insert (Uniform (0, 1) ? 0 : n_chars, RandomText (rng_, Uniform (1, 30)));
    if (kind < 53)
      return Insert (Uniform (0, n_chars), RandomText (rng_, Uniform (300, 12000)));
    if (kind < 80)
      return Delete (Uniform (0, n_chars), Uniform (1, 10));
    if (kind < 90)
      return DeleteLines ();
    if (kind < 98)
      return Uniform (0, 1) ? Delete (0, Uniform (1, 50)) : Delete (n_chars >= 50 ? n_chars - Uniform (1, 50) : 0, 50);
    return Delete (0, n_chars);
  }

private:
  size_t Uniform (size_t lo, size_t hi) { return std::uniform_int_distribution<size_t> (lo, hi) (rng_); }

  bool Insert (size_t char_off, const std::string &s)
  {
    weft_text_insert (text_, char_off, s.data (), s.size ());
    model_->Insert (char_off, s);
    return !s.empty ();
  }

  bool Delete (size_t char_off, size_t n)
  {
    size_t n_chars = weft_text_get_n_chars (text_);

    char_off = std::min (char_off, n_chars);
    n = std::min (n, n_chars - char_off);
    weft_text_delete (text_, char_off, n);
    model_->Delete (char_off, n);
    return n > 0;
  }

  // From somewhere in one line to somewhere a few lines further on.
  bool DeleteLines ()
  {
    g_autoptr (WeftSnapshot) snap = weft_text_snapshot (text_);
    size_t n_lines = weft_snapshot_get_n_lines (snap);
    size_t first = Uniform (0, n_lines - 1);
    size_t last = std::min (n_lines - 1, first + Uniform (1, 6));
    size_t start = weft_snapshot_line_to_char (snap, first) + Uniform (0, 3);
    size_t end = weft_snapshot_line_to_char (snap, last) + Uniform (0, 3);

    if (end < start)
      std::swap (start, end);
    return Delete (start, end - start);
  }

  WeftText *text_;
  Model *model_;
  std::mt19937 &rng_;
  size_t max_bytes_;
};

TEST (WeftText, NewTextIsEmpty)
{
  g_autoptr (WeftText) text = weft_text_new ();
  g_autoptr (WeftSnapshot) snap = weft_text_snapshot (text);

  EXPECT_EQ (weft_text_get_version (text), 0u);
  EXPECT_EQ (weft_snapshot_get_n_bytes (snap), 0u);
  EXPECT_EQ (weft_snapshot_get_n_chars (snap), 0u);
  EXPECT_EQ (weft_snapshot_get_n_lines (snap), 1u);
  EXPECT_EQ (weft_snapshot_get_n_chunks (snap), 0u);
  EXPECT_EQ (weft_snapshot_char_to_byte (snap, 0), 0u);
  EXPECT_EQ (weft_snapshot_byte_to_char (snap, 0), 0u);
  EXPECT_EQ (weft_snapshot_line_to_byte (snap, 0), 0u);
  EXPECT_EQ (weft_snapshot_byte_to_line (snap, 0), 0u);
  EXPECT_EQ (Dup (snap), "");
  EXPECT_TRUE (TreeIsValid (snap));

  WeftChunkIter iter;
  const char *data;
  size_t len;
  weft_chunk_iter_init (&iter, snap, 0, SIZE_MAX);
  EXPECT_FALSE (weft_chunk_iter_next (&iter, &data, &len));
}

TEST (WeftText, EmptyEditsLeaveTextAndVersionAlone)
{
  g_autoptr (WeftText) text = weft_text_new_from_utf8 ("abc", 3);

  weft_text_insert (text, 1, "", 0);
  weft_text_delete (text, 2, 0);
  EXPECT_EQ (weft_text_get_version (text), 0u);

  g_autoptr (WeftSnapshot) snap = weft_text_snapshot (text);
  EXPECT_EQ (Dup (snap), "abc");
}

TEST (WeftText, VersionCountsEditsAndSnapshotsCarryIt)
{
  g_autoptr (WeftText) text = weft_text_new ();

  weft_text_insert (text, 0, "hello", 5);
  g_autoptr (WeftSnapshot) first = weft_text_snapshot (text);
  weft_text_delete (text, 1, 2);
  weft_text_insert (text, 0, "\n", 1);
  g_autoptr (WeftSnapshot) third = weft_text_snapshot (text);

  EXPECT_EQ (weft_snapshot_get_version (first), 1u);
  EXPECT_EQ (weft_snapshot_get_version (third), 3u);
  EXPECT_EQ (weft_text_get_version (text), 3u);
  EXPECT_EQ (Dup (third), "\nhlo");
}

TEST (WeftText, ObjectReplacementCharCountsAsOneChar)
{
  g_autoptr (WeftText) text = weft_text_new_from_utf8 ("ab", 2);

  // What the document inserts for a paintable or a child anchor.
  weft_text_insert (text, 1, "\xEF\xBF\xBC", 3);
  g_autoptr (WeftSnapshot) snap = weft_text_snapshot (text);

  EXPECT_EQ (weft_snapshot_get_n_chars (snap), 3u);
  EXPECT_EQ (weft_snapshot_get_n_bytes (snap), 5u);
  EXPECT_EQ (weft_snapshot_char_to_byte (snap, 2), 4u);
}

TEST (WeftText, LinesEndAtNewlinesOnly)
{
  const std::string s = "one\ntwo\r\n\nlast\n";
  g_autoptr (WeftText) text = weft_text_new_from_utf8 (s.data (), s.size ());
  g_autoptr (WeftSnapshot) snap = weft_text_snapshot (text);

  EXPECT_EQ (weft_snapshot_get_n_lines (snap), 5u);
  EXPECT_EQ (weft_snapshot_line_to_byte (snap, 1), 4u);
  EXPECT_EQ (weft_snapshot_line_to_byte (snap, 2), 9u);
  EXPECT_EQ (weft_snapshot_line_to_byte (snap, 4), s.size ());
  EXPECT_EQ (weft_snapshot_byte_to_line (snap, 3), 0u);  // the '\n' ends line 0
  EXPECT_EQ (weft_snapshot_byte_to_line (snap, 4), 1u);
  EXPECT_EQ (weft_snapshot_byte_to_line (snap, s.size ()), 4u);
}

TEST (WeftText, RandomEditsMatchModelAfterEveryStep)
{
  std::mt19937 rng (Seed (20261127));
  Model model;
  g_autoptr (WeftText) text = weft_text_new ();
  RandomEditor editor (text, &model, &rng, 48 * 1024);
  uint64_t version = 0;

  for (int step = 0; step < 3000; step++)
    {
      SCOPED_TRACE ("step " + std::to_string (step));

      if (editor.Step ())
        version++;
      ASSERT_EQ (weft_text_get_version (text), version);
      ASSERT_EQ (weft_text_get_n_bytes (text), model.text.size ());

      g_autoptr (WeftSnapshot) snap = weft_text_snapshot (text);
      ASSERT_NO_FATAL_FAILURE (ExpectSnapshotMatches (snap, model.text, rng));
    }
}

TEST (WeftText, DeepTreeEditsMatchModel)
{
  std::mt19937 rng (Seed (7));
  Model model;
  model.text = RandomLines (rng, 1 << 20);
  g_autoptr (WeftText) text = weft_text_new_from_utf8 (model.text.data (), model.text.size ());
  RandomEditor editor (text, &model, &rng, 2 << 20);

  for (int step = 0; step < 200; step++)
    {
      SCOPED_TRACE ("step " + std::to_string (step));

      editor.Step ();
      ASSERT_EQ (weft_text_get_n_bytes (text), model.text.size ());
      if (step % 20 == 0 || step == 199)
        {
          g_autoptr (WeftSnapshot) snap = weft_text_snapshot (text);
          ASSERT_NO_FATAL_FAILURE (ExpectSnapshotMatches (snap, model.text, rng));
        }
    }
}

TEST (WeftText, SnapshotIsUnaffectedByLaterEdits)
{
  std::mt19937 rng (Seed (42));
  Model model;
  g_autoptr (WeftText) text = weft_text_new ();
  RandomEditor editor (text, &model, &rng, 32 * 1024);
  std::vector<std::pair<WeftSnapshot *, std::string>> kept;

  for (int step = 0; step < 2000; step++)
    {
      editor.Step ();
      if (step % 200 == 0)
        kept.emplace_back (weft_text_snapshot (text), model.text);
    }
  weft_text_delete (text, 0, weft_text_get_n_chars (text));

  for (auto &[snap, expected] : kept)
    {
      ASSERT_NO_FATAL_FAILURE (ExpectSnapshotMatches (snap, expected, rng));
      weft_snapshot_unref (snap);
    }
}

TEST (WeftText, SnapshotOutlivesText)
{
  WeftText *text = weft_text_new_from_utf8 ("kept\n", 5);
  WeftSnapshot *snap = weft_text_snapshot (text);

  weft_text_free (text);
  EXPECT_EQ (Dup (snap), "kept\n");
  EXPECT_EQ (weft_snapshot_get_n_lines (snap), 2u);
  weft_snapshot_unref (snap);
}

// Readers on several threads take the latest snapshot and check it against
// the model text published with it, while this thread keeps editing. Run
// under ThreadSanitizer this is the test of the reference counting and of
// node immutability.
TEST (WeftText, SnapshotsReadConcurrentlyWhileEditing)
{
  struct Published
  {
    WeftSnapshot *snap = nullptr;
    std::shared_ptr<const std::string> expected;
  };

  std::mt19937 rng (Seed (99));
  Model model;
  model.text = RandomLines (rng, 16 * 1024);
  g_autoptr (WeftText) text = weft_text_new_from_utf8 (model.text.data (), model.text.size ());
  RandomEditor editor (text, &model, &rng, 64 * 1024);
  std::mutex lock;
  Published latest;  // guarded by lock
  std::atomic<bool> done { false };
  std::atomic<int> checked { 0 };
  std::vector<std::thread> readers;

  auto publish = [&] () {
    Published next { weft_text_snapshot (text), std::make_shared<const std::string> (model.text) };
    std::unique_lock<std::mutex> guard (lock);
    std::swap (latest, next);
    guard.unlock ();
    if (next.snap != nullptr)
      weft_snapshot_unref (next.snap);
  };

  publish ();
  for (int t = 0; t < 4; t++)
    readers.emplace_back ([&, t] () {
      std::mt19937 local_rng (t);
      WeftSnapshot *held = nullptr;  // sometimes kept past the next publish, so frees happen here too

      while (!done.load (std::memory_order_acquire))
        {
          Published mine;
          {
            std::lock_guard<std::mutex> guard (lock);
            mine.snap = weft_snapshot_ref (latest.snap);
            mine.expected = latest.expected;
          }

          std::string got = Dup (mine.snap);
          EXPECT_EQ (got, *mine.expected);

          size_t total = 0;
          WeftChunkIter iter;
          const char *data;
          size_t len;
          weft_chunk_iter_init (&iter, mine.snap, 0, SIZE_MAX);
          while (weft_chunk_iter_next (&iter, &data, &len))
            total += len;
          EXPECT_EQ (total, mine.expected->size ());

          size_t n_lines = weft_snapshot_get_n_lines (mine.snap);
          size_t line = std::uniform_int_distribution<size_t> (0, n_lines - 1) (local_rng);
          size_t b = weft_snapshot_line_to_byte (mine.snap, line);
          EXPECT_TRUE (b == 0 || (*mine.expected)[b - 1] == '\n');
          EXPECT_EQ (weft_snapshot_byte_to_line (mine.snap, b), line);

          if (held != nullptr)
            weft_snapshot_unref (held);
          held = mine.snap;
          checked.fetch_add (1, std::memory_order_relaxed);
        }

      if (held != nullptr)
        weft_snapshot_unref (held);
    });

  for (int step = 0; step < 1500; step++)
    {
      editor.Step ();
      publish ();
    }
  // Keep editing until every reader has had a real go, however the
  // scheduler treated them.
  while (checked.load (std::memory_order_relaxed) < 40)
    {
      editor.Step ();
      publish ();
    }

  done.store (true, std::memory_order_release);
  for (auto &reader : readers)
    reader.join ();
  weft_snapshot_unref (latest.snap);
}

TEST (WeftText, NewFromLargeUtf8IsBalancedAndExact)
{
  std::mt19937 rng (Seed (5));
  std::string s = RandomLines (rng, 4 << 20);
  g_autoptr (WeftText) text = weft_text_new_from_utf8 (s.data (), s.size ());
  g_autoptr (WeftSnapshot) snap = weft_text_snapshot (text);

  ASSERT_NO_FATAL_FAILURE (ExpectSnapshotMatches (snap, s, rng));

  // Chunks are near their build size, so memory overhead stays small.
  EXPECT_LE (weft_snapshot_get_n_chunks (snap), s.size () / 1024 + 1);
}

TEST (WeftText, ChunksConcatenateToTextAndKeepSequencesWhole)
{
  std::mt19937 rng (Seed (11));
  std::string s = RandomLines (rng, 300 * 1024);
  g_autoptr (WeftText) text = weft_text_new_from_utf8 (s.data (), s.size ());
  g_autoptr (WeftSnapshot) snap = weft_text_snapshot (text);
  WeftChunkIter iter;
  const char *data;
  size_t len;
  std::string joined;
  size_t n_pieces = 0;

  weft_chunk_iter_init (&iter, snap, 0, SIZE_MAX);
  while (weft_chunk_iter_next (&iter, &data, &len))
    {
      ASSERT_GT (len, 0u);
      ASSERT_TRUE (g_utf8_validate_len (data, len, nullptr));
      joined.append (data, len);
      n_pieces++;
    }
  EXPECT_EQ (joined, s);
  EXPECT_EQ (n_pieces, weft_snapshot_get_n_chunks (snap));
}

TEST (WeftText, RangesCopyAndIterateExactly)
{
  std::mt19937 rng (Seed (13));
  std::string s = RandomLines (rng, 200 * 1024);
  g_autoptr (WeftText) text = weft_text_new_from_utf8 (s.data (), s.size ());
  // Some edits so that the chunks are not all alike.
  Model model { s };
  RandomEditor editor (text, &model, &rng, 400 * 1024);
  for (int i = 0; i < 300; i++)
    editor.Step ();
  g_autoptr (WeftSnapshot) snap = weft_text_snapshot (text);
  const std::string &t = model.text;

  for (int i = 0; i < 300; i++)
    {
      size_t off = std::uniform_int_distribution<size_t> (0, t.size ()) (rng);
      size_t len = std::uniform_int_distribution<size_t> (0, std::min<size_t> (t.size () - off, 20000)) (rng);
      std::string copied (len, '\0');
      std::string iterated;
      WeftChunkIter iter;
      const char *data;
      size_t n;

      weft_snapshot_copy_range (snap, off, len, copied.data ());
      ASSERT_EQ (copied, t.substr (off, len)) << "off " << off << " len " << len;

      weft_chunk_iter_init (&iter, snap, off, len);
      while (weft_chunk_iter_next (&iter, &data, &n))
        iterated.append (data, n);
      ASSERT_EQ (iterated, copied);
    }

  // SIZE_MAX reads to the end.
  std::string tail;
  WeftChunkIter iter;
  const char *data;
  size_t n;
  weft_chunk_iter_init (&iter, snap, t.size () / 3, SIZE_MAX);
  while (weft_chunk_iter_next (&iter, &data, &n))
    tail.append (data, n);
  EXPECT_EQ (tail, t.substr (t.size () / 3));
}

// Typing one char at a time must not leave one tiny chunk per keystroke.
TEST (WeftText, SingleCharInsertsKeepChunksFull)
{
  std::mt19937 rng (Seed (3));
  g_autoptr (WeftText) text = weft_text_new ();
  // Code points, so that the model needs no scan to find a char offset.
  std::u32string model;
  auto model_utf8 = [&model] () {
    g_autofree char *s = g_ucs4_to_utf8 (reinterpret_cast<const gunichar *> (model.data ()),
                                         static_cast<glong> (model.size ()), nullptr, nullptr, nullptr);
    return std::string (s);
  };

  for (int i = 0; i < 20000; i++)
    {
      std::string c = RandomText (rng, 1);
      size_t at = model.size () / 2;

      // Mostly typing at a moving cursor, sometimes anywhere.
      if (i % 7 == 0)
        at = std::uniform_int_distribution<size_t> (0, model.size ()) (rng);
      weft_text_insert (text, at, c.data (), c.size ());
      model.insert (model.begin () + static_cast<ptrdiff_t> (at), g_utf8_get_char (c.data ()));
    }

  g_autoptr (WeftSnapshot) snap = weft_text_snapshot (text);
  std::string expected = model_utf8 ();
  ASSERT_NO_FATAL_FAILURE (ExpectSnapshotMatches (snap, expected, rng));
  EXPECT_LE (weft_snapshot_get_n_chunks (snap), expected.size () / 512 + 1);

  // And deleting them one by one shrinks the tree back down.
  while (model.size () > 100)
    {
      size_t at = std::uniform_int_distribution<size_t> (0, model.size () - 1) (rng);
      weft_text_delete (text, at, 1);
      model.erase (static_cast<size_t> (at), 1);
    }
  g_autoptr (WeftSnapshot) small = weft_text_snapshot (text);
  ASSERT_NO_FATAL_FAILURE (ExpectSnapshotMatches (small, model_utf8 (), rng));
  EXPECT_EQ (weft_snapshot_get_n_chunks (small), 1u);
}

TEST (WeftText, LargePasteAndDeleteAll)
{
  std::mt19937 rng (Seed (17));
  g_autoptr (WeftText) text = weft_text_new_from_utf8 ("head\ntail\n", 10);
  std::string paste = RandomLines (rng, 2 << 20);
  Model model { "head\ntail\n" };

  weft_text_insert (text, 5, paste.data (), paste.size ());
  model.Insert (5, paste);
  g_autoptr (WeftSnapshot) pasted = weft_text_snapshot (text);
  ASSERT_NO_FATAL_FAILURE (ExpectSnapshotMatches (pasted, model.text, rng));

  weft_text_delete (text, 0, weft_text_get_n_chars (text));
  g_autoptr (WeftSnapshot) empty = weft_text_snapshot (text);
  ASSERT_NO_FATAL_FAILURE (ExpectSnapshotMatches (empty, "", rng));
  ASSERT_NO_FATAL_FAILURE (ExpectSnapshotMatches (pasted, model.text, rng));
}

}  // namespace

TEST (WeftText, SameTextComparesContentNotVersion)
{
  std::string big;
  for (int i = 0; i < 20000; i++)
    big += "line " + std::to_string (i) + "\n";
  g_autoptr (WeftText) text = weft_text_new_from_utf8 (big.data (), big.size ());
  g_autoptr (WeftText) other = weft_text_new_from_utf8 (big.data (), big.size ());
  g_autoptr (WeftSnapshot) start = weft_text_snapshot (text);

  // Typed and taken out again: another version, the same text.
  weft_text_insert (text, 5000, "xyz", 3);
  {
    g_autoptr (WeftSnapshot) typed = weft_text_snapshot (text);
    EXPECT_FALSE (weft_snapshot_same_text (start, typed));
  }
  weft_text_delete (text, 5000, 3);
  g_autoptr (WeftSnapshot) back = weft_text_snapshot (text);
  EXPECT_NE (weft_snapshot_get_version (back), weft_snapshot_get_version (start));
  EXPECT_TRUE (weft_snapshot_same_text (start, back));

  // Built separately, sharing nothing.
  g_autoptr (WeftSnapshot) separate = weft_text_snapshot (other);
  EXPECT_TRUE (weft_snapshot_same_text (start, separate));

  // One byte different at the very end, with the same length.
  weft_text_delete (other, weft_text_get_n_chars (other) - 1, 1);
  weft_text_insert (other, weft_text_get_n_chars (other), "!", 1);
  g_autoptr (WeftSnapshot) changed = weft_text_snapshot (other);
  EXPECT_FALSE (weft_snapshot_same_text (start, changed));
}

// weft_utf8_validate() against GLib's g_utf8_validate_len(): the same
// answer and the same end, for @bytes placed after @lead ASCII bytes (so
// the eight-byte path meets them at every alignment) and before @tail.
static void
ExpectValidatesAsGLib (const std::string &bytes)
{
  for (size_t lead : { 0, 1, 3, 7, 8, 13 })
    for (const char *tail : { "", "ok", "0123456789abcdef" })
      {
        std::string s = std::string (lead, 'a') + bytes + tail;
        const char *glib_end = nullptr, *our_end = nullptr;
        gboolean glib_ok = g_utf8_validate_len (s.data (), s.size (), &glib_end);
        gboolean our_ok = weft_utf8_validate (s.data (), s.size (), &our_end);

        ASSERT_EQ (our_ok, glib_ok) << testing::PrintToString (s);
        ASSERT_EQ (our_end - s.data (), glib_end - s.data ()) << testing::PrintToString (s);
      }
}

TEST (Utf8Validate, EverySequenceOfUpToThreeBytes)
{
  std::string s;

  for (int a = 0; a < 256; a++)
    {
      ExpectValidatesAsGLib (std::string (1, (char) a));
      for (int b = 0; b < 256; b++)
        {
          ExpectValidatesAsGLib (std::string { (char) a, (char) b });
          // Three bytes: every lead and second byte with the third byte's
          // classes (ASCII, continuation, lead, invalid).
          for (int c : { 0x00, 0x41, 0x80, 0x9F, 0xA0, 0xBF, 0xC2, 0xE0, 0xF0, 0xFF })
            {
              s = { (char) a, (char) b, (char) c };
              const char *glib_end = nullptr, *our_end = nullptr;
              ASSERT_EQ (weft_utf8_validate (s.data (), 3, &our_end),
                         g_utf8_validate_len (s.data (), 3, &glib_end)) << a << " " << b << " " << c;
              ASSERT_EQ (our_end, glib_end);
            }
        }
    }
}

TEST (Utf8Validate, EveryCodePointAndItsEdges)
{
  for (gunichar c = 0; c < 0x110000; c++)
    {
      char buf[8];
      int n = g_unichar_to_utf8 (c, buf);
      std::string s (buf, (size_t) n);
      const char *glib_end = nullptr, *our_end = nullptr;

      // Surrogates encode too (as invalid text): both must refuse them.
      ASSERT_EQ (weft_utf8_validate (s.data (), s.size (), &our_end),
                 g_utf8_validate_len (s.data (), s.size (), &glib_end)) << c;
      ASSERT_EQ (our_end, glib_end) << c;
      if (c % 4099 == 0 || (c >= 0xD7F0 && c <= 0xE010) || c >= 0x10FFF0 || c < 0x90)
        {
          ExpectValidatesAsGLib (s);
          ExpectValidatesAsGLib (s.substr (0, s.size () - 1));  // cut short
        }
    }
  // Past U+10FFFF, overlong forms and five- and six-byte leads.
  for (const char *bad : { "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xC0\x80", "\xC1\xBF",
                           "\xE0\x80\x80", "\xE0\x9F\xBF", "\xF0\x80\x80\x80", "\xF0\x8F\xBF\xBF",
                           "\xF8\x88\x80\x80\x80", "\xFC\x84\x80\x80\x80\x80", "\xED\xA0\x80" })
    ExpectValidatesAsGLib (bad);
}

TEST (Utf8Validate, RandomTextAndNoise)
{
  std::mt19937 rng (20261128);
  static const char *const pieces[] = { "a", " ", "\n", "z", "é", "ß", "€", "中", "😀", "\r\n",
                                        "\x80", "\xC3", "\xE2\x82", "\xF0\x9F\x98", "\0", "\xFF" };

  for (int i = 0; i < 20000; i++)
    {
      std::string s;
      size_t n = rng () % 40;
      bool noisy = rng () % 2 == 0;

      for (size_t k = 0; k < n; k++)
        {
          // Mostly valid pieces; in noisy strings, now and then an invalid one.
          size_t pick = rng () % (noisy ? G_N_ELEMENTS (pieces) : 10);
          const char *piece = pieces[pick];

          s.append (piece, pick == 14 ? 1 : strlen (piece));
          if (rng () % 3 == 0)
            s.append (rng () % 17, 'x');
        }
      ExpectValidatesAsGLib (s);
    }
}
