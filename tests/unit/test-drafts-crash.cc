// test-drafts-crash.cc: kill -9 of the draft writer at random moments, cycle after cycle:
// every draft is a complete version, and the session code brings back the newest one.
//
// Each version of the text starts with a line naming its number and the hash of
// the rest, so a torn or mixed draft cannot pass for a whole one.
#include <gtest/gtest.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

extern "C" {
#include "weft-backend.h"
#include "weft-file.h"
#include "weft-session.h"
#include "weft-text.h"
}

#include "weft-test-files.h"
#include "weft-worker-pids.h"

namespace {

const char *self_exe = nullptr;

constexpr guint64 kFnvOffset = 0xcbf29ce484222325ULL;

std::string
HeaderFor (guint64 version, const std::string &body)
{
  char line[96];
  snprintf (line, sizeof line, "weft draft %020" G_GUINT64_FORMAT " %016" G_GINT64_MODIFIER "x\n", version,
            weft_job_fnv1a (kFnvOffset, body.data (), body.size ()));
  return line;
}

struct Parsed
{
  bool complete = false;
  guint64 version = 0;
};

Parsed
Parse (const std::string &text)
{
  Parsed p;
  size_t nl = text.find ('\n');
  guint64 version = 0, hash = 0;

  if (nl == std::string::npos ||
      sscanf (text.c_str (), "weft draft %" G_GUINT64_FORMAT " %" G_GINT64_MODIFIER "x", &version, &hash) != 2)
    return p;
  p.version = version;
  p.complete = weft_job_fnv1a (kFnvOffset, text.data () + nl + 1, text.size () - nl - 1) == hash;
  return p;
}

// A body of @n_lines lines, the same for the same seed.
std::string
Body (size_t n_lines, guint32 seed)
{
  std::string s;
  GRand *rand = g_rand_new_with_seed (seed);
  for (size_t i = 0; i < n_lines; i++)
    s += "line " + std::to_string (g_rand_int (rand)) + " of a document being typed, with ünïcode\n";
  g_rand_free (rand);
  return s;
}


// The document being typed: a mirror edited as the editor edits it, whose
// snapshot each SAVE writes.
class Document
{
public:
  explicit Document (guint32 seed) : body_ (Body (16000, seed)), rand_ (g_rand_new_with_seed (seed))
  {
    std::string text = HeaderFor (0, body_) + body_;
    header_chars_ = g_utf8_strlen (text.c_str (), text.find ('\n') + 1);
    mirror_ = weft_text_new_from_utf8 (text.data (), text.size ());
  }
  ~Document ()
  {
    weft_text_free (mirror_);
    g_rand_free (rand_);
  }

  // Types a line somewhere and stamps the text as @version.
  void NextVersion (guint64 version)
  {
    size_t nl = body_.find ('\n', g_rand_int_range (rand_, 0, (gint32) body_.size ()));
    size_t at = nl == std::string::npos ? body_.size () : nl + 1;
    std::string line = "typed in version " + std::to_string (version) + "\n";
    weft_text_insert (mirror_, header_chars_ + g_utf8_strlen (body_.c_str (), at), line.data (), line.size ());
    body_.insert (at, line);

    std::string header = HeaderFor (version, body_);
    weft_text_delete (mirror_, 0, header_chars_);
    weft_text_insert (mirror_, 0, header.data (), header.size ());
    header_chars_ = g_utf8_strlen (header.c_str (), -1);
  }

