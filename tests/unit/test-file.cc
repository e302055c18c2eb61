// test-file.cc: reading text files and replacing them atomically (weft-file.c).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

extern "C" {
#include "weft-file.h"
}

namespace {

class WeftFile : public ::testing::Test
{
protected:
  void SetUp () override
  {
    dir_ = g_dir_make_tmp ("weft-file-XXXXXX", nullptr);
    ASSERT_NE (dir_, nullptr);
  }

  void TearDown () override
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir_);
    ASSERT_EQ (system (cmd), 0);
    g_free (dir_);
  }

  std::string Path (const char *name) const
  {
    g_autofree char *p = g_build_filename (dir_, name, nullptr);
    return p;
  }

  static void Write (const std::string &path, const std::string &bytes)
  {
    ASSERT_TRUE (g_file_set_contents (path.c_str (), bytes.data (), (gssize) bytes.size (), nullptr));
  }

  static std::string Read (const std::string &path)
  {
    g_autofree char *buf = nullptr;
    gsize len = 0;
    EXPECT_TRUE (g_file_get_contents (path.c_str (), &buf, &len, nullptr));
    return std::string (buf ? buf : "", len);
  }

  int EntriesInDir () const
  {
    GDir *d = g_dir_open (dir_, 0, nullptr);
    int n = 0;
    while (g_dir_read_name (d) != nullptr)
      n++;
    g_dir_close (d);
    return n;
  }

  char *dir_ = nullptr;
};

TEST_F (WeftFile, ReadsUtf8TextExactly)
{
  const std::string text = "héllo\nwörld — ✓\r\nno final newline";
  Write (Path ("a.txt"), text);

  g_autofree char *out = nullptr;
  size_t len = 0;
  g_autoptr (GError) error = nullptr;
  ASSERT_TRUE (weft_file_read_utf8 (Path ("a.txt").c_str (), &out, &len, &error));
  EXPECT_EQ (std::string (out, len), text);
  EXPECT_EQ (out[len], '\0');
}

TEST_F (WeftFile, ReadsEmptyFile)
{
  Write (Path ("empty"), "");
  g_autofree char *out = nullptr;
  size_t len = 99;
  ASSERT_TRUE (weft_file_read_utf8 (Path ("empty").c_str (), &out, &len, nullptr));
  EXPECT_EQ (len, 0u);
}

TEST_F (WeftFile, InvalidUtf8IsRefusedWithItsPosition)
{
  Write (Path ("latin1.txt"), "line one\nfa\xe7" "ade\n");
  g_autofree char *out = nullptr;
  size_t len = 0;
  g_autoptr (GError) error = nullptr;
  EXPECT_FALSE (weft_file_read_utf8 (Path ("latin1.txt").c_str (), &out, &len, &error));
  ASSERT_NE (error, nullptr);
  EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_INVALID_UTF8));
  EXPECT_NE (strstr (error->message, "line 2, column 3"), nullptr) << error->message;
  EXPECT_EQ (out, nullptr);
}

TEST_F (WeftFile, NulBytesAreReportedAsBinary)
{
  Write (Path ("bin"), std::string ("ab\0cd", 5));
  g_autoptr (GError) error = nullptr;
  g_autofree char *out = nullptr;
  EXPECT_FALSE (weft_file_read_utf8 (Path ("bin").c_str (), &out, nullptr, &error));
  EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_BINARY));
}

TEST_F (WeftFile, MissingFileIsNotFound)
{
  g_autoptr (GError) error = nullptr;
  g_autofree char *out = nullptr;
  EXPECT_FALSE (weft_file_read_utf8 (Path ("nope").c_str (), &out, nullptr, &error));
  EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_NOT_FOUND));
  EXPECT_NE (strstr (error->message, "nope"), nullptr);
}

TEST_F (WeftFile, DirectoryIsRefused)
{
  g_autoptr (GError) error = nullptr;
  g_autofree char *out = nullptr;
  EXPECT_FALSE (weft_file_read_utf8 (dir_, &out, nullptr, &error));
  EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_IS_DIRECTORY));
}

TEST_F (WeftFile, FifoIsRefusedWithoutBlocking)
{
  // No writer ever opens this FIFO: a plain open() for reading would block forever.
  ASSERT_EQ (mkfifo (Path ("fifo").c_str (), 0600), 0);
  g_autoptr (GError) error = nullptr;
  g_autofree char *out = nullptr;
  EXPECT_FALSE (weft_file_read_utf8 (Path ("fifo").c_str (), &out, nullptr, &error));
  EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_NOT_REGULAR_FILE));
}

TEST_F (WeftFile, DeviceIsRefused)
{
  g_autoptr (GError) error = nullptr;
  g_autofree char *out = nullptr;
  EXPECT_FALSE (weft_file_read_utf8 ("/dev/zero", &out, nullptr, &error));
  EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_NOT_REGULAR_FILE));
}

