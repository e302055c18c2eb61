// test-backend.cc: the conformance suite every WeftBackend passes, plus what only worker processes promise.
#include <gtest/gtest.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

extern "C" {
#include "weft-backend.h"
#include "weft-ipc.h"
#include "weft-parallel.h"
#include "weft-text.h"
}

#include "weft-gated-backend.h"
#include "weft-test-files.h"
#include "weft-test-wait.h"
#include "weft-worker-pids.h"

extern char **environ;

namespace {

// The bench job's hash, written out independently of weft-job.c.
guint64
Fnv1a (guint64 h, const guint8 *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      h ^= p[i];
      h *= 0x100000001b3ULL;
    }
  return h;
}

guint64
ExpectedBench (const std::string &input, guint32 rounds)
{
  guint64 h = 0xcbf29ce484222325ULL;

  for (guint32 r = 0; r < std::max<guint32> (rounds, 1); r++)
    h = Fnv1a (h, reinterpret_cast<const guint8 *> (input.data ()), input.size ());
  return h;
}

std::string
Pattern (size_t n, guint32 seed)
{
  std::string s (n, '\0');
  guint32 x = seed * 2654435761u + 1;

  for (size_t i = 0; i < n; i++)
    {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      s[i] = static_cast<char> (x);
    }
  return s;
}

const char *
WorkerPath ()
{
  const char *path = g_getenv ("WEFT_WORKER_PATH");
  return path != nullptr ? path : "weft-worker";
}

struct Delivery
{
  guint64 job_id = 0;
  guint64 owner = 0;
  bool on_main_thread = false;
  bool ok = false;
  int error_code = -1;
  std::string error_message;
  std::string output;
  WeftJobStats stats{};
};

class BackendTest : public ::testing::Test
{
public:
  size_t NDelivered () const { return calls_.size (); }

protected:
  void SetUp () override
  {
    ctx_ = g_main_context_new ();
    main_thread_ = pthread_self ();
  }

  void TearDown () override
  {
    // Shutdown() edits open_, so walk a copy.
    std::vector<WeftBackend *> still_open = open_;
    for (auto *backend : still_open)
      Shutdown (backend, WEFT_SHUTDOWN_CANCEL);
    while (g_main_context_iteration (ctx_, FALSE))
      ;
    g_main_context_unref (ctx_);
  }

  WeftBackend *Make (const std::string &kind, guint n_workers)
  {
    WeftBackend *backend;

    if (kind == "threads")
      backend = weft_thread_backend_new (n_workers, ctx_);
    else
      {
        GError *error = nullptr;

        backend = weft_process_backend_new (n_workers, WorkerPath (), ctx_, &error);
        EXPECT_EQ (error, nullptr) << (error ? error->message : "");
        g_clear_error (&error);
      }
    if (backend != nullptr)
      open_.push_back (backend);
    return backend;
  }

  // Iterates the context until @cond holds; a generous deadline only guards
  // against hanging the whole run.
  bool WaitFor (const std::function<bool ()> &cond, int timeout_s = 120)
  {
    return WeftTestWaitFor (ctx_, cond, timeout_s);
  }

  void Shutdown (WeftBackend *backend, WeftShutdownMode mode)
  {
    bool closed = false;

    open_.erase (std::remove (open_.begin (), open_.end (), backend), open_.end ());
    weft_backend_shutdown (backend, mode, [] (gpointer data) { *static_cast<bool *> (data) = true; }, &closed);
    ASSERT_TRUE (WaitFor ([&] { return closed; }));
  }

  static void OnDone (const WeftJobResult *result, gpointer user_data)
  {
    auto *self = static_cast<BackendTest *> (user_data);
    Delivery d;

    d.job_id = result->job_id;
    d.owner = result->owner;
    d.on_main_thread = pthread_equal (pthread_self (), self->main_thread_);
    d.ok = result->error == nullptr;
    if (result->error != nullptr)
      {
        d.error_code = result->error->domain == WEFT_ERROR ? result->error->code : -2;
        d.error_message = result->error->message;
      }
    if (result->output != nullptr)
      {
        gsize n;
        const char *p = static_cast<const char *> (g_bytes_get_data (result->output, &n));
        d.output.assign (p != nullptr ? p : "", n);
      }
    d.stats = *result->stats;
    self->calls_[result->job_id]++;
    self->order_.push_back (result->job_id);
    self->deliveries_[result->job_id] = d;
  }

  guint64 Submit (WeftBackend *backend, WeftJobKind kind, const std::string &input,
                  GBytes *options = nullptr, guint64 owner = 0)
  {
    GBytes *bytes = g_bytes_new (input.data (), input.size ());
    WeftJobInput *in = weft_job_input_new_bytes (bytes);
    WeftJobSpec spec = { kind, in, options, owner, NULL };
    guint64 id = weft_backend_submit (backend, &spec, OnDone, this);

    weft_job_input_unref (in);
    g_bytes_unref (bytes);
    return id;
  }

  guint64 SubmitBench (WeftBackend *backend, const std::string &input, guint32 rounds = 1,
                       guint64 owner = 0)
  {
    GBytes *options = weft_job_bench_options (rounds);
    guint64 id = Submit (backend, WEFT_JOB_BENCH, input, options, owner);

    g_bytes_unref (options);
    return id;
  }

  // A job that runs for a minute or more unless cancelled (cancellation is
  // checked every 64 KiB).
  guint64 SubmitLong (WeftBackend *backend, guint64 owner = 0)
  {
    return SubmitBench (backend, std::string (64 * 1024, 'x'), 1000000, owner);
  }

  static guint64 Hash (const Delivery &d)
  {
    guint64 h = 0;

    EXPECT_EQ (d.output.size (), sizeof h);
    if (d.output.size () == sizeof h)
      memcpy (&h, d.output.data (), sizeof h);
    return GUINT64_FROM_LE (h);
  }

  bool Delivered (guint64 id) const { return calls_.count (id) > 0; }

  void ExpectEachOnce (const std::vector<guint64> &ids)
  {
    for (guint64 id : ids)
      EXPECT_EQ (calls_.count (id) ? calls_.at (id) : 0, 1) << "job " << id;
    EXPECT_EQ (calls_.size (), ids.size ());
  }

  void WaitRunning (WeftBackend *backend, guint n)
  {
    ASSERT_TRUE (WaitFor ([&] {
      WeftBackendStats stats;
      weft_backend_get_stats (backend, &stats);
      return stats.n_running >= n;
    }));
  }

  GMainContext *ctx_ = nullptr;
  pthread_t main_thread_;
  std::vector<WeftBackend *> open_;
  std::map<guint64, int> calls_;
  std::vector<guint64> order_;
  std::map<guint64, Delivery> deliveries_;
};

class Conformance : public BackendTest, public ::testing::WithParamInterface<const char *>
{
protected:
  WeftBackend *Make (guint n_workers) { return BackendTest::Make (GetParam (), n_workers); }
  std::string Other () const { return std::string (GetParam ()) == "threads" ? "processes" : "threads"; }
};

TEST_P (Conformance, ReportsItsName)
{
  WeftBackend *backend = Make (1);

  ASSERT_NE (backend, nullptr);
  EXPECT_STREQ (weft_backend_get_name (backend), GetParam ());
}

TEST_P (Conformance, DeliversResultsOnTheMainContextThread)
{
  WeftBackend *backend = Make (2);
  std::string input = Pattern (1000, 1);
  guint64 id = SubmitBench (backend, input, 3);

  EXPECT_NE (id, 0u);
  ASSERT_TRUE (WaitFor ([&] { return Delivered (id); }));
  const Delivery &d = deliveries_[id];
  EXPECT_TRUE (d.on_main_thread);
  ASSERT_TRUE (d.ok) << d.error_message;
  EXPECT_EQ (Hash (d), ExpectedBench (input, 3));
  EXPECT_EQ (d.stats.attempts, 1u);
  EXPECT_EQ (d.stats.crashes, 0u);
}

TEST_P (Conformance, EchoReturnsTheInputAndEmptyInputsWork)
{
  WeftBackend *backend = Make (2);
  std::string input = Pattern (5000, 2);
  guint64 echo = Submit (backend, WEFT_JOB_ECHO, input);
  guint64 empty = Submit (backend, WEFT_JOB_ECHO, "");
  guint64 empty_bench = SubmitBench (backend, "");

  ASSERT_TRUE (WaitFor ([&] { return NDelivered () == 3; }));
  EXPECT_EQ (deliveries_[echo].output, input);
  EXPECT_TRUE (deliveries_[empty].ok);
  EXPECT_EQ (deliveries_[empty].output, "");
  EXPECT_EQ (Hash (deliveries_[empty_bench]), ExpectedBench ("", 1));
}

