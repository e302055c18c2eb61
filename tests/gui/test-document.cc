// test-document.cc: a document's mirror (WeftText) stays equal to its real
// GtkSourceBuffer through every kind of edit, and snapshots never change.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "gui-wait.h"

extern "C" {
#include <adwaita.h>
#include <glib/gstdio.h>

#include "weft-document.h"
#include "weft-replace.h"
}

namespace {

std::string
BufferText (GtkTextBuffer *buffer)
{
  GtkTextIter start, end;
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  // get_slice, not get_text: paintables appear as U+FFFC, as in the mirror.
  g_autofree char *text = gtk_text_buffer_get_slice (buffer, &start, &end, TRUE);
  return text;
}

std::string
SnapshotText (WeftSnapshot *snapshot)
{
  size_t len = 0;
  g_autofree char *text = weft_snapshot_dup_utf8 (snapshot, &len);
  return std::string (text, len);
}

std::string
MirrorText (WeftDocument *document)
{
  g_autoptr (WeftSnapshot) snapshot = weft_document_dup_snapshot (document);
  return SnapshotText (snapshot);
}

class WeftDocumentMirror : public ::testing::Test
{
protected:
  void SetUp () override
  {
    document_ = weft_document_new ();
    buffer_ = GTK_TEXT_BUFFER (weft_document_get_buffer (document_));
  }

  void TearDown () override { g_clear_object (&document_); }