TEST_F (WeftFile, WriteCreatesNewFileWithExactBytes)
{
  const std::string text = "new\ncontent ✓\n";
  g_autoptr (GError) error = nullptr;
  ASSERT_TRUE (weft_file_write_atomic (Path ("new.txt").c_str (), text.data (), text.size (), &error))
      << error->message;
  EXPECT_EQ (Read (Path ("new.txt")), text);
  EXPECT_EQ (EntriesInDir (), 1) << "the temp file must not be left behind";
}

TEST_F (WeftFile, WriteReplacesAndKeepsPermissions)
{
  Write (Path ("keep.sh"), "old");
  ASSERT_EQ (chmod (Path ("keep.sh").c_str (), 0750), 0);
  struct stat before;
  ASSERT_EQ (stat (Path ("keep.sh").c_str (), &before), 0);

  ASSERT_TRUE (weft_file_write_atomic (Path ("keep.sh").c_str (), "new!", 4, nullptr));

  struct stat after;
  ASSERT_EQ (stat (Path ("keep.sh").c_str (), &after), 0);
  EXPECT_EQ (Read (Path ("keep.sh")), "new!");
  EXPECT_EQ (after.st_mode & 07777, 0750u);
  EXPECT_NE (after.st_ino, before.st_ino) << "replaced by rename, not rewritten in place";
}

TEST_F (WeftFile, WriteThroughSymlinkReplacesTargetAndKeepsLink)
{
  Write (Path ("real.txt"), "old");
  ASSERT_EQ (symlink ("real.txt", Path ("link.txt").c_str ()), 0);

  ASSERT_TRUE (weft_file_write_atomic (Path ("link.txt").c_str (), "via link", 8, nullptr));

  struct stat lst;
  ASSERT_EQ (lstat (Path ("link.txt").c_str (), &lst), 0);
  EXPECT_TRUE (S_ISLNK (lst.st_mode));
  EXPECT_EQ (Read (Path ("real.txt")), "via link");
}

TEST_F (WeftFile, FailedWriteLeavesOriginalUntouched)
{
  const std::string original (4096, 'o');
  Write (Path ("precious.txt"), original);

  // A file-size limit makes write() fail with EFBIG part-way through, for root
  // as for anyone: a save that dies in the middle of writing.
  std::string big (1 << 20, 'n');
  struct rlimit old_limit;
  ASSERT_EQ (getrlimit (RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit small = { 8192, old_limit.rlim_max };
  void (*old_handler) (int) = signal (SIGXFSZ, SIG_IGN);
  ASSERT_EQ (setrlimit (RLIMIT_FSIZE, &small), 0);

  g_autoptr (GError) error = nullptr;
  gboolean ok = weft_file_write_atomic (Path ("precious.txt").c_str (), big.data (), big.size (), &error);

  ASSERT_EQ (setrlimit (RLIMIT_FSIZE, &old_limit), 0);
  signal (SIGXFSZ, old_handler);

  EXPECT_FALSE (ok);
  ASSERT_NE (error, nullptr);
  EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_NO_SPACE)) << error->message;
  EXPECT_NE (strstr (error->message, "precious.txt"), nullptr);
  EXPECT_EQ (Read (Path ("precious.txt")), original);
  EXPECT_EQ (EntriesInDir (), 1) << "the temp file must be removed after a failure";
}

TEST_F (WeftFile, WriteIntoMissingFolderFailsClearly)
{
  g_autoptr (GError) error = nullptr;
  EXPECT_FALSE (weft_file_write_atomic (Path ("no/such/dir.txt").c_str (), "x", 1, &error));
  EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_NOT_FOUND));
}

TEST_F (WeftFile, WriteOverDirectoryIsRefused)
{
  ASSERT_EQ (mkdir (Path ("sub").c_str (), 0700), 0);
  g_autoptr (GError) error = nullptr;
  EXPECT_FALSE (weft_file_write_atomic (Path ("sub").c_str (), "x", 1, &error));
  EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_IS_DIRECTORY));
}

struct Pieces
{
  std::vector<std::string> parts;
  size_t next = 0;
};

static gboolean
NextPiece (gpointer user_data, const char **data, size_t *len)
{
  auto *pieces = static_cast<Pieces *> (user_data);
  if (pieces->next == pieces->parts.size ())
    return FALSE;
  const std::string &part = pieces->parts[pieces->next++];
  *data = part.data ();
  *len = part.size ();
  return TRUE;
}

TEST_F (WeftFile, WriteFromPiecesConcatenatesThemInOrder)
{
  Write (Path ("pieces.txt"), "old");
  Pieces pieces;
  pieces.parts = { "first ", "", "sëcond ", std::string (100000, 'x'), "\nend" };
  g_autoptr (GError) error = nullptr;
  ASSERT_TRUE (weft_file_write_atomic_chunks (Path ("pieces.txt").c_str (), NextPiece, &pieces, &error));
  EXPECT_EQ (Read (Path ("pieces.txt")), "first sëcond " + std::string (100000, 'x') + "\nend");
}

