// test-save-faults.cc: the atomic writer and SAVE jobs on both backends under injected
// ENOSPC, EIO, EACCES and EROFS at open, write, fsync and rename (libweft-fault).
#include <gtest/gtest.h>

#include <errno.h>
#include <sys/stat.h>

#include <algorithm>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

extern "C" {
#include "weft-backend.h"
#include "weft-error.h"
#include "weft-file.h"
#include "weft-fault.h"
#include "weft-text.h"
}

#include "weft-test-files.h"

namespace {

WeftFaultControl *control = nullptr;

// Several megabytes in many rope leaves, so that a write takes many calls.
std::string
Text (size_t n, char seed)
{
  std::string s;

  s.reserve (n);
  for (size_t line = 0; s.size () < n; line++)
    s += std::string (1, seed) + " line " + std::to_string (line) + " — with some words in it\n";
  return s;
}

using Param = std::tuple<const char *, const char *, int>;  // writer, op, errno

class SaveFaults : public ::testing::TestWithParam<Param>
{
protected:
  void SetUp () override
  {
    weft_fault_control_set (control, "");
    ctx_ = g_main_context_new ();
    dir_ = g_dir_make_tmp ("weft-faults-XXXXXX", nullptr);
    ASSERT_NE (dir_, nullptr);
    path_ = std::string (dir_) + "/doc.txt";
    std::string writer = std::get<0> (GetParam ());
    if (writer == "threads")
      backend_ = weft_thread_backend_new (1, ctx_);
    else if (writer == "processes")
      {
        g_autoptr (GError) error = nullptr;
        backend_ = weft_process_backend_new (1, g_getenv ("WEFT_WORKER_PATH"), ctx_, &error);
        ASSERT_NE (backend_, nullptr) << error->message;
      }
  }

  void TearDown () override
  {
    weft_fault_control_set (control, "");
    if (backend_ != nullptr)
      {
        bool closed = false;
        weft_backend_shutdown (backend_, WEFT_SHUTDOWN_CANCEL,
                               [] (gpointer data) { *static_cast<bool *> (data) = true; }, &closed);
        while (!closed)
          g_main_context_iteration (ctx_, TRUE);
      }
    g_main_context_unref (ctx_);
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir_);
    EXPECT_EQ (system (cmd), 0);
    g_free (dir_);
  }

  std::vector<std::string> Listing () const
  {
    std::vector<std::string> names;
    g_autoptr (GDir) dir = g_dir_open (dir_, 0, nullptr);
    for (const char *name; dir != nullptr && (name = g_dir_read_name (dir)) != nullptr;)
      names.push_back (name);
    std::sort (names.begin (), names.end ());
    return names;
  }

  // Saves @text over the target with the writer under test; returns the
  // error, or nullptr on success.
  GError *Save (const std::string &text)
  {
    g_autoptr (WeftText) mirror = weft_text_new_from_utf8 (text.data (), text.size ());
    g_autoptr (WeftSnapshot) snap = weft_text_snapshot (mirror);
    GError *error = nullptr;

    if (backend_ == nullptr)
      {
        WeftChunkIter iter;
        weft_chunk_iter_init (&iter, snap, 0, SIZE_MAX);
        weft_file_write_atomic_full (path_.c_str (), 0600, (WeftFileChunkFunc) weft_chunk_iter_next, &iter,
                                     &error);
        return error;
      }

    struct Done
    {
      bool done = false;
      GError *error = nullptr;
    } done;
    g_autoptr (WeftJobInput) input = weft_job_input_new_snapshot (snap);
    g_autoptr (GBytes) options = weft_job_save_options (path_.c_str (), 0600);
    WeftJobSpec spec = { WEFT_JOB_SAVE, input, options, 0, nullptr };
    weft_backend_submit (
        backend_, &spec,
        [] (const WeftJobResult *result, gpointer data) {
          auto *d = static_cast<Done *> (data);
          d->done = true;
          d->error = result->error != nullptr ? g_error_copy (result->error) : nullptr;
        },
        &done);
    while (!done.done)
      g_main_context_iteration (ctx_, TRUE);
    return done.error;
  }

  GMainContext *ctx_ = nullptr;
  WeftBackend *backend_ = nullptr;
  char *dir_ = nullptr;
  std::string path_;
};

int
ExpectedCode (int errsv)
{
  switch (errsv)
    {
    case ENOSPC:
      return WEFT_ERROR_NO_SPACE;
    case EIO:
      return WEFT_ERROR_IO;
    case EACCES:
      return WEFT_ERROR_PERMISSION_DENIED;
    case EROFS:
      return WEFT_ERROR_READ_ONLY_FS;
    default:
      return -1;
    }
}