  WeftDocument *document_ = nullptr;
  GtkTextBuffer *buffer_ = nullptr;
};

// Pieces of text with every UTF-8 length, line breaks and a tab.
const char *const kPieces[] = {
  "a", "word ", "\n", "é", "ñandú", "€", "日本語", "😀", "𝄞x", "\t", "line\nbreak\n", "  ", "Ω≈ç√",
};

std::string
RandomText (std::mt19937 &rng, size_t max_pieces)
{
  std::uniform_int_distribution<size_t> count (1, max_pieces);
  std::uniform_int_distribution<size_t> pick (0, G_N_ELEMENTS (kPieces) - 1);
  std::string text;
  for (size_t i = count (rng); i > 0; i--)
    text += kPieces[pick (rng)];
  return text;
}

TEST_F (WeftDocumentMirror, FollowsThousandsOfRandomEdits)
{
  std::mt19937 rng (20261127);
  g_autoptr (GdkPaintable) paintable = gdk_paintable_new_empty (8, 8);
  std::vector<std::pair<WeftSnapshot *, std::string>> kept;

  for (int step = 0; step < 4000; step++)
    {
      const int n_chars = gtk_text_buffer_get_char_count (buffer_);
      std::uniform_int_distribution<int> at (0, n_chars);
      GtkTextIter start, end;
      int op = std::uniform_int_distribution<int> (0, 99) (rng);

      gtk_text_buffer_begin_user_action (buffer_);
      if (op < 40 || n_chars == 0)
        {
          // Typing: short text at a random place, as the user would.
          std::string text = RandomText (rng, 3);
          gtk_text_buffer_get_iter_at_offset (buffer_, &start, at (rng));
          gtk_text_buffer_insert_interactive (buffer_, &start, text.c_str (), -1, TRUE);
        }
      else if (op < 50)
        {
          // Paste: a large block.
          std::string text = RandomText (rng, 400);
          gtk_text_buffer_get_iter_at_offset (buffer_, &start, at (rng));
          gtk_text_buffer_insert (buffer_, &start, text.c_str (), -1);
        }
      else if (op < 75)
        {
          // Delete a range, often across lines.
          int a = at (rng), b = at (rng);
          gtk_text_buffer_get_iter_at_offset (buffer_, &start, std::min (a, b));
          gtk_text_buffer_get_iter_at_offset (buffer_, &end, std::max (a, b));
          gtk_text_buffer_delete (buffer_, &start, &end);
        }
      else if (op < 78)
        {
          gtk_text_buffer_get_iter_at_offset (buffer_, &start, at (rng));
          gtk_text_buffer_insert_paintable (buffer_, &start, paintable);
        }
      else if (op < 80)
        {
          gtk_text_buffer_get_iter_at_offset (buffer_, &start, at (rng));
          gtk_text_buffer_create_child_anchor (buffer_, &start);
        }
      gtk_text_buffer_end_user_action (buffer_);

      if (op >= 80 && op < 92 && gtk_text_buffer_get_can_undo (buffer_))
        gtk_text_buffer_undo (buffer_);
      else if (op >= 92 && gtk_text_buffer_get_can_redo (buffer_))
        gtk_text_buffer_redo (buffer_);

      ASSERT_EQ (MirrorText (document_), BufferText (buffer_)) << "after step " << step << ", op " << op;
      g_autoptr (WeftSnapshot) snapshot = weft_document_dup_snapshot (document_);
      ASSERT_EQ (weft_snapshot_get_n_chars (snapshot), (size_t) gtk_text_buffer_get_char_count (buffer_));
      if (step % 500 == 0)
        kept.emplace_back (weft_snapshot_ref (snapshot), BufferText (buffer_));
    }

  // Every snapshot still reads as the text was when it was taken.
  for (auto &[snapshot, text] : kept)
    {
      EXPECT_EQ (SnapshotText (snapshot), text);
      weft_snapshot_unref (snapshot);
    }
}

TEST_F (WeftDocumentMirror, SetTextReplacesTheMirror)
{
  gtk_text_buffer_set_text (buffer_, "first\nversion ✓", -1);
  EXPECT_EQ (MirrorText (document_), "first\nversion ✓");
  gtk_text_buffer_set_text (buffer_, "", -1);
  EXPECT_EQ (MirrorText (document_), "");
}

TEST_F (WeftDocumentMirror, SnapshotIsUnaffectedByLaterEdits)
{
  gtk_text_buffer_set_text (buffer_, "before", -1);
  g_autoptr (WeftSnapshot) snapshot = weft_document_dup_snapshot (document_);
  GtkTextIter end;
  gtk_text_buffer_get_end_iter (buffer_, &end);
  gtk_text_buffer_insert (buffer_, &end, " and after", -1);
  EXPECT_EQ (SnapshotText (snapshot), "before");
  EXPECT_EQ (MirrorText (document_), "before and after");
}

struct ReplaceWatch
{
  GtkTextBuffer     *buffer;
  const std::string *before, *old_text, *new_text, *after;
  int                slices = 0;
  bool               done = false;
};

// Between slices the buffer holds the text before the range, the start of
// the new text, the start of what the range held, and the text after it.
void
CheckReplaceProgress (gpointer user_data, double fraction)
{
  auto *w = static_cast<ReplaceWatch *> (user_data);
  const std::string text = BufferText (w->buffer);
  w->slices++;

  ASSERT_GE (text.size (), w->before->size () + w->after->size ());
  ASSERT_EQ (text.compare (0, w->before->size (), *w->before), 0);
  ASSERT_EQ (text.compare (text.size () - w->after->size (), w->after->size (), *w->after), 0);
  const std::string range = text.substr (w->before->size (), text.size () - w->before->size () - w->after->size ());
  // Only the old lines have an 'o'.
  const size_t k = std::min (range.find ('o'), range.size ());
  EXPECT_GT (k, 0u) << "the new text goes in first";
  EXPECT_EQ (range.substr (0, k), w->new_text->substr (0, k));
  EXPECT_EQ (range.substr (k), w->old_text->substr (0, range.size () - k));
  EXPECT_GT (fraction, 0.0);
  EXPECT_LT (fraction, 1.0);
}

void
ReplaceDone (gpointer user_data)
{
  static_cast<ReplaceWatch *> (user_data)->done = true;
}

// What the view shows of a range (its start) is final from the first slice
// on: the new text grows from there while the old text goes from its end.
TEST (WeftReplace, NewTextGrowsFromTheStartWhileTheOldGoesFromTheEnd)
{
  const std::string before = "before ✓\n", after = "after\n";
  std::string old_text, new_text;
  for (int i = 0; i < 80000; i++)
    old_text += "old line " + std::to_string (i) + " é\n";
  for (int i = 0; i < 90000; i++)
    new_text += "new " + std::to_string (90000 - i) + " ñ\n";
  g_autoptr (GtkTextBuffer) buffer = gtk_text_buffer_new (nullptr);
  const std::string all = before + old_text + after;
  gtk_text_buffer_set_text (buffer, all.c_str (), (int) all.size ());

  ReplaceWatch watch{ buffer, &before, &old_text, &new_text, &after };
  const size_t old_chars = g_utf8_strlen (old_text.c_str (), (gssize) old_text.size ());
  WeftReplace *replace = weft_replace_new_from_text (buffer, g_utf8_strlen (before.c_str (), -1), old_chars,
                                                     g_strndup (new_text.data (), new_text.size ()),
                                                     new_text.size ());
  weft_replace_start (replace, CheckReplaceProgress, ReplaceDone, &watch);
  ASSERT_TRUE (WaitUntil ([&] { return watch.done; }));
  weft_replace_free (replace);

  EXPECT_GT (watch.slices, 1);
  EXPECT_EQ (BufferText (buffer), before + new_text + after);
}

// A source that is always ready at a priority above the idle one, as
// GtkTextView's line validation is while it measures a text, until @until
// holds.
struct Busy
{
  std::function<bool ()> until;
};

gboolean
KeepBusy (gpointer user_data)
{
  auto *busy = static_cast<Busy *> (user_data);
  return busy->until () ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

struct Loaded
{
  bool done = false;
  bool ok = false;
};

void
OnLoaded (GObject *object, GAsyncResult *result, gpointer user_data)
{
  auto *loaded = static_cast<Loaded *> (user_data);
  loaded->ok = weft_document_load_finish (WEFT_DOCUMENT (object), result, nullptr);
  loaded->done = true;
}

struct IdleWatch
{
  WeftDocument *document;
  int seen_chars = -1;  // the buffer's length when the idle callback ran
};

// GTK 4.8 registers its accessible objects with the AT-SPI registry from an
// idle callback, and sends each text view's whole text then. Run in a
// process of its own (see meson.build): only the first load there waits.
TEST (WeftDocumentFirstLoad, PutsNoTextInBeforeTheMainLoopHasGoneIdle)
{
  g_autofree char *dir = g_dir_make_tmp ("weft-first-load-XXXXXX", nullptr);
  g_autofree char *path = g_build_filename (dir, "big.txt", nullptr);
  std::string text;
  for (int i = 0; i < 60000; i++)
    text += "line " + std::to_string (i) + " of a text that takes many slices to load\n";
  ASSERT_TRUE (g_file_set_contents (path, text.data (), (gssize) text.size (), nullptr));
  g_autoptr (GFile) file = g_file_new_for_path (path);
  const int total = (int) g_utf8_strlen (text.data (), (gssize) text.size ());

  // The first load, as at start-up: an idle callback is pending, and the
  // main loop is kept busy above idle priority (as by a window's first
  // frames) until text comes in, or for a second at most.
  g_autoptr (WeftDocument) first = weft_document_new ();
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (first));
  IdleWatch watch{ first };
  g_idle_add (+[] (gpointer d) -> gboolean {
    auto *w = static_cast<IdleWatch *> (d);
    w->seen_chars = gtk_text_buffer_get_char_count (GTK_TEXT_BUFFER (weft_document_get_buffer (w->document)));
    return G_SOURCE_REMOVE;
  }, &watch);
  const gint64 busy_until = g_get_monotonic_time () + G_USEC_PER_SEC;
  Busy busy{ [&] { return gtk_text_buffer_get_char_count (buffer) > 0 || g_get_monotonic_time () > busy_until; } };
  g_idle_add_full (G_PRIORITY_HIGH_IDLE + 25, KeepBusy, &busy, nullptr);
  Loaded loaded;
  weft_document_load_async (first, file, nullptr, OnLoaded, &loaded);
  ASSERT_TRUE (WaitUntil ([&] { return loaded.done && watch.seen_chars >= 0; }));
  ASSERT_TRUE (loaded.ok);
  EXPECT_EQ (gtk_text_buffer_get_char_count (buffer), total);
  // The idle callback ran before any text was in.
  EXPECT_EQ (watch.seen_chars, 0);

  // Later loads do not wait for the main loop to go idle: here it never
  // does until the load is over, as while GTK measures another large text.
  g_autoptr (WeftDocument) second = weft_document_new ();
  Loaded loaded_second;
  Busy busy_second{ [&] { return loaded_second.done; } };
  g_idle_add_full (G_PRIORITY_HIGH_IDLE + 25, KeepBusy, &busy_second, nullptr);
  weft_document_load_async (second, file, nullptr, OnLoaded, &loaded_second);
  ASSERT_TRUE (WaitUntil ([&] { return loaded_second.done; }));
  EXPECT_TRUE (loaded_second.ok);
  EXPECT_EQ (gtk_text_buffer_get_char_count (GTK_TEXT_BUFFER (weft_document_get_buffer (second))), total);
  Drain ();

  g_unlink (path);
  g_rmdir (dir);
}

}  // namespace

int
main (int argc, char **argv)
{
  ::testing::InitGoogleTest (&argc, argv);
  gtk_init ();
  adw_init ();
  return RUN_ALL_TESTS ();
}