TEST_P (Conformance, ResultsUpToTheInlineLimitComeBackWhole)
{
  WeftBackend *backend = Make (1);
  std::string input = Pattern (WEFT_IPC_MAX_OUTPUT, 3);
  guint64 id = Submit (backend, WEFT_JOB_ECHO, input);

  ASSERT_TRUE (WaitFor ([&] { return Delivered (id); }));
  ASSERT_TRUE (deliveries_[id].ok) << deliveries_[id].error_message;
  EXPECT_EQ (deliveries_[id].output, input);
}

TEST_P (Conformance, BenchWithZeroRoundsTouchesOneBytePerPage)
{
  WeftBackend *backend = Make (1);
  std::string input = Pattern (3 * WEFT_JOB_BENCH_PAGE + 5, 9);
  std::string touched;
  guint64 id = SubmitBench (backend, input, 0);

  for (size_t off = 0; off < input.size (); off += WEFT_JOB_BENCH_PAGE)
    touched += input[off];
  ASSERT_TRUE (WaitFor ([&] { return Delivered (id); }));
  ASSERT_TRUE (deliveries_[id].ok) << deliveries_[id].error_message;
  EXPECT_EQ (Hash (deliveries_[id]), ExpectedBench (touched, 1));
}

TEST_P (Conformance, OneWorkerRunsJobsInSubmissionOrder)
{
  WeftBackend *backend = Make (1);
  std::vector<guint64> ids;

  for (int i = 0; i < 300; i++)
    ids.push_back (SubmitBench (backend, Pattern (i, i)));
  ASSERT_TRUE (WaitFor ([&] { return NDelivered () == ids.size (); }));
  EXPECT_EQ (order_, ids);
}

TEST_P (Conformance, TenThousandSmallJobsEachReportOnceAndCorrectly)
{
  WeftBackend *backend = Make (0);
  std::vector<guint64> ids;
  std::map<guint64, std::string> inputs;

  for (int i = 0; i < 10000; i++)
    {
      std::string input = Pattern (16 + i % 64, i);
      guint64 id = SubmitBench (backend, input);
      ids.push_back (id);
      inputs[id] = input;
    }
  ASSERT_TRUE (WaitFor ([&] { return NDelivered () == ids.size (); }));
  ExpectEachOnce (ids);
  for (guint64 id : ids)
    {
      const Delivery &d = deliveries_[id];
      ASSERT_TRUE (d.ok) << d.error_message;
      ASSERT_TRUE (d.on_main_thread);
      ASSERT_EQ (Hash (d), ExpectedBench (inputs[id], 1));
    }

  WeftBackendStats stats;
  weft_backend_get_stats (backend, &stats);
  EXPECT_EQ (stats.submitted, 10000u);
  EXPECT_EQ (stats.completed, 10000u);
  EXPECT_EQ (stats.failed, 0u);
  EXPECT_EQ (stats.n_workers, weft_backend_default_workers ());
}

TEST_P (Conformance, HundredMegabytePayloadHashesCorrectly)
{
  WeftBackend *backend = Make (2);
  std::string input = Pattern (100 * 1024 * 1024, 7);
  guint64 id = SubmitBench (backend, input);

  ASSERT_TRUE (WaitFor ([&] { return Delivered (id); }));
  ASSERT_TRUE (deliveries_[id].ok) << deliveries_[id].error_message;
  EXPECT_EQ (Hash (deliveries_[id]), ExpectedBench (input, 1));
}

// Large inputs go to worker processes in several memfds, mapped end to
// end, and a worker keeps its last input mapped for the next job. Inputs of
// one length but other bytes, in turn, and one input shared by several
// jobs (as a sort's phases share its text), each hash their own bytes.
TEST_P (Conformance, InputsSharedOrOfTheSameLengthEachReadTheirOwnBytes)
{
  WeftBackend *backend = Make (1);
  // Not a multiple of the page size, and over the size that is cut.
  const size_t len = 9 * 1024 * 1024 + 4321;
  std::string a = Pattern (len, 21), b = Pattern (len, 22);
  std::vector<std::pair<guint64, const std::string *>> jobs;

  for (const std::string *text : { &a, &b, &a, &a, &b })
    jobs.emplace_back (SubmitBench (backend, *text), text);
  GBytes *bytes = g_bytes_new (b.data (), b.size ());
  WeftJobInput *shared = weft_job_input_new_bytes (bytes);
  GBytes *options = weft_job_bench_options (1);
  for (int i = 0; i < 3; i++)
    {
      WeftJobSpec spec = { WEFT_JOB_BENCH, shared, options, 0, NULL };
      jobs.emplace_back (weft_backend_submit (backend, &spec, OnDone, this), &b);
    }
  g_bytes_unref (options);
  weft_job_input_unref (shared);
  g_bytes_unref (bytes);

  ASSERT_TRUE (WaitFor ([&] { return NDelivered () == jobs.size (); }));
  for (auto &[id, text] : jobs)
    {
      ASSERT_TRUE (deliveries_[id].ok) << deliveries_[id].error_message;
      EXPECT_EQ (Hash (deliveries_[id]), ExpectedBench (*text, 1)) << "job " << id;
    }
}

TEST_P (Conformance, BadOptionsFailWithAnError)
{
  WeftBackend *backend = Make (1);
  GBytes *options = g_bytes_new ("xy", 2);
  guint64 id = Submit (backend, WEFT_JOB_BENCH, "abc", options);

  g_bytes_unref (options);
  ASSERT_TRUE (WaitFor ([&] { return Delivered (id); }));
  EXPECT_FALSE (deliveries_[id].ok);
  EXPECT_EQ (deliveries_[id].error_code, WEFT_ERROR_FAILED);

  WeftBackendStats stats;
  weft_backend_get_stats (backend, &stats);
  EXPECT_EQ (stats.failed, 1u);
}

TEST_P (Conformance, CancelledQueuedJobNeverRunsAndRunningJobStopsPromptly)
{
  WeftBackend *backend = Make (1);
  guint64 running = SubmitLong (backend);
  guint64 queued = SubmitBench (backend, "never");

  WaitRunning (backend, 1);
  EXPECT_TRUE (weft_backend_cancel (backend, queued));
  ASSERT_TRUE (WaitFor ([&] { return Delivered (queued); }));
  EXPECT_EQ (deliveries_[queued].error_code, WEFT_ERROR_CANCELLED);
  EXPECT_EQ (deliveries_[queued].stats.attempts, 0u);
  EXPECT_FALSE (Delivered (running));

  gint64 start = g_get_monotonic_time ();
  EXPECT_TRUE (weft_backend_cancel (backend, running));
  ASSERT_TRUE (WaitFor ([&] { return Delivered (running); }));
  EXPECT_LT (g_get_monotonic_time () - start, 5 * G_USEC_PER_SEC);
  EXPECT_EQ (deliveries_[running].error_code, WEFT_ERROR_CANCELLED);
  EXPECT_EQ (deliveries_[running].stats.attempts, 1u);

  // Finished or unknown jobs cannot be cancelled.
  EXPECT_FALSE (weft_backend_cancel (backend, running));
  EXPECT_FALSE (weft_backend_cancel (backend, 999999));

  // The worker is free again.
  guint64 after = SubmitBench (backend, "after");
  ASSERT_TRUE (WaitFor ([&] { return Delivered (after); }));
  EXPECT_EQ (Hash (deliveries_[after]), ExpectedBench ("after", 1));
  ExpectEachOnce ({ running, queued, after });
}

TEST_P (Conformance, CancelOwnerCancelsOnlyThatOwnersJobs)
{
  WeftBackend *backend = Make (1);
  std::vector<guint64> ids, doc2, doc3;
  guint64 long_job = SubmitLong (backend, 1);

  ids.push_back (long_job);
  for (int i = 0; i < 20; i++)
    {
      doc2.push_back (SubmitBench (backend, Pattern (100, i), 1, 2));
      doc3.push_back (SubmitBench (backend, Pattern (100, i), 1, 3));
    }
  ids.insert (ids.end (), doc2.begin (), doc2.end ());
  ids.insert (ids.end (), doc3.begin (), doc3.end ());

  WaitRunning (backend, 1);
  EXPECT_EQ (weft_backend_cancel_owner (backend, 2), 20u);
  EXPECT_EQ (weft_backend_cancel_owner (backend, 1), 1u);
  EXPECT_EQ (weft_backend_cancel_owner (backend, 42), 0u);

  ASSERT_TRUE (WaitFor ([&] { return NDelivered () == ids.size (); }));
  ExpectEachOnce (ids);
  EXPECT_EQ (deliveries_[long_job].error_code, WEFT_ERROR_CANCELLED);
  for (guint64 id : doc2)
    EXPECT_EQ (deliveries_[id].error_code, WEFT_ERROR_CANCELLED);
  for (size_t i = 0; i < doc3.size (); i++)
    {
      EXPECT_TRUE (deliveries_[doc3[i]].ok);
      EXPECT_EQ (deliveries_[doc3[i]].owner, 3u);
      EXPECT_EQ (Hash (deliveries_[doc3[i]]), ExpectedBench (Pattern (100, i), 1));
    }
}