  WeftSnapshot *Snapshot () { return weft_text_snapshot (mirror_); }

private:
  std::string body_;
  GRand *rand_;
  WeftText *mirror_ = nullptr;
  size_t header_chars_ = 0;
};

struct Outcome
{
  bool done = false;
  GError *error = nullptr;
};

void
OnSaved (const WeftJobResult *result, gpointer data)
{
  auto *outcome = static_cast<Outcome *> (data);
  outcome->done = true;
  outcome->error = result->error != nullptr ? g_error_copy (result->error) : nullptr;
}

guint64
SubmitSave (WeftBackend *backend, Document &doc, const std::string &path, Outcome *outcome)
{
  g_autoptr (WeftSnapshot) snap = doc.Snapshot ();
  g_autoptr (WeftJobInput) input = weft_job_input_new_snapshot (snap);
  g_autoptr (GBytes) options = weft_job_save_options (path.c_str (), 0600);
  WeftJobSpec spec = { WEFT_JOB_SAVE, input, options, 0, nullptr };
  return weft_backend_submit (backend, &spec, OnSaved, outcome);
}

WeftBackend *
MakeBackend (const std::string &kind, GMainContext *ctx)
{
  if (kind == "threads")
    return weft_thread_backend_new (1, ctx);
  g_autoptr (GError) error = nullptr;
  WeftBackend *backend = weft_process_backend_new (1, g_getenv ("WEFT_WORKER_PATH"), ctx, &error);
  if (backend == nullptr)
    g_error ("%s", error->message);
  return backend;
}

void
ShutdownBackend (WeftBackend *backend, GMainContext *ctx)
{
  bool closed = false;
  weft_backend_shutdown (backend, WEFT_SHUTDOWN_CANCEL, [] (gpointer d) { *static_cast<bool *> (d) = true; },
                         &closed);
  while (!closed)
    g_main_context_iteration (ctx, TRUE);
}

// The writer process: autosaves version after version as the editor does,
// telling its parent on stdout when it starts ("S n") and ends ("D n") each.
int
RunWriter (const char *kind, const char *path, guint64 first)
{
  GMainContext *ctx = g_main_context_default ();
  WeftBackend *backend = MakeBackend (kind, ctx);
  Document doc ((guint32) first);

  for (guint64 version = first;; version++)
    {
      Outcome outcome;
      doc.NextVersion (version);
      printf ("S %" G_GUINT64_FORMAT "\n", version);
      fflush (stdout);
      SubmitSave (backend, doc, path, &outcome);
      while (!outcome.done)
        g_main_context_iteration (ctx, TRUE);
      if (outcome.error != nullptr)
        {
          fprintf (stderr, "writer: %s\n", outcome.error->message);
          return 3;
        }
      printf ("D %" G_GUINT64_FORMAT "\n", version);
      fflush (stdout);
    }
}

int
Cycles ()
{
  const char *env = g_getenv ("WEFT_CRASH_CYCLES");
  return env != nullptr ? atoi (env) : 20;
}

std::vector<std::string>
Listing (const std::string &dir)
{
  std::vector<std::string> names;
  g_autoptr (GDir) d = g_dir_open (dir.c_str (), 0, nullptr);
  for (const char *name; d != nullptr && (name = g_dir_read_name (d)) != nullptr;)
    names.push_back (name);
  std::sort (names.begin (), names.end ());
  return names;
}

class DraftCrash : public ::testing::Test
{
protected:
  void SetUp () override
  {
    char *dir = g_dir_make_tmp ("weft-crash-XXXXXX", nullptr);
    ASSERT_NE (dir, nullptr);
    dir_ = dir;
    g_free (dir);
    draft_ = dir_ + "/crash-test.draft";
    // Random kill moments, reproducible from the seed the log shows.
    guint32 seed = g_random_int ();
    RecordProperty ("seed", std::to_string (seed));
    rand_ = g_rand_new_with_seed (seed);
  }

  void TearDown () override
  {
    g_rand_free (rand_);
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir_.c_str ());
    EXPECT_EQ (system (cmd), 0);
  }

  // What a restart finds: the session code's entry for the draft, read as
  // a document load reads it. Also removes what killed writers left.
  std::string Restore ()
  {
    WeftSession *session = weft_session_new (dir_.c_str ());
    gboolean clean = TRUE;
    GPtrArray *entries = weft_session_read_previous (session, &clean);
    std::string text = "<no entry>";

    for (guint i = 0; i < entries->len; i++)
      {
        auto *entry = static_cast<WeftSessionEntry *> (g_ptr_array_index (entries, i));
        if (g_strcmp0 (entry->id, "crash-test") != 0 || entry->draft == nullptr)
          continue;
        g_autofree char *path = g_file_get_path (entry->draft);
        g_autofree char *data = nullptr;
        size_t len = 0;
        g_autoptr (GError) error = nullptr;
        text = weft_file_read_utf8 (path, &data, &len, &error) ? std::string (data, len)
                                                                : std::string ("<unreadable: ") + error->message + ">";
      }
    EXPECT_FALSE (clean) << "a draft is left: the last run did not end cleanly";
    g_ptr_array_unref (entries);
    g_object_unref (session);
    return text;
  }