TEST_F (WeftFile, NewPrivateFileGetsTheModeAskedFor)
{
  Pieces pieces;
  pieces.parts = { "draft" };
  ASSERT_TRUE (weft_file_write_atomic_full (Path ("draft").c_str (), 0600, NextPiece, &pieces, nullptr));
  struct stat st;
  ASSERT_EQ (stat (Path ("draft").c_str (), &st), 0);
  EXPECT_EQ (st.st_mode & 07777, 0600u);
  EXPECT_EQ (Read (Path ("draft")), "draft");
}

// The steps a processes-backend SAVE takes, one by one.

TEST_F (WeftFile, TempFileCommitReplacesTheTargetKeepingItsMode)
{
  Write (Path ("doc.txt"), "old");
  ASSERT_EQ (chmod (Path ("doc.txt").c_str (), 0640), 0);
  g_autoptr (GError) error = nullptr;
  WeftFileTemp *temp = weft_file_temp_new (Path ("doc.txt").c_str (), 0600, &error);
  ASSERT_NE (temp, nullptr) << error->message;
  EXPECT_EQ (EntriesInDir (), 2);
  EXPECT_EQ (Read (Path ("doc.txt")), "old");
  struct stat st;
  ASSERT_EQ (fstat (weft_file_temp_get_fd (temp), &st), 0);
  EXPECT_EQ (st.st_mode & 07777, 0640u);
  EXPECT_EQ (st.st_size, 0);

  Pieces pieces;
  pieces.parts = { "new ", std::string (3 << 20, 'n'), " end" };
  ASSERT_TRUE (weft_file_write_fd (weft_file_temp_get_fd (temp), "doc.txt", NextPiece, &pieces,
                                   nullptr, nullptr, &error));
  EXPECT_EQ (Read (Path ("doc.txt")), "old");
  ASSERT_TRUE (weft_file_temp_commit (temp, &error)) << error->message;
  EXPECT_EQ (Read (Path ("doc.txt")), "new " + std::string (3 << 20, 'n') + " end");
  ASSERT_EQ (stat (Path ("doc.txt").c_str (), &st), 0);
  EXPECT_EQ (st.st_mode & 07777, 0640u);
  EXPECT_EQ (EntriesInDir (), 1);
}

TEST_F (WeftFile, TempFileAbortLeavesTheTargetAndNothingElse)
{
  Write (Path ("doc.txt"), "old");
  WeftFileTemp *temp = weft_file_temp_new (Path ("doc.txt").c_str (), 0644, nullptr);
  ASSERT_NE (temp, nullptr);
  ASSERT_EQ (write (weft_file_temp_get_fd (temp), "partial", 7), 7);
  weft_file_temp_abort (temp);
  weft_file_temp_abort (nullptr);
  EXPECT_EQ (Read (Path ("doc.txt")), "old");
  EXPECT_EQ (EntriesInDir (), 1);
}

TEST_F (WeftFile, TempFileIsRefusedWhereASaveWouldBe)
{
  g_autoptr (GError) missing = nullptr;
  EXPECT_EQ (weft_file_temp_new (Path ("no/such.txt").c_str (), 0644, &missing), nullptr);
  EXPECT_TRUE (g_error_matches (missing, WEFT_ERROR, WEFT_ERROR_NOT_FOUND));
  EXPECT_TRUE (g_str_has_prefix (missing->message,
                                 "Could not save “such.txt”: creating a temporary file beside it failed: "))
    << missing->message;
  ASSERT_EQ (mkdir (Path ("sub").c_str (), 0700), 0);
  g_autoptr (GError) dir = nullptr;
  EXPECT_EQ (weft_file_temp_new (Path ("sub").c_str (), 0644, &dir), nullptr);
  EXPECT_TRUE (g_error_matches (dir, WEFT_ERROR, WEFT_ERROR_IS_DIRECTORY));
  EXPECT_EQ (EntriesInDir (), 1);
}

static gboolean
CancelAfterFirstBatch (gpointer data)
{
  return ++*static_cast<int *> (data) > 1;
}

TEST_F (WeftFile, WriteToADescriptorStopsOnceCancelled)
{
  int fd = open (Path ("out").c_str (), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE (fd, 0);
  Pieces pieces;
  pieces.parts = { std::string (5 << 20, 'c') };
  int polls = 0;
  g_autoptr (GError) error = nullptr;
  EXPECT_FALSE (weft_file_write_fd (fd, "out", NextPiece, &pieces, CancelAfterFirstBatch, &polls, &error));
  EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_CANCELLED));
  close (fd);
  // One batch of at most 1 MiB went out before the check stopped it.
  EXPECT_EQ (Read (Path ("out")).size (), size_t (1 << 20));
}

}  // namespace