TEST_P (Conformance, ShutdownCancelReportsEveryJobInFlightAsCancelled)
{
  WeftBackend *backend = Make (2);
  std::vector<guint64> ids;

  ids.push_back (SubmitLong (backend));
  ids.push_back (SubmitLong (backend));
  for (int i = 0; i < 50; i++)
    ids.push_back (SubmitBench (backend, Pattern (1000, i)));
  WaitRunning (backend, 2);

  gint64 start = g_get_monotonic_time ();
  Shutdown (backend, WEFT_SHUTDOWN_CANCEL);
  EXPECT_LT (g_get_monotonic_time () - start, 10 * G_USEC_PER_SEC);
  ExpectEachOnce (ids);
  EXPECT_EQ (deliveries_[ids[0]].error_code, WEFT_ERROR_CANCELLED);
  EXPECT_EQ (deliveries_[ids[1]].error_code, WEFT_ERROR_CANCELLED);
  for (guint64 id : ids)
    EXPECT_TRUE (deliveries_[id].ok || deliveries_[id].error_code == WEFT_ERROR_CANCELLED);
}

TEST_P (Conformance, ShutdownDrainFinishesEveryJobBeforeClosing)
{
  WeftBackend *backend = Make (2);
  std::vector<guint64> ids;
  size_t delivered_when_closed = 0;
  bool closed = false;

  for (int i = 0; i < 200; i++)
    ids.push_back (SubmitBench (backend, Pattern (10000, i), 2));

  open_.clear ();
  struct Closing { bool *closed; size_t *n; BackendTest *test; } closing = { &closed, &delivered_when_closed, this };
  weft_backend_shutdown (backend, WEFT_SHUTDOWN_DRAIN, [] (gpointer data) {
      auto *c = static_cast<Closing *> (data);
      *c->closed = true;
      *c->n = c->test->NDelivered ();
    }, &closing);
  ASSERT_TRUE (WaitFor ([&] { return closed; }));
  EXPECT_EQ (delivered_when_closed, ids.size ());
  ExpectEachOnce (ids);
  for (size_t i = 0; i < ids.size (); i++)
    {
      ASSERT_TRUE (deliveries_[ids[i]].ok) << deliveries_[ids[i]].error_message;
      EXPECT_EQ (Hash (deliveries_[ids[i]]), ExpectedBench (Pattern (10000, i), 2));
    }
}

TEST_P (Conformance, SwitchingBackendsMidFlightLosesAndRepeatsNothing)
{
  WeftBackend *old_backend = Make (2);
  std::map<guint64, std::string> inputs;
  std::vector<guint64> ids;

  for (int i = 0; i < 200; i++)
    {
      std::string input = Pattern (20000, i);
      guint64 id = SubmitBench (old_backend, input, 2);
      ids.push_back (id);
      inputs[id] = input;
    }
  ASSERT_TRUE (WaitFor ([&] { return NDelivered () >= 20; }));

  // Job ids are per backend, so results are told apart by the backend's
  // callback data here: a second map keyed by the new backend's ids.
  WeftBackend *new_backend = BackendTest::Make (Other (), 2);
  ASSERT_NE (new_backend, nullptr);
  bool closed = false;
  open_.erase (std::remove (open_.begin (), open_.end (), old_backend), open_.end ());
  weft_backend_shutdown (old_backend, WEFT_SHUTDOWN_DRAIN,
                         [] (gpointer data) { *static_cast<bool *> (data) = true; }, &closed);

  struct NewSide { std::map<guint64, int> calls; std::map<guint64, guint64> hashes; } side;
  std::map<guint64, std::string> new_inputs;
  for (int i = 0; i < 200; i++)
    {
      std::string input = Pattern (20000, 1000 + i);
      GBytes *bytes = g_bytes_new (input.data (), input.size ());
      WeftJobInput *in = weft_job_input_new_bytes (bytes);
      GBytes *options = weft_job_bench_options (2);
      WeftJobSpec spec = { WEFT_JOB_BENCH, in, options, 0, NULL };
      guint64 id = weft_backend_submit (new_backend, &spec, [] (const WeftJobResult *r, gpointer data) {
          auto *s = static_cast<NewSide *> (data);
          guint64 h = 0;
          s->calls[r->job_id]++;
          if (r->output != nullptr && g_bytes_get_size (r->output) == sizeof h)
            memcpy (&h, g_bytes_get_data (r->output, nullptr), sizeof h);
          s->hashes[r->job_id] = GUINT64_FROM_LE (h);
        }, &side);
      new_inputs[id] = input;
      g_bytes_unref (options);
      weft_job_input_unref (in);
      g_bytes_unref (bytes);
    }

  ASSERT_TRUE (WaitFor ([&] { return closed && side.calls.size () == 200; }));
  ExpectEachOnce (ids);
  for (guint64 id : ids)
    EXPECT_EQ (Hash (deliveries_[id]), ExpectedBench (inputs[id], 2));
  for (auto &[id, input] : new_inputs)
    {
      EXPECT_EQ (side.calls[id], 1);
      EXPECT_EQ (side.hashes[id], ExpectedBench (input, 2));
    }
}

TEST_P (Conformance, SetWorkersResizesWhileJobsRun)
{
  WeftBackend *backend = Make (1);
  std::vector<guint64> ids;

  for (int i = 0; i < 300; i++)
    ids.push_back (SubmitBench (backend, Pattern (20000, i), 2));
  ASSERT_TRUE (WaitFor ([&] { return NDelivered () >= 10; }));
  weft_backend_set_workers (backend, 4);
  EXPECT_EQ (weft_backend_get_workers (backend), 4u);
  ASSERT_TRUE (WaitFor ([&] { return NDelivered () >= 100; }));
  weft_backend_set_workers (backend, 1);
  EXPECT_EQ (weft_backend_get_workers (backend), 1u);
  ASSERT_TRUE (WaitFor ([&] { return NDelivered () == ids.size (); }));
  ExpectEachOnce (ids);
  for (size_t i = 0; i < ids.size (); i++)
    EXPECT_EQ (Hash (deliveries_[ids[i]]), ExpectedBench (Pattern (20000, i), 2));

  weft_backend_set_workers (backend, 0);
  EXPECT_EQ (weft_backend_get_workers (backend), weft_backend_default_workers ());
}

TEST_P (Conformance, StatsAddUpOverFinishedJobs)
{
  WeftBackend *backend = Make (2);
  std::vector<guint64> ids;

  for (int i = 0; i < 50; i++)
    ids.push_back (SubmitBench (backend, Pattern (100000, i), 3));
  ASSERT_TRUE (WaitFor ([&] { return NDelivered () == ids.size (); }));

  WeftBackendStats stats;
  weft_backend_get_stats (backend, &stats);
  EXPECT_EQ (stats.completed, 50u);
  EXPECT_EQ (stats.n_workers, 2u);
  EXPECT_EQ (stats.n_running, 0u);
  EXPECT_GT (stats.run_us, 0);
  EXPECT_GT (stats.cpu_user_us + stats.cpu_sys_us, 0);
  EXPECT_LE (stats.latency_p50_us, stats.latency_p95_us);
  EXPECT_LE (stats.latency_p95_us, stats.latency_max_us);
  EXPECT_GT (stats.latency_max_us, 0);
  EXPECT_EQ (stats.crashes_survived, 0u);

  gint64 run_sum = 0;
  for (guint64 id : ids)
    run_sum += deliveries_[id].stats.run_us;
  EXPECT_EQ (run_sum, stats.run_us);

  if (std::string (GetParam ()) == "threads")
    {
      EXPECT_EQ (stats.ipc_bytes, 0u);
      EXPECT_EQ (stats.worker_maxrss_kb, 0);
    }
  else
    {
      // Each job's 100 kB input travels in a memfd.
      EXPECT_GE (stats.ipc_bytes, 50u * 100000u);
      EXPECT_GT (stats.worker_maxrss_kb, 0);
    }
}

std::vector<pid_t> WorkerPids ();

// The nice values of the threads of process @pid.
static std::vector<int>
ThreadNiceValues (pid_t pid)
{
  std::vector<int> nices;
  g_autofree char *dir_path = g_strdup_printf ("/proc/%d/task", (int) pid);
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, nullptr);
  const char *tid;

  while (dir != nullptr && (tid = g_dir_read_name (dir)) != nullptr)
    {
      g_autofree char *path = g_strdup_printf ("%s/%s/stat", dir_path, tid);
      g_autofree char *stat = nullptr;
      if (!g_file_get_contents (path, &stat, nullptr, nullptr))
        continue;
      // The fields after the command name: state is the 3rd, nice the 19th.
      g_auto (GStrv) fields = g_strsplit (strrchr (stat, ')') + 2, " ", -1);
      if (g_strv_length (fields) > 16)
        nices.push_back (atoi (fields[16]));
    }
  return nices;
}