  std::string dir_;
  std::string draft_;
  GRand *rand_ = nullptr;
};

// Worker processes killed during SAVE jobs: the backend retries on a new
// worker, and the draft is always one whole version.
TEST_F (DraftCrash, KillingWorkerProcessesMidSaveLeavesEveryDraftWhole)
{
  GMainContext *ctx = g_main_context_new ();
  WeftBackend *backend = MakeBackend ("processes", ctx);
  Document doc (1);
  int cycles = Cycles (), killed = 0;

  for (int cycle = 1; cycle <= cycles; cycle++)
    {
      SCOPED_TRACE ("cycle " + std::to_string (cycle));
      Outcome outcome;
      doc.NextVersion ((guint64) cycle);
      SubmitSave (backend, doc, draft_, &outcome);

      // Somewhere in the first 40 ms: before the worker has the job, while
      // it writes, or after it answered.
      gint64 kill_at = g_get_monotonic_time () + g_rand_int_range (rand_, 0, 40000);
      while (!outcome.done && g_get_monotonic_time () < kill_at)
        g_main_context_iteration (ctx, FALSE);
      // Every child is listed before any is killed: a worker spawned to
      // retry the job after the kill must not be killed too, or the job
      // loses two workers and fails by design.
      std::vector<pid_t> children;
      g_autoptr (GDir) tasks = g_dir_open ("/proc/self/task", 0, nullptr);
      for (const char *tid; tasks != nullptr && (tid = g_dir_read_name (tasks)) != nullptr;)
        {
          g_autofree char *path = g_strdup_printf ("/proc/self/task/%s/children", tid);
          g_autofree char *pids = nullptr;
          if (!g_file_get_contents (path, &pids, nullptr, nullptr))
            continue;
          for (char *p = pids; *p != '\0';)
            {
              char *end = nullptr;
              long pid = strtol (p, &end, 10);
              if (end == p)
                break;
              if (pid > 0)
                children.push_back ((pid_t) pid);
              p = end;
            }
        }
      for (pid_t pid : children)
        if (kill (pid, SIGKILL) == 0)
          killed++;
      // SIGKILL takes effect a moment later. Until a killed worker has
      // exited, its socket still looks open, and the next cycle's job could
      // be sent to it: that job would then lose this worker and the next.
      auto exited = [] (pid_t pid) {
        char state = weft_test_proc_state (pid);
        return state == 0 || state == 'Z' || state == 'X';
      };
      gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
      for (pid_t pid : children)
        while (!exited (pid))
          {
            ASSERT_LT (g_get_monotonic_time (), deadline) << "killed worker " << pid << " never exited";
            g_main_context_iteration (ctx, FALSE);
          }
      while (!outcome.done)
        g_main_context_iteration (ctx, TRUE);

      std::string now = ReadAll (draft_);
      Parsed parsed = Parse (now);
      ASSERT_TRUE (parsed.complete) << "torn draft";
      // One crash is retried on a fresh worker, so each save lands.
      ASSERT_EQ (outcome.error, nullptr) << outcome.error->message;
      EXPECT_EQ (parsed.version, (guint64) cycle);
      EXPECT_EQ (Listing (dir_), std::vector<std::string> { "crash-test.draft" });
    }
  EXPECT_GT (killed, 0);
  RecordProperty ("workers_killed", killed);

  WeftBackendStats stats;
  weft_backend_get_stats (backend, &stats);
  EXPECT_EQ (stats.completed, (guint64) cycles);
  EXPECT_EQ (stats.failed, 0u);
  ShutdownBackend (backend, ctx);
  g_main_context_unref (ctx);
}