TEST_P (SaveFaults, TheTargetStaysByteIdenticalWithNoTempFileAndTheNextSaveSucceeds)
{
  const char *op = std::get<1> (GetParam ());
  int errsv = std::get<2> (GetParam ());
  const std::string previous = Text (200000, 'p');
  const std::string next = Text (3 * 1024 * 1024, 'n');

  ASSERT_TRUE (g_file_set_contents (path_.c_str (), previous.data (), previous.size (), nullptr));
  ASSERT_EQ (chmod (path_.c_str (), 0640), 0);

  // The target and its temp file (".doc.txt.weft-…") both match.
  g_autofree char *config = g_strdup_printf ("ops=%s errno=%d path=*/*doc.txt*", op, errsv);
  weft_fault_control_set (control, config);
  g_autoptr (GError) error = Save (next);
  guint32 injected = weft_fault_control_get_injected (control);
  weft_fault_control_set (control, "");

  ASSERT_GE (injected, 1u) << "the fault never fired";
  ASSERT_NE (error, nullptr) << "the save reported success under " << config;
  EXPECT_EQ (error->domain, WEFT_ERROR);
  EXPECT_EQ (error->code, ExpectedCode (errsv)) << error->message;
  EXPECT_EQ (std::string (error->message).rfind ("Could not save “doc.txt”", 0), 0u) << error->message;
  EXPECT_TRUE (ReadAll (path_) == previous) << "the previous version changed";
  struct stat st;
  ASSERT_EQ (stat (path_.c_str (), &st), 0);
  EXPECT_EQ (st.st_mode & 07777, 0640u);
  EXPECT_EQ (Listing (), std::vector<std::string> { "doc.txt" });

  // Lifted: the same save goes through and keeps the mode.
  g_autoptr (GError) again = Save (next);
  ASSERT_EQ (again, nullptr) << again->message;
  EXPECT_TRUE (ReadAll (path_) == next);
  ASSERT_EQ (stat (path_.c_str (), &st), 0);
  EXPECT_EQ (st.st_mode & 07777, 0640u);
  EXPECT_EQ (Listing (), std::vector<std::string> { "doc.txt" });

  // Both SAVE jobs are in the engine's stats, the first as a failure.
  if (backend_ != nullptr)
    {
      WeftBackendStats stats;
      weft_backend_get_stats (backend_, &stats);
      EXPECT_EQ (stats.submitted, 2u);
      EXPECT_EQ (stats.failed, 1u);
      EXPECT_EQ (stats.completed, 1u);
      EXPECT_EQ (stats.crashes_survived, 0u);
    }
}

// Only the write step has a halfway.
class SaveFaultsHalfway : public SaveFaults
{
};

TEST_P (SaveFaultsHalfway, AFailureHalfwayThroughTheWriteLeavesNoPartialFile)
{
  int errsv = std::get<2> (GetParam ());
  const std::string previous = Text (1000, 'p');
  const std::string next = Text (8 * 1024 * 1024, 'n');

  ASSERT_TRUE (g_file_set_contents (path_.c_str (), previous.data (), previous.size (), nullptr));
  // A few batches of up to 1 MiB go out before the failure.
  g_autofree char *config = g_strdup_printf ("ops=write errno=%d path=*/.doc.txt.weft-* after=3", errsv);
  weft_fault_control_set (control, config);
  g_autoptr (GError) error = Save (next);
  guint32 injected = weft_fault_control_get_injected (control);
  weft_fault_control_set (control, "");

  ASSERT_GE (injected, 1u);
  ASSERT_NE (error, nullptr);
  EXPECT_EQ (error->code, ExpectedCode (errsv)) << error->message;
  EXPECT_TRUE (ReadAll (path_) == previous);
  EXPECT_EQ (Listing (), std::vector<std::string> { "doc.txt" });
}

std::string
ParamName (const ::testing::TestParamInfo<Param> &info)
{
  const char *name = "errno";
  switch (std::get<2> (info.param))
    {
    case ENOSPC:
      name = "ENOSPC";
      break;
    case EIO:
      name = "EIO";
      break;
    case EACCES:
      name = "EACCES";
      break;
    case EROFS:
      name = "EROFS";
      break;
    }
  return std::string (std::get<0> (info.param)) + "_" + std::get<1> (info.param) + "_" + name;
}

INSTANTIATE_TEST_SUITE_P (EveryWriterStepAndError, SaveFaults,
                          ::testing::Combine (::testing::Values ("direct", "threads", "processes"),
                                              ::testing::Values ("open", "write", "fsync", "rename"),
                                              ::testing::Values (ENOSPC, EIO, EACCES, EROFS)),
                          ParamName);

INSTANTIATE_TEST_SUITE_P (EveryWriterAndError, SaveFaultsHalfway,
                          ::testing::Combine (::testing::Values ("direct", "threads", "processes"),
                                              ::testing::Values ("write"),
                                              ::testing::Values (ENOSPC, EIO, EACCES, EROFS)),
                          ParamName);

}  // namespace

int
main (int argc, char **argv)
{
  control = weft_fault_preload_or_die (argv, WEFT_FAULT_SHIM, g_get_tmp_dir ());
  ::testing::InitGoogleTest (&argc, argv);
  return RUN_ALL_TESTS ();
}