TEST_P (Conformance, WorkersRunAtALowerPriorityThanTheEditor)
{
  WeftBackend *backend = Make (1);
  int ours = getpriority (PRIO_PROCESS, 0);
  int theirs = MIN (ours + WEFT_WORKER_NICE, 19);

  ASSERT_GT (theirs, ours) << "already at the lowest priority";
  guint64 id = SubmitLong (backend);
  WaitRunning (backend, 1);

  // A thread of ours serves the job (runs it, or hands it to a process).
  std::vector<int> nices = ThreadNiceValues (getpid ());
  EXPECT_EQ (std::count (nices.begin (), nices.end (), theirs), 1);
  if (std::string (GetParam ()) == "processes")
    {
      // The job may be taken before its worker has started: the worker
      // lowers its own priority first thing, before it greets the editor.
      std::vector<pid_t> pids;
      auto worker_lowered = [&] {
        pids = WorkerPids ();
        if (pids.size () != 1)
          return false;
        std::vector<int> worker_nices = ThreadNiceValues (pids[0]);
        return !worker_nices.empty ()
               && std::count (worker_nices.begin (), worker_nices.end (), theirs) == (long) worker_nices.size ();
      };
      EXPECT_TRUE (WaitFor (worker_lowered));
      ASSERT_EQ (pids.size (), 1u);
      for (int nice : ThreadNiceValues (pids[0]))
        EXPECT_EQ (nice, theirs);
    }
  // The caller's own priority is untouched.
  EXPECT_EQ (getpriority (PRIO_PROCESS, 0), ours);

  EXPECT_TRUE (weft_backend_cancel (backend, id));
  ASSERT_TRUE (WaitFor ([&] { return Delivered (id); }));
}

INSTANTIATE_TEST_SUITE_P (Backends, Conformance,
                          ::testing::Values ("threads", "processes"),
                          [] (const ::testing::TestParamInfo<const char *> &info) {
                            return std::string (info.param);
                          });


// Pids of this process's weft-worker children.
std::vector<pid_t>
WorkerPids ()
{
  pid_t pids[64];
  size_t n = weft_test_worker_pids (pids, G_N_ELEMENTS (pids));

  return std::vector<pid_t> (pids, pids + MIN (n, G_N_ELEMENTS (pids)));
}

// SAVE: a snapshot written through either backend.

// UTF-8 text of exactly @n bytes in lines of varied length, with two-byte
// characters, as a document mirror holds it.
std::string
Text (size_t n, guint32 seed)
{
  std::string s;
  guint32 x = seed * 2654435761u + 7;

  s.reserve (n + 2);
  while (s.size () < n)
    {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      if (x % 61 == 0)
        s += '\n';
      else if (x % 23 == 0 && s.size () + 2 <= n)
        s += "\xc3\xa9";  // é
      else
        s += static_cast<char> ('a' + x % 26);
    }
  return s;
}


void
WriteAll (const std::string &path, const std::string &data, mode_t mode)
{
  ASSERT_TRUE (g_file_set_contents (path.c_str (), data.data (), data.size (), nullptr));
  ASSERT_EQ (chmod (path.c_str (), mode), 0);
}

mode_t
ModeOf (const std::string &path)
{
  struct stat st;

  if (stat (path.c_str (), &st) != 0)
    return static_cast<mode_t> (-1);
  return st.st_mode & 07777;
}

mode_t
CurrentUmask ()
{
  mode_t m = umask (022);
  umask (m);
  return m;
}

class SaveTest : public Conformance
{
protected:
  void SetUp () override
  {
    Conformance::SetUp ();
    dir_ = g_dir_make_tmp ("weft-save-XXXXXX", nullptr);
    ASSERT_NE (dir_, nullptr);
  }

  void TearDown () override
  {
    Conformance::TearDown ();
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir_);
    EXPECT_EQ (system (cmd), 0);
    g_free (dir_);
  }

  std::string Path (const char *name) const
  {
    g_autofree char *p = g_build_filename (dir_, name, nullptr);
    return p;
  }

  // Names in the test directory, sorted: temp files left behind show here.
  std::vector<std::string> Listing () const
  {
    std::vector<std::string> names;
    GDir *dir = g_dir_open (dir_, 0, nullptr);
    const char *name;

    while (dir != nullptr && (name = g_dir_read_name (dir)) != nullptr)
      names.push_back (name);
    if (dir != nullptr)
      g_dir_close (dir);
    std::sort (names.begin (), names.end ());
    return names;
  }

  // Submits a SAVE of @snap to @path; the job holds its own references.
  guint64 SubmitSave (WeftBackend *backend, WeftSnapshot *snap, const std::string &path,
                      guint32 mode = 0666)
  {
    WeftJobInput *in = weft_job_input_new_snapshot (snap);
    GBytes *options = weft_job_save_options (path.c_str (), mode);
    WeftJobSpec spec = { WEFT_JOB_SAVE, in, options, 0, NULL };
    guint64 id = weft_backend_submit (backend, &spec, OnDone, this);

    g_bytes_unref (options);
    weft_job_input_unref (in);
    return id;
  }

  // Builds a text by edits as well as from a string, so that the rope's
  // leaves are not all full, and returns its snapshot.
  WeftSnapshot *Snapshot (const std::string &text)
  {
    size_t half = text.size () / 2;

    // Cut on a char boundary: never inside "é".
    while (half > 0 && (static_cast<guint8> (text[half]) & 0xc0) == 0x80)
      half--;
    WeftText *t = weft_text_new_from_utf8 (text.data (), half);
    weft_text_insert (t, weft_text_get_n_chars (t), text.data () + half, text.size () - half);
    WeftSnapshot *snap = weft_text_snapshot (t);
    weft_text_free (t);
    return snap;
  }

  Delivery Run (WeftBackend *backend, WeftSnapshot *snap, const std::string &path,
                guint32 mode = 0666)
  {
    guint64 id = SubmitSave (backend, snap, path, mode);

    EXPECT_TRUE (WaitFor ([&] { return Delivered (id); }));
    return deliveries_[id];
  }

  char *dir_ = nullptr;
};

TEST_P (SaveTest, SnapshotInputReadsTheTextChunkByChunk)
{
  std::string text = Text (100000, 1);
  WeftSnapshot *snap = Snapshot (text);
  WeftJobInput *in = weft_job_input_new_snapshot (snap);
  std::string copy (text.size (), '\0');
  size_t n_pieces = 0;

  weft_snapshot_unref (snap);  // the input keeps its own reference
  ASSERT_EQ (weft_job_input_get_size (in), text.size ());
  for (size_t off = 0; off < text.size ();)
    {
      size_t len = 0;
      const void *p = weft_job_input_get_chunk (in, off, &len);
      ASSERT_GT (len, 0u);
      ASSERT_LE (off + len, text.size ());
      memcpy (&copy[off], p, len);
      off += len;
      n_pieces++;
    }
  EXPECT_EQ (copy, text);
  EXPECT_GT (n_pieces, 1u);
  // Any offset, even inside a character, starts a chunk there.
  size_t len = 0;
  const char *p = static_cast<const char *> (weft_job_input_get_chunk (in, 12345, &len));
  EXPECT_EQ (*p, text[12345]);
  std::string part (300, '\0');
  weft_job_input_copy (in, 4000, &part[0], part.size ());
  EXPECT_EQ (part, text.substr (4000, 300));
  weft_job_input_unref (in);
}

TEST_P (SaveTest, WritesExactBytesAndKeepsAnExistingFilesMode)
{
  WeftBackend *backend = Make (2);
  std::string path = Path ("notes.txt");
  std::string text = Text (300000, 2);
  WeftSnapshot *snap = Snapshot (text);

  WriteAll (path, "old contents\n", 0640);
  Delivery d = Run (backend, snap, path, 0600);
  weft_snapshot_unref (snap);

  ASSERT_TRUE (d.ok) << d.error_message;
  EXPECT_EQ (d.output, "");
  EXPECT_EQ (ReadAll (path), text);
  EXPECT_EQ (ModeOf (path), 0640u);
  EXPECT_EQ (Listing (), std::vector<std::string> { "notes.txt" });
}