// The whole writing process killed at random moments, on either backend:
// the draft on disk is a whole version, no older than the last one the
// writer saw saved, and a restart's session code brings back exactly it.
TEST_F (DraftCrash, KillingTheWriterProcessAtRandomLeavesTheNewestWholeDraftToRestore)
{
  guint64 last_started = 0, last_done = 0;
  int cycles = Cycles (), mid_save = 0;

  // Where a kill lands is chance: the cycles go on (three times as many at
  // most) until one has landed while a save was under way.
  for (int cycle = 1; cycle <= cycles || (mid_save == 0 && cycle <= 3 * cycles); cycle++)
    {
      SCOPED_TRACE ("cycle " + std::to_string (cycle));
      const char *kind = cycle % 2 == 0 ? "processes" : "threads";
      std::string first = std::to_string (last_started + 1);
      const char *argv[] = { self_exe, "--writer", kind, draft_.c_str (), first.c_str (), nullptr };
      GPid pid = 0;
      int out_fd = -1;
      g_autoptr (GError) error = nullptr;
      ASSERT_TRUE (g_spawn_async_with_pipes (nullptr, const_cast<char **> (argv), nullptr, G_SPAWN_DO_NOT_REAP_CHILD,
                                             nullptr, nullptr, &pid, nullptr, &out_fd, nullptr, &error))
          << error->message;

      // Read what it reports until the moment comes: up to 300 ms after its
      // first save started, or, every other pair of cycles, after its first
      // save ended. A slow machine (sanitizers, other tests beside) may take
      // longer than that for a save: waiting for one to end first makes sure
      // some kills land while a later save is under way.
      const char *trigger = cycle % 4 < 2 ? "S " : "D ";
      std::string report;
      gint64 kill_at = -1;
      auto read_some = [&] (int timeout_ms) {
        struct pollfd pfd = { out_fd, POLLIN, 0 };
        char buf[4096];
        if (poll (&pfd, 1, timeout_ms) > 0)
          {
            ssize_t n = read (out_fd, buf, sizeof buf);
            if (n > 0)
              report.append (buf, (size_t) n);
            return n > 0;
          }
        return true;
      };
      gint64 give_up = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
      while (kill_at < 0 || g_get_monotonic_time () < kill_at)
        {
          ASSERT_TRUE (read_some (1)) << "the writer ended by itself: " << report;
          ASSERT_LT (g_get_monotonic_time (), give_up) << "the writer never started a save";
          if (kill_at < 0 && report.find (trigger) != std::string::npos)
            kill_at = g_get_monotonic_time () + g_rand_int_range (rand_, 0, 300000);
        }
      ASSERT_EQ (kill (pid, SIGKILL), 0);
      int status = 0;
      ASSERT_EQ (waitpid (pid, &status, 0), pid);
      g_spawn_close_pid (pid);
      // The rest of its report. Its worker processes share the pipe and
      // exit once they see their parent gone.
      for (;;)
        {
          struct pollfd pfd = { out_fd, POLLIN, 0 };
          char buf[4096];
          if (poll (&pfd, 1, 5000) <= 0)
            break;
          ssize_t n = read (out_fd, buf, sizeof buf);
          if (n <= 0)
            break;
          report.append (buf, (size_t) n);
        }
      close (out_fd);
      ASSERT_TRUE (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL) << report;

      for (size_t pos = 0; pos < report.size ();)
        {
          size_t nl = report.find ('\n', pos);
          if (nl == std::string::npos)
            break;
          guint64 v = g_ascii_strtoull (report.c_str () + pos + 2, nullptr, 10);
          if (report[pos] == 'S')
            last_started = v;
          else if (report[pos] == 'D')
            last_done = v;
          pos = nl + 1;
        }

      std::string now = ReadAll (draft_);
      if (now == "<missing>")
        {
          // Only before the very first save completed.
          EXPECT_EQ (last_done, 0u);
          continue;
        }
      Parsed parsed = Parse (now);
      ASSERT_TRUE (parsed.complete) << "torn draft, " << now.size () << " bytes";
      EXPECT_GE (parsed.version, last_done) << "a save the writer saw done was lost";
      EXPECT_LE (parsed.version, last_started);
      mid_save += parsed.version < last_started;

      // Restart: the session code finds this very draft and nothing else.
      EXPECT_TRUE (Restore () == now) << "the restored draft is not the newest whole one";
      EXPECT_EQ (Listing (dir_), std::vector<std::string> { "crash-test.draft" });
    }
  // Some kills must have landed while a save was under way, or the test
  // proved little.
  EXPECT_GT (mid_save, 0);
  RecordProperty ("killed_mid_save", mid_save);
}

}  // namespace

int
main (int argc, char **argv)
{
  self_exe = argv[0];
  if (argc == 5 && g_str_equal (argv[1], "--writer"))
    return RunWriter (argv[2], argv[3], g_ascii_strtoull (argv[4], nullptr, 10));
  ::testing::InitGoogleTest (&argc, argv);
  return RUN_ALL_TESTS ();
}
