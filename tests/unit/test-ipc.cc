// test-ipc.cc: the parent/worker message codec (weft-ipc.c) refuses every malformed message.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "weft-ipc.h"
#include "weft-job.h"
}

namespace {

using Bytes = std::vector<guint8>;

Bytes
Take (GByteArray *array)
{
  Bytes out (array->data, array->data + array->len);
  g_byte_array_unref (array);
  return out;
}

// How a job's input is cut into memfds: its length, the number of
// memfds and the length of each but the last.
struct Pieces
{
  guint64 input_len;
  guint32 n_fds;
  guint64 piece_len;
};

Bytes
EncodeJob (const std::string &options, guint32 kind = WEFT_JOB_BENCH, guint64 id = 42,
           Pieces pieces = { 1234567, 1, 1234567 })
{
  GByteArray *out = g_byte_array_new ();
  WeftIpcJob job = {};

  job.job_id = id;
  job.kind = kind;
  job.input_len = pieces.input_len;
  job.n_input_fds = pieces.n_fds;
  job.input_piece_len = pieces.piece_len;
  job.options = reinterpret_cast<const guint8 *> (options.data ());
  job.options_len = options.size ();
  job.n_output_fds = kind == WEFT_JOB_SAVE ? 1 : 0;
  weft_ipc_encode_job (out, &job);
  return Take (out);
}

WeftIpcResult
SampleResult (const std::string &output)
{
  WeftIpcResult r = {};

  r.job_id = 7;
  r.status = WEFT_IPC_STATUS_OK;
  r.output = reinterpret_cast<const guint8 *> (output.data ());
  r.output_len = output.size ();
  r.stats = { 100, 90, 10, 3, 1, 2048 };
  return r;
}

Bytes
EncodeResult (const WeftIpcResult &r)
{
  GByteArray *out = g_byte_array_new ();

  weft_ipc_encode_result (out, &r);
  return Take (out);
}

bool
DecodeJob (const Bytes &b, WeftIpcJob *job = nullptr)
{
  WeftIpcJob tmp;
  GError *error = nullptr;
  bool ok = weft_ipc_decode_job (b.data (), b.size (), job ? job : &tmp, &error);

  if (!ok)
    {
      EXPECT_NE (error, nullptr);
      EXPECT_TRUE (g_error_matches (error, WEFT_ERROR, WEFT_ERROR_FAILED));
      g_error_free (error);
    }
  return ok;
}

bool
DecodeResult (const Bytes &b, WeftIpcResult *result = nullptr)
{
  WeftIpcResult tmp;
  GError *error = nullptr;
  bool ok = weft_ipc_decode_result (b.data (), b.size (), result ? result : &tmp, &error);

  if (!ok)
    {
      EXPECT_NE (error, nullptr);
      g_error_free (error);
    }
  return ok;
}

void
PutU32 (Bytes &b, size_t off, guint32 v)
{
  v = GUINT32_TO_LE (v);
  memcpy (b.data () + off, &v, sizeof v);
}

// Rewrites the header's payload length to match a datagram that was cut or
// grown, so that the field decoders, not the header check, meet the damage.
Bytes
Resized (Bytes b, size_t len)
{
  b.resize (len, 0);
  if (len >= WEFT_IPC_HEADER_SIZE)
    PutU32 (b, 8, len - WEFT_IPC_HEADER_SIZE);
  return b;
}

TEST (WeftIpc, JobRoundTrips)
{
  Bytes b = EncodeJob ("opts");
  WeftIpcJob job;

  ASSERT_TRUE (DecodeJob (b, &job));
  EXPECT_EQ (job.job_id, 42u);
  EXPECT_EQ (job.kind, (guint32) WEFT_JOB_BENCH);
  EXPECT_EQ (job.input_len, 1234567u);
  ASSERT_EQ (job.options_len, 4u);
  EXPECT_EQ (std::string (reinterpret_cast<const char *> (job.options), 4), "opts");
}

TEST (WeftIpc, InputPiecesMustCutTheInputExactly)
{
  WeftIpcJob job;

  // 4 MiB and one byte in two pieces of 2 MiB and a third of one byte.
  const guint64 mib = 1024 * 1024;
  ASSERT_TRUE (DecodeJob (EncodeJob ("", WEFT_JOB_BENCH, 42, { 4 * mib + 1, 3, 2 * mib }), &job));
  EXPECT_EQ (job.n_input_fds, 3u);
  EXPECT_EQ (job.input_piece_len, 2 * mib);
  EXPECT_TRUE (DecodeJob (EncodeJob ("", WEFT_JOB_BENCH, 42, { 4 * mib, 2, 2 * mib })));
  EXPECT_TRUE (DecodeJob (EncodeJob ("", WEFT_JOB_BENCH, 42, { 0, 0, 0 })));
  EXPECT_TRUE (DecodeJob (EncodeJob ("", WEFT_JOB_BENCH, 42,
                                     { WEFT_IPC_MAX_INPUT_PIECES * mib, WEFT_IPC_MAX_INPUT_PIECES, mib })));

  const Pieces wrong[] = {
    { 4 * mib, 3, 2 * mib },      // one piece too many: the last would be empty
    { 4 * mib + 1, 2, 2 * mib },  // one too few: a byte left over
    { 4 * mib, 1, 2 * mib },
    { 4 * mib, 2, 4 * mib },
    { 4 * mib, 1, 8 * mib },      // a piece longer than the input
    { 4 * mib, 0, 4 * mib },      // an input and no descriptor
    { 4 * mib, 1, 0 },
    { 0, 1, 0 },                  // no input, yet a descriptor
    { 0, 0, 1 },
    { (WEFT_IPC_MAX_INPUT_PIECES + 1) * mib, WEFT_IPC_MAX_INPUT_PIECES + 1, mib },
    { G_MAXSSIZE, 2, G_MAXSSIZE / 2 },  // 2 full pieces leave a byte over
  };
  for (const Pieces &p : wrong)
    EXPECT_FALSE (DecodeJob (EncodeJob ("", WEFT_JOB_BENCH, 42, p)))
        << p.input_len << " bytes in " << p.n_fds << " pieces of " << p.piece_len;

  // A SAVE's input is one pipe.
  EXPECT_TRUE (DecodeJob (EncodeJob ("", WEFT_JOB_SAVE, 42, { 4 * mib, 1, 4 * mib })));
  EXPECT_FALSE (DecodeJob (EncodeJob ("", WEFT_JOB_SAVE, 42, { 4 * mib, 2, 2 * mib })));
}

// The parent cuts inputs with weft_ipc_cut_input(): whatever the length,
// the number of cores and the page size, the cut has at most the pieces
// asked for, whole pages in all but the last, and passes the decoder.
TEST (WeftIpc, CuttingAnInputGivesPiecesTheDecoderTakes)
{
  const guint64 mib = 1024 * 1024;
  guint64 piece = 0;

  // An even share that is whole pages but leaves bytes over (4 MiB + 1 on
  // 8 cores) must not make a ninth piece.
  EXPECT_EQ (weft_ipc_cut_input (4 * mib + 1, 8, 4096, &piece), 8u);
  EXPECT_EQ (piece, 4 * mib / 8 + 4096);
  EXPECT_EQ (weft_ipc_cut_input (4 * mib, 8, 4096, &piece), 8u);
  EXPECT_EQ (piece, 4 * mib / 8);
  // Fewer pages than pieces: fewer pieces.
  EXPECT_EQ (weft_ipc_cut_input (3 * 4096, 8, 4096, &piece), 3u);
  EXPECT_EQ (weft_ipc_cut_input (100, 8, 4096, &piece), 1u);
  EXPECT_EQ (piece, 100u);

  GRand *rand = g_rand_new_with_seed (7);
  for (int i = 0; i < 20000; i++)
    {
      guint64 len = i < 10000 ? (guint64) g_rand_int_range (rand, 1, 64 * 1024 * 1024)
                              : (guint64) g_rand_int_range (rand, 1, 64) * 65536 + g_rand_int_range (rand, -8, 8);
      guint32 max = (guint32) g_rand_int_range (rand, 1, WEFT_IPC_MAX_INPUT_PIECES + 1);
      guint64 page = 4096u << g_rand_int_range (rand, 0, 5);
      if (len == 0)
        continue;
      guint32 n = weft_ipc_cut_input (len, max, page, &piece);
      SCOPED_TRACE (std::to_string (len) + " bytes, " + std::to_string (max) + " pieces, pages of " +
                    std::to_string (page));
      ASSERT_GE (n, 1u);
      ASSERT_LE (n, max);
      if (n > 1)
        {
          ASSERT_EQ (piece % page, 0u);
        }
      ASSERT_LT ((n - 1) * piece, len);  // the last piece is not empty
      ASSERT_GE (n * piece, len);        // and the pieces hold it all
      ASSERT_TRUE (DecodeJob (EncodeJob ("", WEFT_JOB_BENCH, 42, { len, n, piece })));
    }
  g_rand_free (rand);
}

TEST (WeftIpc, OnlyASaveCarriesExactlyOneOutputDescriptor)
{
  Bytes save = EncodeJob ("opts", WEFT_JOB_SAVE);
  Bytes bench = EncodeJob ("opts");
  const size_t at = save.size () - 4;  // the last field
  WeftIpcJob job;

  ASSERT_TRUE (DecodeJob (save, &job));
  EXPECT_EQ (job.kind, (guint32) WEFT_JOB_SAVE);
  EXPECT_EQ (job.n_output_fds, 1u);
  ASSERT_TRUE (DecodeJob (bench, &job));
  EXPECT_EQ (job.n_output_fds, 0u);

  for (guint32 n : { 0u, 2u, 0xffffffffu })
    {
      Bytes b = save;
      PutU32 (b, at, n);
      EXPECT_FALSE (DecodeJob (b)) << n;
    }
  for (guint32 n : { 1u, 2u })
    {
      Bytes b = bench;
      PutU32 (b, at, n);
      EXPECT_FALSE (DecodeJob (b)) << n;
    }
  // The field is required, not optional.
  EXPECT_FALSE (DecodeJob (Resized (save, save.size () - 4)));
}

// SAVE options come from the parent, but a worker checks them as it checks
// everything else: each field, with no read past the end.
bool
ParseSave (const Bytes &b, std::string *path = nullptr, guint32 *mode = nullptr)
{
  guint8 *exact = static_cast<guint8 *> (g_memdup2 (b.data (), b.size ()));
  GBytes *options = g_bytes_new_take (exact, b.size ());
  char *p = nullptr;
  guint32 m = 0;
  GError *error = nullptr;
  bool ok = weft_job_save_options_parse (options, &p, &m, &error);

  EXPECT_EQ (ok, error == nullptr);
  if (ok && path != nullptr)
    *path = p;
  if (ok && mode != nullptr)
    *mode = m;
  g_free (p);
  g_clear_error (&error);
  g_bytes_unref (options);
  return ok;
}

Bytes
SaveOptions (const char *path, guint32 mode)
{
  GBytes *options = weft_job_save_options (path, mode);
  gsize len = 0;
  const guint8 *p = static_cast<const guint8 *> (g_bytes_get_data (options, &len));
  Bytes b (p, p + len);

  g_bytes_unref (options);
  return b;
}

TEST (WeftIpc, SaveOptionsAreCheckedFieldByField)
{
  std::string path;
  guint32 mode = 0;

  ASSERT_TRUE (ParseSave (SaveOptions ("/tmp/draft", 0600), &path, &mode));
  EXPECT_EQ (path, "/tmp/draft");
  EXPECT_EQ (mode, 0600u);

  EXPECT_FALSE (ParseSave (Bytes ()));
  EXPECT_FALSE (ParseSave (SaveOptions ("", 0600)));
  EXPECT_FALSE (ParseSave (SaveOptions ("relative", 0600)));
  EXPECT_FALSE (ParseSave (SaveOptions ("/tmp/draft", 010000)));
  EXPECT_FALSE (ParseSave (SaveOptions (std::string (WEFT_JOB_SAVE_MAX_PATH + 1, '/').c_str (), 0600)));
  EXPECT_TRUE (ParseSave (SaveOptions (std::string (WEFT_JOB_SAVE_MAX_PATH, '/').c_str (), 0600)));

  Bytes b = SaveOptions ("/tmp/draft", 0600);
  for (size_t len = 0; len < b.size (); len++)
    EXPECT_FALSE (ParseSave (Bytes (b.begin (), b.begin () + len))) << len;
  Bytes longer = b;
  longer.push_back ('x');
  EXPECT_FALSE (ParseSave (longer));      // length field no longer matches
  Bytes nul = b;
  nul[12] = '\0';
  EXPECT_FALSE (ParseSave (nul));
  PutU32 (b, 4, 0xffffffffu);
  EXPECT_FALSE (ParseSave (b));

  // Random damage: refused, or the same fields encode back to the same bytes.
  Bytes good = SaveOptions ("/home/user/notes.txt", 0644);
  GRand *rand = g_rand_new_with_seed (3);
  for (int i = 0; i < 5000; i++)
    {
      Bytes d = good;
      for (int f = g_rand_int_range (rand, 1, 4); f > 0; f--)
        d[g_rand_int_range (rand, 0, d.size ())] = static_cast<guint8> (g_rand_int_range (rand, 0, 256));
      if (ParseSave (d, &path, &mode))
        {
          EXPECT_EQ (SaveOptions (path.c_str (), mode), d);
        }
    }
  g_rand_free (rand);
}

TEST (WeftIpc, ResultRoundTrips)
{
  Bytes b = EncodeResult (SampleResult ("abcdefgh"));
  WeftIpcResult r;

  ASSERT_TRUE (DecodeResult (b, &r));
  EXPECT_EQ (r.job_id, 7u);
  EXPECT_EQ (r.status, WEFT_IPC_STATUS_OK);
  EXPECT_EQ (std::string (reinterpret_cast<const char *> (r.output), r.output_len), "abcdefgh");
  EXPECT_EQ (r.stats.run_us, 100u);
  EXPECT_EQ (r.stats.cpu_user_us, 90u);
  EXPECT_EQ (r.stats.cpu_sys_us, 10u);
  EXPECT_EQ (r.stats.voluntary_switches, 3u);
  EXPECT_EQ (r.stats.involuntary_switches, 1u);
  EXPECT_EQ (r.stats.maxrss_kb, 2048u);
}

TEST (WeftIpc, ErrorResultRoundTripsWithItsMessage)
{
  std::string none;
  WeftIpcResult in = SampleResult (none);
  std::string message = "ne peut pas écrire";
  WeftIpcResult out;

  in.status = WEFT_IPC_STATUS_ERROR;
  in.error_code = WEFT_ERROR_NO_SPACE;
  in.message = message.data ();
  in.message_len = message.size ();
  Bytes b = EncodeResult (in);  // decoded pointers point into b
  ASSERT_TRUE (DecodeResult (b, &out));
  EXPECT_EQ (out.status, WEFT_IPC_STATUS_ERROR);
  EXPECT_EQ (out.error_code, (guint32) WEFT_ERROR_NO_SPACE);
  EXPECT_EQ (std::string (out.message, out.message_len), message);
}

TEST (WeftIpc, HelloRoundTripsAndChecksTheVersion)
{
  GByteArray *out = g_byte_array_new ();
  WeftIpcHello hello = { WEFT_IPC_VERSION };
  WeftIpcHello decoded;

  weft_ipc_encode_hello (out, WEFT_IPC_READY, &hello);
  Bytes b = Take (out);
  EXPECT_TRUE (weft_ipc_decode_hello (b.data (), b.size (), WEFT_IPC_READY, &decoded, nullptr));
  EXPECT_FALSE (weft_ipc_decode_hello (b.data (), b.size (), WEFT_IPC_INIT, &decoded, nullptr));
  PutU32 (b, WEFT_IPC_HEADER_SIZE, WEFT_IPC_VERSION + 1);
  EXPECT_FALSE (weft_ipc_decode_hello (b.data (), b.size (), WEFT_IPC_READY, &decoded, nullptr));
}

TEST (WeftIpc, EveryTruncationOfAJobIsRefused)
{
  Bytes b = EncodeJob ("some options");

  for (size_t len = 0; len < b.size (); len++)
    {
      Bytes cut (b.begin (), b.begin () + len);
      EXPECT_FALSE (DecodeJob (cut)) << "raw cut at " << len;
      if (len >= WEFT_IPC_HEADER_SIZE)
        {
          EXPECT_FALSE (DecodeJob (Resized (b, len))) << "consistent cut at " << len;
        }
    }
}

TEST (WeftIpc, EveryTruncationOfAResultIsRefused)
{
  Bytes b = EncodeResult (SampleResult ("output bytes"));

  for (size_t len = 0; len < b.size (); len++)
    {
      Bytes cut (b.begin (), b.begin () + len);
      EXPECT_FALSE (DecodeResult (cut)) << "raw cut at " << len;
      if (len >= WEFT_IPC_HEADER_SIZE)
        {
          EXPECT_FALSE (DecodeResult (Resized (b, len))) << "consistent cut at " << len;
        }
    }
}

TEST (WeftIpc, TrailingBytesAreRefused)
{
  Bytes job = EncodeJob ("x");
  Bytes result = EncodeResult (SampleResult ("y"));

  EXPECT_FALSE (DecodeJob (Resized (job, job.size () + 1)));
  EXPECT_FALSE (DecodeResult (Resized (result, result.size () + 1)));
}

TEST (WeftIpc, HeaderDamageIsRefused)
{
  Bytes good = EncodeJob ("x");
  Bytes b;

  b = good; b[0] ^= 1;                               // magic
  EXPECT_FALSE (DecodeJob (b));
  b = good; b[6] = 1;                                // flags
  EXPECT_FALSE (DecodeJob (b));
  b = good; PutU32 (b, 8, good.size ());             // length past the datagram
  EXPECT_FALSE (DecodeJob (b));
  b = good; PutU32 (b, 8, 0xffffffffu);              // absurd length
  EXPECT_FALSE (DecodeJob (b));
  b = good; b[4] = 99;                               // unknown type
  EXPECT_FALSE (DecodeJob (b));
  b = good; b[4] = WEFT_IPC_RESULT;                  // a valid type, not the one expected
  EXPECT_FALSE (DecodeJob (b));
}

TEST (WeftIpc, OversizedLengthsAreRefused)
{
  // The options length field sits after id (8), kind (4), input length (8),
  // input descriptors (4), input piece length (8), input serial (8) and aux
  // input length (8).
  const size_t options_len_at = WEFT_IPC_HEADER_SIZE + 48;
  Bytes b = EncodeJob ("abcd");

  PutU32 (b, options_len_at, 5);
  EXPECT_FALSE (DecodeJob (b));
  PutU32 (b, options_len_at, 0xffffffffu);
  EXPECT_FALSE (DecodeJob (b));

  std::string big (WEFT_IPC_MAX_OPTIONS + 1, 'o');
  EXPECT_FALSE (DecodeJob (EncodeJob (big)));
  std::string max (WEFT_IPC_MAX_OPTIONS, 'o');
  EXPECT_TRUE (DecodeJob (EncodeJob (max)));

  // Result: the message length follows id (8), status (4), code (4).
  const size_t message_len_at = WEFT_IPC_HEADER_SIZE + 16;
  Bytes r = EncodeResult (SampleResult ("out"));
  PutU32 (r, message_len_at, 0x7fffffffu);
  EXPECT_FALSE (DecodeResult (r));

  std::string huge (WEFT_IPC_MAX_OUTPUT + 1, 'r');
  EXPECT_FALSE (DecodeResult (EncodeResult (SampleResult (huge))));
  std::string most (WEFT_IPC_MAX_OUTPUT, 'r');
  EXPECT_TRUE (DecodeResult (EncodeResult (SampleResult (most))));
}

TEST (WeftIpc, UnknownKindsStatusesAndCodesAreRefused)
{
  EXPECT_FALSE (DecodeJob (EncodeJob ("", 0)));
  EXPECT_FALSE (DecodeJob (EncodeJob ("", 63)));  // between the real and the test kinds
  EXPECT_FALSE (DecodeJob (EncodeJob ("", 0xffffffffu)));
  EXPECT_FALSE (DecodeJob (EncodeJob ("", WEFT_JOB_BENCH, 0)));
  EXPECT_TRUE (DecodeJob (EncodeJob ("", WEFT_JOB_TEST_OPEN_PATH)));

  std::string none;
  WeftIpcResult r = SampleResult (none);
  r.status = static_cast<WeftIpcStatus> (3);
  EXPECT_FALSE (DecodeResult (EncodeResult (r)));

  r = SampleResult (none);
  r.status = WEFT_IPC_STATUS_ERROR;
  r.error_code = WEFT_ERROR_CANCELLED;  // the parent's to decide, not the worker's
  EXPECT_FALSE (DecodeResult (EncodeResult (r)));
  r.error_code = 1000;
  EXPECT_FALSE (DecodeResult (EncodeResult (r)));
}

TEST (WeftIpc, InconsistentResultsAreRefused)
{
  std::string bad_utf8 = "\xff\xfe";
  std::string message = "oops";
  std::string output = "output", none;  // r points into these
  WeftIpcResult r;

  r = SampleResult (none);
  r.status = WEFT_IPC_STATUS_ERROR;
  r.message = bad_utf8.data ();
  r.message_len = bad_utf8.size ();
  EXPECT_FALSE (DecodeResult (EncodeResult (r)));

  r = SampleResult (output);
  r.status = WEFT_IPC_STATUS_ERROR;  // failed, yet with output
  EXPECT_FALSE (DecodeResult (EncodeResult (r)));

  r = SampleResult (output);
  r.status = WEFT_IPC_STATUS_CANCELLED;
  EXPECT_FALSE (DecodeResult (EncodeResult (r)));

  r = SampleResult (none);
  r.error_code = WEFT_ERROR_IO;  // succeeded, yet with an error code
  EXPECT_FALSE (DecodeResult (EncodeResult (r)));

  r = SampleResult (none);
  r.message = message.data ();
  r.message_len = message.size ();
  EXPECT_FALSE (DecodeResult (EncodeResult (r)));

  r = SampleResult (none);
  r.stats.maxrss_kb = G_MAXUINT64;
  EXPECT_FALSE (DecodeResult (EncodeResult (r)));
}

TEST (WeftIpc, ResultPointersStayInsideTheBuffer)
{
  Bytes b = EncodeResult (SampleResult ("inside"));
  WeftIpcResult r;

  ASSERT_TRUE (DecodeResult (b, &r));
  EXPECT_GE (r.output, b.data ());
  EXPECT_LE (r.output + r.output_len, b.data () + b.size ());
}

// Random damage, as a cheap stand-in for a fuzzer that the sanitizer builds
// run: the decoders must never read out of bounds, and whatever they accept
// must be exactly what the encoder would write for the decoded fields.
TEST (WeftIpc, RandomlyDamagedMessagesAreRefusedOrCanonical)
{
  std::string output = "result!", message;
  Bytes job = EncodeJob ("options");
  GBytes *save_options = weft_job_save_options ("/home/user/notes.txt", 0600);
  gsize save_options_len = 0;
  const char *save_data = static_cast<const char *> (g_bytes_get_data (save_options, &save_options_len));
  Bytes save = EncodeJob (std::string (save_data, save_options_len), WEFT_JOB_SAVE);
  Bytes result = EncodeResult (SampleResult (output));
  GRand *rand = g_rand_new_with_seed (20261127);
  int accepted = 0;

  g_bytes_unref (save_options);
  for (int i = 0; i < 30000; i++)
    {
      // Odd rounds damage a job message, a bench or a save in turn.
      Bytes b = (i % 2) ? ((i % 4 == 1) ? job : save) : result;
      int n_flips = g_rand_int_range (rand, 1, 4);

      for (int f = 0; f < n_flips; f++)
        b[g_rand_int_range (rand, 0, b.size ())] = static_cast<guint8> (g_rand_int_range (rand, 0, 256));
      if (g_rand_boolean (rand))
        b.resize (g_rand_int_range (rand, 0, b.size () + 1));

      // A heap copy of exactly the datagram's size, so that ASan sees any
      // read past its end.
      guint8 *exact = static_cast<guint8 *> (g_memdup2 (b.data (), b.size ()));
      GByteArray *again = g_byte_array_new ();
      if (i % 2)
        {
          WeftIpcJob decoded;
          if (weft_ipc_decode_job (exact, b.size (), &decoded, nullptr))
            {
              accepted++;
              weft_ipc_encode_job (again, &decoded);
              EXPECT_EQ (Bytes (again->data, again->data + again->len), b);
            }
        }
      else
        {
          WeftIpcResult decoded;
          if (weft_ipc_decode_result (exact, b.size (), &decoded, nullptr))
            {
              accepted++;
              weft_ipc_encode_result (again, &decoded);
              EXPECT_EQ (Bytes (again->data, again->data + again->len), b);
            }
        }
      g_byte_array_unref (again);
      g_free (exact);
    }
  g_rand_free (rand);
  // Damage to payload bytes (ids, options, output) is legitimately accepted.
  EXPECT_GT (accepted, 0);
}

}  // namespace