TEST_P (SaveTest, WritesATwentyMegabyteMultiChunkSnapshot)
{
  WeftBackend *backend = Make (1);
  std::string path = Path ("big.txt");
  std::string text = Text (20 * 1024 * 1024, 3);
  WeftSnapshot *snap = Snapshot (text);

  EXPECT_GT (weft_snapshot_get_n_chunks (snap), 1000u);
  WriteAll (path, Text (1000, 4), 0644);
  Delivery d = Run (backend, snap, path);
  weft_snapshot_unref (snap);

  ASSERT_TRUE (d.ok) << d.error_message;
  EXPECT_TRUE (ReadAll (path) == text);  // not EXPECT_EQ: no 20 MB diff on failure
  EXPECT_EQ (ModeOf (path), 0644u);
  EXPECT_EQ (Listing (), std::vector<std::string> { "big.txt" });
}

TEST_P (SaveTest, NewFilesGetTheRequestedModeAndEmptyTextsWork)
{
  WeftBackend *backend = Make (2);
  std::string text = Text (5000, 5);
  WeftSnapshot *snap = Snapshot (text);
  WeftText *empty_text = weft_text_new ();
  WeftSnapshot *empty = weft_text_snapshot (empty_text);
  mode_t mask = CurrentUmask ();

  guint64 draft = SubmitSave (backend, snap, Path ("draft"), 0600);
  guint64 doc = SubmitSave (backend, snap, Path ("doc.txt"), 0666);
  guint64 none = SubmitSave (backend, empty, Path ("empty.txt"), 0644);
  weft_snapshot_unref (snap);
  weft_snapshot_unref (empty);
  weft_text_free (empty_text);

  ASSERT_TRUE (WaitFor ([&] { return NDelivered () == 3; }));
  for (guint64 id : { draft, doc, none })
    ASSERT_TRUE (deliveries_[id].ok) << deliveries_[id].error_message;
  EXPECT_EQ (ReadAll (Path ("draft")), text);
  EXPECT_EQ (ModeOf (Path ("draft")), 0600u & ~mask);
  EXPECT_EQ (ReadAll (Path ("doc.txt")), text);
  EXPECT_EQ (ModeOf (Path ("doc.txt")), 0666u & ~mask);
  EXPECT_EQ (ReadAll (Path ("empty.txt")), "");
  EXPECT_EQ (Listing (), (std::vector<std::string> { "doc.txt", "draft", "empty.txt" }));
}

TEST_P (SaveTest, ReplacesASymlinksTargetAndKeepsTheLink)
{
  WeftBackend *backend = Make (1);
  std::string text = Text (7000, 6);
  WeftSnapshot *snap = Snapshot (text);

  WriteAll (Path ("real.txt"), "old", 0600);
  ASSERT_EQ (symlink ("real.txt", Path ("link.txt").c_str ()), 0);
  Delivery d = Run (backend, snap, Path ("link.txt"));
  weft_snapshot_unref (snap);

  ASSERT_TRUE (d.ok) << d.error_message;
  EXPECT_EQ (ReadAll (Path ("real.txt")), text);
  EXPECT_EQ (ModeOf (Path ("real.txt")), 0600u);
  g_autofree char *link = g_file_read_link (Path ("link.txt").c_str (), nullptr);
  EXPECT_STREQ (link, "real.txt");
  EXPECT_EQ (Listing (), (std::vector<std::string> { "link.txt", "real.txt" }));
}

TEST_P (SaveTest, FailuresLeaveTheTargetAndNoTempFileWithAClearMessage)
{
  WeftBackend *backend = Make (1);
  WeftSnapshot *snap = Snapshot (Text (100000, 7));

  // A target whose folder does not exist.
  Delivery missing = Run (backend, snap, Path ("nowhere/draft"), 0600);
  EXPECT_FALSE (missing.ok);
  EXPECT_EQ (missing.error_code, WEFT_ERROR_NOT_FOUND);
  EXPECT_EQ (missing.error_message.rfind ("Could not save “draft”: ", 0), 0u) << missing.error_message;

  // A target that is a folder, holding a file that must stay.
  ASSERT_EQ (mkdir (Path ("folder").c_str (), 0755), 0);
  WriteAll (Path ("folder/inside"), "keep", 0644);
  Delivery folder = Run (backend, snap, Path ("folder"));
  EXPECT_FALSE (folder.ok);
  EXPECT_EQ (folder.error_code, WEFT_ERROR_IS_DIRECTORY);
  EXPECT_EQ (folder.error_message, "“folder” is a folder, not a file");
  EXPECT_EQ (ReadAll (Path ("folder/inside")), "keep");

  // A target that is not a regular file.
  ASSERT_EQ (mkfifo (Path ("fifo").c_str (), 0644), 0);
  Delivery fifo = Run (backend, snap, Path ("fifo"));
  EXPECT_FALSE (fifo.ok);
  EXPECT_EQ (fifo.error_code, WEFT_ERROR_NOT_REGULAR_FILE);

  weft_snapshot_unref (snap);
  EXPECT_EQ (Listing (), (std::vector<std::string> { "fifo", "folder" }));
  EXPECT_EQ (NDelivered (), 3u);
}

TEST_P (SaveTest, MalformedOptionsFailWithoutTouchingAnything)
{
  WeftBackend *backend = Make (1);
  std::string path = Path ("doc.txt");
  WeftSnapshot *snap = Snapshot ("new");
  std::vector<GBytes *> bad = {
    nullptr,
    g_bytes_new ("abc", 3),
    weft_job_save_options ("relative/doc.txt", 0644),
    weft_job_save_options (path.c_str (), 010000),
    weft_job_save_options ("", 0644),
  };
  std::vector<guint64> ids;

  WriteAll (path, "old", 0644);
  for (GBytes *options : bad)
    {
      WeftJobInput *in = weft_job_input_new_snapshot (snap);
      WeftJobSpec spec = { WEFT_JOB_SAVE, in, options, 0, NULL };
      ids.push_back (weft_backend_submit (backend, &spec, OnDone, this));
      weft_job_input_unref (in);
      if (options != nullptr)
        g_bytes_unref (options);
    }
  weft_snapshot_unref (snap);

  ASSERT_TRUE (WaitFor ([&] { return NDelivered () == ids.size (); }));
  for (guint64 id : ids)
    {
      EXPECT_FALSE (deliveries_[id].ok);
      EXPECT_EQ (deliveries_[id].error_code, WEFT_ERROR_FAILED) << deliveries_[id].error_message;
      EXPECT_EQ (deliveries_[id].stats.crashes, 0u);
    }
  EXPECT_EQ (ReadAll (path), "old");
  EXPECT_EQ (Listing (), std::vector<std::string> { "doc.txt" });
}

TEST_P (SaveTest, ACancelledSaveLeavesOldOrNewContentsAndNoTempFile)
{
  WeftBackend *backend = Make (1);
  std::string path = Path ("doc.txt");
  std::string old_text = Text (1000, 8);
  std::string text = Text (8 * 1024 * 1024, 9);
  WeftSnapshot *snap = Snapshot (text);

  WriteAll (path, old_text, 0644);
  guint64 id = SubmitSave (backend, snap, path);
  weft_snapshot_unref (snap);
  WaitRunning (backend, 1);
  weft_backend_cancel (backend, id);
  ASSERT_TRUE (WaitFor ([&] { return Delivered (id); }));

  // Cancelled before the rename: untouched; after it: complete.
  std::string now = ReadAll (path);
  if (deliveries_[id].ok)
    EXPECT_TRUE (now == text);
  else
    {
      EXPECT_EQ (deliveries_[id].error_code, WEFT_ERROR_CANCELLED);
      EXPECT_TRUE (now == old_text || now == text);
    }
  EXPECT_EQ (Listing (), std::vector<std::string> { "doc.txt" });
}

// What only worker processes promise: a crashing thread would take the
// whole process down, and threads are not sandboxed.
class ProcessSaveTest : public SaveTest
{
};

TEST_P (ProcessSaveTest, KillingTheWorkerMidSaveKeepsTheOriginalWholeAndRetries)
{
  WeftBackend *backend = Make (1);
  std::string path = Path ("doc.txt");
  std::string old_text = Text (100000, 10);
  std::string text = Text (64 * 1024 * 1024, 11);
  WeftSnapshot *snap = Snapshot (text);
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
  bool killed = false;

  WriteAll (path, old_text, 0640);
  guint64 id = SubmitSave (backend, snap, path);
  weft_snapshot_unref (snap);

  // Kill the worker once its temp file is partly written.
  while (!killed && !Delivered (id) && g_get_monotonic_time () < deadline)
    {
      for (const std::string &name : Listing ())
        {
          struct stat st;

          if (name.rfind (".doc.txt.weft-", 0) != 0 || stat (Path (name.c_str ()).c_str (), &st) != 0)
            continue;
          if (st.st_size > 0 && static_cast<size_t> (st.st_size) < text.size ())
            {
              std::vector<pid_t> pids = WorkerPids ();
              ASSERT_EQ (pids.size (), 1u);
              ASSERT_EQ (kill (pids[0], SIGKILL), 0);
              killed = true;
              EXPECT_TRUE (ReadAll (path) == old_text);
              break;
            }
        }
      g_main_context_iteration (ctx_, FALSE);
      g_usleep (100);
    }
  ASSERT_TRUE (killed) << "the save finished before the worker could be killed";

  ASSERT_TRUE (WaitFor ([&] { return Delivered (id); }));
  const Delivery &d = deliveries_[id];
  ASSERT_TRUE (d.ok) << d.error_message;
  EXPECT_EQ (d.stats.crashes, 1u);
  EXPECT_EQ (d.stats.attempts, 2u);
  EXPECT_TRUE (ReadAll (path) == text);
  EXPECT_EQ (ModeOf (path), 0640u);
  EXPECT_EQ (Listing (), std::vector<std::string> { "doc.txt" });
}

TEST_P (ProcessSaveTest, SavesThroughAWorkerThatCannotOpenFiles)
{
  WeftBackend *backend = Make (1);
  std::string path = Path ("doc.txt");
  std::string text = Text (200000, 12);
  WeftSnapshot *snap = Snapshot (text);

  WriteAll (path, "old", 0644);
  // The one worker is sandboxed: it cannot open the very file it saves.
  GBytes *options = g_bytes_new (path.data (), path.size ());
  guint64 open_id = Submit (backend, WEFT_JOB_TEST_OPEN_PATH, "", options);
  g_bytes_unref (options);
  ASSERT_TRUE (WaitFor ([&] { return Delivered (open_id); }));
  guint32 e = 0;
  ASSERT_EQ (deliveries_[open_id].output.size (), sizeof e);
  memcpy (&e, deliveries_[open_id].output.data (), sizeof e);
  EXPECT_EQ (GUINT32_FROM_LE (e), static_cast<guint32> (EPERM));

  Delivery d = Run (backend, snap, path);
  weft_snapshot_unref (snap);
  ASSERT_TRUE (d.ok) << d.error_message;
  EXPECT_EQ (d.stats.crashes, 0u);
  EXPECT_GE (d.stats.ipc_bytes, text.size ());
  EXPECT_TRUE (ReadAll (path) == text);
  EXPECT_EQ (Listing (), std::vector<std::string> { "doc.txt" });
}

INSTANTIATE_TEST_SUITE_P (Backends, SaveTest,
                          ::testing::Values ("threads", "processes"),
                          [] (const ::testing::TestParamInfo<const char *> &info) {
                            return std::string (info.param);
                          });

INSTANTIATE_TEST_SUITE_P (Backends, ProcessSaveTest,
                          ::testing::Values ("processes"),
                          [] (const ::testing::TestParamInfo<const char *> &info) {
                            return std::string (info.param);
                          });

// A weft-worker driven by hand, to send it what the backend never would.
class RawWorker
{
public:
  RawWorker ()
  {
    int sv[2];
    posix_spawn_file_actions_t actions;
    char *argv[] = { const_cast<char *> (WorkerPath ()), const_cast<char *> ("--ipc-fd=3"), nullptr };

    EXPECT_EQ (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_adddup2 (&actions, sv[1], 3);
    EXPECT_EQ (posix_spawn (&pid_, WorkerPath (), &actions, nullptr, argv, environ), 0);
    posix_spawn_file_actions_destroy (&actions);
    close (sv[1]);
    sock_ = sv[0];

    int control = memfd_create ("weft-test-control", MFD_CLOEXEC);
    // One page holds the control struct (C11 atomics, not C++ ones).
    EXPECT_EQ (ftruncate (control, 4096), 0);
    WeftIpcHello hello = { WEFT_IPC_VERSION };
    GByteArray *msg = g_byte_array_new ();
    weft_ipc_encode_hello (msg, WEFT_IPC_INIT, &hello);
    Send (msg, { control });
    g_byte_array_unref (msg);
    close (control);

    guint8 buf[64];
    ssize_t n = recv (sock_, buf, sizeof buf, 0);
    EXPECT_TRUE (n > 0 && weft_ipc_decode_hello (buf, n, WEFT_IPC_READY, &hello, nullptr));
  }

  ~RawWorker ()
  {
    close (sock_);
    if (pid_ > 0)
      {
        kill (pid_, SIGKILL);
        waitpid (pid_, nullptr, 0);
      }
  }

  void Send (GByteArray *msg, const std::vector<int> &fds)
  {
    struct iovec iov = { msg->data, msg->len };
    union {
      char buf[CMSG_SPACE (4 * sizeof (int))];
      struct cmsghdr align;
    } control;
    struct msghdr m = {};

    memset (&control, 0, sizeof control);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (!fds.empty ())
      {
        m.msg_control = control.buf;
        m.msg_controllen = CMSG_SPACE (fds.size () * sizeof (int));
        struct cmsghdr *c = CMSG_FIRSTHDR (&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN (fds.size () * sizeof (int));
        memcpy (CMSG_DATA (c), fds.data (), fds.size () * sizeof (int));
      }
    EXPECT_EQ (sendmsg (sock_, &m, MSG_NOSIGNAL), static_cast<ssize_t> (msg->len));
  }

  void SendJob (guint32 kind, GBytes *options, guint32 n_output_fds, const std::vector<int> &fds)
  {
    GByteArray *msg = g_byte_array_new ();
    WeftIpcJob job = {};
    gsize len = 0;

    job.job_id = 7;
    job.kind = kind;
    job.options = static_cast<const guint8 *> (g_bytes_get_data (options, &len));
    job.options_len = len;
    job.n_output_fds = n_output_fds;
    weft_ipc_encode_job (msg, &job);
    Send (msg, fds);
    g_byte_array_unref (msg);
  }

  // The worker's answer, or nullopt-like false once it hung up.
  bool Answer (WeftIpcResult *out, std::vector<guint8> *buf)
  {
    buf->assign (WEFT_IPC_MAX_MESSAGE + 1, 0);
    ssize_t n = recv (sock_, buf->data (), buf->size (), 0);
    return n > 0 && weft_ipc_decode_result (buf->data (), n, out, nullptr);
  }

  // Waits for the worker to exit; returns its exit status, or -1.
  int ExitStatus ()
  {
    int status = 0;

    if (waitpid (pid_, &status, 0) != pid_)
      return -1;
    pid_ = 0;
    return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
  }

private:
  pid_t pid_ = 0;
  int sock_ = -1;
};

class SaveWorkerProtocol : public ::testing::Test
{
protected:
  void SetUp () override
  {
    dir_ = g_dir_make_tmp ("weft-save-raw-XXXXXX", nullptr);
    ASSERT_NE (dir_, nullptr);
    path_ = std::string (dir_) + "/file";
    options_ = weft_job_save_options (path_.c_str (), 0644);
  }

  void TearDown () override
  {
    g_bytes_unref (options_);
    unlink (path_.c_str ());
    rmdir (dir_);
    g_free (dir_);
  }

  char *dir_ = nullptr;
  std::string path_;
  GBytes *options_ = nullptr;
};

TEST_F (SaveWorkerProtocol, ASaveWithItsOneDescriptorIsServed)
{
  RawWorker w;
  int fd = open (path_.c_str (), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  WeftIpcResult result;
  std::vector<guint8> buf;

  ASSERT_GE (fd, 0);
  w.SendJob (WEFT_JOB_SAVE, options_, 1, { fd });
  close (fd);
  ASSERT_TRUE (w.Answer (&result, &buf));
  EXPECT_EQ (result.status, WEFT_IPC_STATUS_OK);
}

TEST_F (SaveWorkerProtocol, ASaveWithoutADescriptorStopsTheWorker)
{
  RawWorker w;
  WeftIpcResult result;
  std::vector<guint8> buf;

  w.SendJob (WEFT_JOB_SAVE, options_, 1, {});
  EXPECT_FALSE (w.Answer (&result, &buf));
  EXPECT_EQ (w.ExitStatus (), 2);
}

TEST_F (SaveWorkerProtocol, ASaveWithTwoDescriptorsStopsTheWorker)
{
  RawWorker w;
  int a = open (path_.c_str (), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  int b = dup (a);
  WeftIpcResult result;
  std::vector<guint8> buf;

  w.SendJob (WEFT_JOB_SAVE, options_, 1, { a, b });
  close (a);
  close (b);
  EXPECT_FALSE (w.Answer (&result, &buf));
  EXPECT_EQ (w.ExitStatus (), 2);
}

TEST_F (SaveWorkerProtocol, AReadOnlyOrNonFileDescriptorStopsTheWorker)
{
  int fds[2];

  ASSERT_EQ (pipe2 (fds, O_CLOEXEC), 0);
  {
    RawWorker w;
    WeftIpcResult result;
    std::vector<guint8> buf;

    w.SendJob (WEFT_JOB_SAVE, options_, 1, { fds[1] });
    EXPECT_FALSE (w.Answer (&result, &buf));
    EXPECT_EQ (w.ExitStatus (), 2);
  }
  close (fds[0]);
  close (fds[1]);

  ASSERT_TRUE (g_file_set_contents (path_.c_str (), "x", 1, nullptr));
  int ro = open (path_.c_str (), O_RDONLY | O_CLOEXEC);
  RawWorker w;
  WeftIpcResult result;
  std::vector<guint8> buf;

  w.SendJob (WEFT_JOB_SAVE, options_, 1, { ro });
  close (ro);
  EXPECT_FALSE (w.Answer (&result, &buf));
  EXPECT_EQ (w.ExitStatus (), 2);
}

TEST_F (SaveWorkerProtocol, AnOutputDescriptorOnAnotherKindStopsTheWorker)
{
  RawWorker w;
  int fd = open (path_.c_str (), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  GBytes *bench = weft_job_bench_options (1);
  WeftIpcResult result;
  std::vector<guint8> buf;

  w.SendJob (WEFT_JOB_BENCH, bench, 0, { fd });
  close (fd);
  g_bytes_unref (bench);
  EXPECT_FALSE (w.Answer (&result, &buf));
  EXPECT_EQ (w.ExitStatus (), 2);
}

// A large snapshot is made contiguous by several threads, each copying a
// slice: every byte lands where it belongs, whatever the slices' bounds.
TEST (JobInput, ALargeSnapshotFlattensToTheWholeTextOnce)
{
  std::string text;
  guint32 x = 7;

  // Over the size copied in parallel, of an odd length, with lines of
  // varying lengths so that leaves and slices do not line up.
  while (text.size () < 9 * 1024 * 1024 + 12345)
    {
      x = x * 1103515245u + 12345u;
      text.append (1 + (x >> 16) % 150, static_cast<char> ('a' + (x >> 8) % 26));
      text.push_back ('\n');
    }
  g_autoptr (WeftText) doc = weft_text_new_from_utf8 (text.data (), text.size ());
  g_autoptr (WeftSnapshot) snap = weft_text_snapshot (doc);
  WeftJobInput *in = weft_job_input_new_snapshot (snap);
  size_t len = 0;

  weft_job_input_get_chunk (in, 0, &len);
  ASSERT_LT (len, text.size ()) << "the snapshot must be in many chunks";
  const char *flat = weft_job_input_get_flat (in);
  ASSERT_NE (flat, nullptr);
  EXPECT_TRUE (memcmp (flat, text.data (), text.size ()) == 0);
  EXPECT_EQ (weft_job_input_get_flat (in), flat) << "made once, then shared";
  weft_job_input_unref (in);
}

// The threads weft_run_parallel() starts are invisible to the caller's
// getrusage (RUSAGE_THREAD); their CPU time is added to the caller's count
// of them, once.
TEST (Parallel, EveryItemRunsOnceAndHelpersReportTheirCpuTime)
{
  struct Item
  {
    guint64 sum = 0;
    int runs = 0;
  };
  std::vector<Item> items (3);
  gint64 user_before = -1, sys_before = -1, user_us = -1, sys_us = -1;
  auto spin = [] (void *data) -> void * {
    auto *item = static_cast<Item *> (data);
    volatile guint64 x = 1;

    for (int i = 0; i < 20000000; i++)
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    item->sum = x;
    item->runs++;
    return nullptr;
  };

  weft_parallel_helper_cpu (&user_before, &sys_before);
  weft_run_parallel (spin, items.data (), sizeof (Item), 1);
  weft_parallel_helper_cpu (&user_us, &sys_us);
  EXPECT_EQ (user_us + sys_us, user_before + sys_before) << "one item runs on the calling thread only";

  items.assign (3, Item ());
  weft_run_parallel (spin, items.data (), sizeof (Item), 3);
  for (const Item &item : items)
    {
      EXPECT_EQ (item.runs, 1);
      EXPECT_EQ (item.sum, items[0].sum);
    }
  weft_parallel_helper_cpu (&user_us, &sys_us);
  EXPECT_GT (user_us, user_before) << "two helpers spun";
  weft_parallel_helper_cpu (&user_before, &sys_before);
  EXPECT_EQ (user_before + sys_before, user_us + sys_us) << "counted once";
}

using WorkerPool = BackendTest;

// A worker's start (the threads backend loads its dictionary there) runs on
// the worker's own thread, and no job reaches the worker before it ends.
TEST_F (WorkerPool, EachWorkerStartsOnItsOwnThreadBeforeItsFirstJob)
{
  WeftBackend *backend = weft_gated_backend_new (2, ctx_);
  std::vector<guint64> ids;

  open_.push_back (backend);
  for (int i = 0; i < 8; i++)
    ids.push_back (Submit (backend, WEFT_JOB_ECHO, "x"));
  // Every worker still waits in its start, so no job can have run.
  while (g_main_context_iteration (ctx_, FALSE))
    ;
  EXPECT_EQ (NDelivered (), 0u);

  weft_gated_backend_open (backend);
  // Workers added later start the same way.
  weft_backend_set_workers (backend, 4);
  for (int i = 0; i < 8; i++)
    ids.push_back (Submit (backend, WEFT_JOB_ECHO, "x"));
  ASSERT_TRUE (WaitFor ([&] { return NDelivered () == ids.size (); }));
  ExpectEachOnce (ids);
  for (guint64 id : ids)
    EXPECT_EQ (deliveries_[id].output, "started") << "job " << id;
}

class ProcessBackend : public BackendTest
{
protected:
  WeftBackend *Make (guint n_workers) { return BackendTest::Make ("processes", n_workers); }

  WeftBackendStats Stats (WeftBackend *backend)
  {
    WeftBackendStats stats;
    weft_backend_get_stats (backend, &stats);
    return stats;
  }
};

TEST_F (ProcessBackend, ResultsOverTheInlineLimitFailAsTooLarge)
{
  WeftBackend *backend = Make (1);
  guint64 id = Submit (backend, WEFT_JOB_ECHO, Pattern (WEFT_IPC_MAX_OUTPUT + 1, 4));

  ASSERT_TRUE (WaitFor ([&] { return Delivered (id); }));
  EXPECT_EQ (deliveries_[id].error_code, WEFT_ERROR_TOO_LARGE) << deliveries_[id].error_message;
  EXPECT_EQ (Stats (backend).crashes_survived, 0u);
}

TEST_F (ProcessBackend, RefusesAWorkerPathThatCannotRun)
{
  GError *error = nullptr;
  WeftBackend *backend = weft_process_backend_new (1, "/nonexistent/weft-worker", ctx_, &error);

  EXPECT_EQ (backend, nullptr);
  ASSERT_NE (error, nullptr);
  EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_NOT_FOUND));
  g_error_free (error);
}

TEST_F (ProcessBackend, KillingWorkersDuringAHundredJobsLosesNone)
{
  WeftBackend *backend = Make (2);
  std::map<guint64, std::string> inputs;
  std::vector<guint64> ids;
  int kills = 0;

  // Inputs are made before any job starts, so that the kills below land while
  // most jobs are still queued. Each job hashes its 256 KiB input 10 times:
  // ~15 ms here, longer under sanitizers, which only makes kills likelier to
  // hit a busy worker.
  std::vector<std::string> made;
  for (int i = 0; i < 100; i++)
    made.push_back (Pattern (256 * 1024, i));
  for (int i = 0; i < 100; i++)
    {
      guint64 id = SubmitBench (backend, made[i], 10);
      ids.push_back (id);
      inputs[id] = made[i];
    }

  // Kill a busy worker, then wait until the job it was running has been
  // retried and delivered before the next kill: a job that loses two workers
  // fails by design, and this test is about the ones that lose one. A worker
  // can finish its job between the look and the kill: its death is then
  // found by the next job sent to it, which goes to a fresh worker uncharged.
  auto charged = [&] {
    guint n = 0;
    for (auto &[id, d] : deliveries_)
      n += d.stats.crashes;
    return n;
  };
  // A few deliveries between kills; when no worker is on a CPU at that
  // moment (a loaded machine), look again at once rather than letting more
  // jobs go by.
  size_t next_kill = 6;
  while (kills < 5 && NDelivered () < 80)
    {
      ASSERT_TRUE (WaitFor ([&] { return NDelivered () >= next_kill; }));
      WaitRunning (backend, 1);
      // A busy worker: an idle one's death is counted but charged to no
      // job (its next job finds it gone and gets a fresh one).
      std::vector<pid_t> pids = WorkerPids ();
      auto asleep = [] (pid_t pid) { return weft_test_proc_state (pid) != 'R'; };
      pids.erase (std::remove_if (pids.begin (), pids.end (), asleep), pids.end ());
      if (pids.empty ())
        {
          g_main_context_iteration (ctx_, FALSE);
          continue;
        }
      ASSERT_EQ (kill (pids[kills % pids.size ()], SIGKILL), 0);
      kills++;
      // Once the backend has seen the death, it has also queued the job
      // again if the worker was running one.
      ASSERT_TRUE (WaitFor ([&] { return Stats (backend).crashes_survived >= (guint64) kills || NDelivered () == ids.size (); }));
      ASSERT_TRUE (WaitFor ([&] { return charged () >= Stats (backend).retried || NDelivered () == ids.size (); }));
      next_kill = NDelivered () + 6;
    }
  ASSERT_TRUE (WaitFor ([&] { return NDelivered () == ids.size (); }));

  EXPECT_GE (kills, 3);
  ExpectEachOnce (ids);
  for (guint64 id : ids)
    {
      ASSERT_TRUE (deliveries_[id].ok) << deliveries_[id].error_message;
      EXPECT_EQ (Hash (deliveries_[id]), ExpectedBench (inputs[id], 10));
      EXPECT_LE (deliveries_[id].stats.crashes, 1u);
    }
  EXPECT_LE (charged (), (guint) kills);
  EXPECT_EQ (charged (), Stats (backend).retried);
  EXPECT_EQ (Stats (backend).crashes_survived, (guint64) kills);
  EXPECT_EQ (Stats (backend).completed, 100u);
}

TEST_F (ProcessBackend, AJobThatKillsTwoWorkersFailsAndThePoolRecovers)
{
  WeftBackend *backend = Make (1);
  guint64 crash = Submit (backend, WEFT_JOB_TEST_CRASH, "boom");
  guint64 after = SubmitBench (backend, "after");

  ASSERT_TRUE (WaitFor ([&] { return Delivered (crash) && Delivered (after); }));
  const Delivery &d = deliveries_[crash];
  EXPECT_FALSE (d.ok);
  EXPECT_EQ (d.error_code, WEFT_ERROR_WORKER_CRASHED);
  EXPECT_NE (d.error_message.find ("stopped unexpectedly"), std::string::npos) << d.error_message;
  EXPECT_EQ (d.stats.crashes, 2u);
  EXPECT_EQ (d.stats.attempts, 2u);

  ASSERT_TRUE (deliveries_[after].ok) << deliveries_[after].error_message;
  EXPECT_EQ (Hash (deliveries_[after]), ExpectedBench ("after", 1));
  EXPECT_EQ (order_, (std::vector<guint64> { crash, after }));

  WeftBackendStats stats = Stats (backend);
  EXPECT_EQ (stats.crashes_survived, 2u);
  EXPECT_EQ (stats.failed, 1u);
  EXPECT_EQ (stats.completed, 1u);
}

TEST_F (ProcessBackend, ThreadsBackendRefusesTheCrashAndHangJobs)
{
  WeftBackend *backend = BackendTest::Make ("threads", 1);
  guint64 crash = Submit (backend, WEFT_JOB_TEST_CRASH, "");
  guint64 hang = Submit (backend, WEFT_JOB_TEST_HANG, "");

  ASSERT_TRUE (WaitFor ([&] { return Delivered (crash) && Delivered (hang); }));
  EXPECT_EQ (deliveries_[crash].error_code, WEFT_ERROR_FAILED);
  EXPECT_EQ (deliveries_[hang].error_code, WEFT_ERROR_FAILED);
}

TEST_F (ProcessBackend, CancellingAJobItsWorkerIgnoresReplacesTheWorker)
{
  WeftBackend *backend = Make (1);
  guint64 hang = Submit (backend, WEFT_JOB_TEST_HANG, "");

  WaitRunning (backend, 1);
  gint64 start = g_get_monotonic_time ();
  EXPECT_TRUE (weft_backend_cancel (backend, hang));
  ASSERT_TRUE (WaitFor ([&] { return Delivered (hang); }));
  EXPECT_LT (g_get_monotonic_time () - start, 2 * G_USEC_PER_SEC);
  EXPECT_EQ (deliveries_[hang].error_code, WEFT_ERROR_CANCELLED);

  guint64 after = SubmitBench (backend, "after");
  ASSERT_TRUE (WaitFor ([&] { return Delivered (after); }));
  EXPECT_EQ (Hash (deliveries_[after]), ExpectedBench ("after", 1));
  EXPECT_EQ (Stats (backend).crashes_survived, 0u);
}

TEST_F (ProcessBackend, ShutdownCancelEndsAHungWorker)
{
  WeftBackend *backend = Make (2);
  guint64 hang = Submit (backend, WEFT_JOB_TEST_HANG, "");

  WaitRunning (backend, 1);
  Shutdown (backend, WEFT_SHUTDOWN_CANCEL);
  EXPECT_EQ (deliveries_[hang].error_code, WEFT_ERROR_CANCELLED);
  EXPECT_TRUE (WorkerPids ().empty ());
}

TEST_F (ProcessBackend, SandboxedWorkerCannotOpenFiles)
{
  // A file any process may read: only the sandbox can stop the open.
  g_autofree char *path = nullptr;
  int fd = g_file_open_tmp ("weft-sandbox-XXXXXX", &path, nullptr);
  ASSERT_GE (fd, 0);
  ASSERT_EQ (write (fd, "hello", 5), 5);
  close (fd);

  auto open_errno = [&] (WeftBackend *backend) {
    GBytes *options = g_bytes_new (path, strlen (path));
    guint64 id = Submit (backend, WEFT_JOB_TEST_OPEN_PATH, "", options);
    guint32 e = 0xffffffff;

    g_bytes_unref (options);
    EXPECT_TRUE (WaitFor ([&] { return Delivered (id); }));
    EXPECT_TRUE (deliveries_[id].ok) << deliveries_[id].error_message;
    EXPECT_EQ (deliveries_[id].output.size (), sizeof e);
    if (deliveries_[id].output.size () == sizeof e)
      memcpy (&e, deliveries_[id].output.data (), sizeof e);
    // Job ids are per backend: forget this one before asking the next.
    calls_.clear ();
    deliveries_.clear ();
    return static_cast<int> (GUINT32_FROM_LE (e));
  };
  int in_thread = open_errno (BackendTest::Make ("threads", 1));
  int in_worker = open_errno (Make (1));
  unlink (path);

  EXPECT_EQ (in_thread, 0);
  EXPECT_EQ (in_worker, EPERM);
}

TEST_F (ProcessBackend, WorkersAreReapedAfterShutdown)
{
  WeftBackend *backend = Make (3);
  guint64 id = SubmitBench (backend, "x");

  ASSERT_TRUE (WaitFor ([&] { return Delivered (id); }));
  EXPECT_GE (WorkerPids ().size (), 1u);
  Shutdown (backend, WEFT_SHUTDOWN_DRAIN);
  EXPECT_TRUE (WorkerPids ().empty ());
}

// A worker's replies are untrusted: each way of breaking the protocol must
// cost that worker its life, count as a crash, and never hang or crash us.
class HostileWorker : public BackendTest, public ::testing::WithParamInterface<const char *>
{
};

TEST_P (HostileWorker, IsKilledAndItsJobFailsAfterOneRetry)
{
  const char *path = g_getenv ("WEFT_HOSTILE_WORKER_PATH");
  GError *error = nullptr;

  if (path == nullptr)
    GTEST_SKIP () << "WEFT_HOSTILE_WORKER_PATH not set";
  g_setenv ("WEFT_HOSTILE_MODE", GetParam (), TRUE);
  WeftBackend *backend = weft_process_backend_new (1, path, ctx_, &error);
  ASSERT_NE (backend, nullptr) << error->message;
  open_.push_back (backend);

  guint64 id = SubmitBench (backend, "payload");
  ASSERT_TRUE (WaitFor ([&] { return Delivered (id); }));
  g_unsetenv ("WEFT_HOSTILE_MODE");

  EXPECT_EQ (deliveries_[id].error_code, WEFT_ERROR_WORKER_CRASHED) << deliveries_[id].error_message;
  EXPECT_EQ (deliveries_[id].stats.crashes, 2u);
  WeftBackendStats stats;
  weft_backend_get_stats (backend, &stats);
  EXPECT_EQ (stats.crashes_survived, 2u);
}

INSTANTIATE_TEST_SUITE_P (Modes, HostileWorker,
                          ::testing::Values ("garbage", "wrong-id", "bad-length", "with-fd",
                                             "too-long", "exit", "bad-ready"),
                          [] (const ::testing::TestParamInfo<const char *> &info) {
                            std::string name = info.param;
                            std::replace (name.begin (), name.end (), '-', '_');
                            return name;
                          });

}  // namespace
