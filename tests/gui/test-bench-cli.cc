// test-bench-cli.cc: `weft --bench` prints one valid JSON object per row, with
// every field, for each workload, backend and worker count, and no window.
#include <gtest/gtest.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sys/wait.h>

#include <cctype>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

// A strict JSON reader, enough to validate a row: objects, arrays, strings
// with escapes, numbers, true, false, null. Top-level members are kept as
// their kind ('s', 'n', 'b', 'z' for null, 'o', 'a') and their text (a
// string's without quotes, escapes as written).
class Json
{
public:
  explicit Json (const std::string &text) : s_ (text) {}

  bool ParseObject (std::map<std::string, std::pair<char, std::string>> *members)
  {
    Space ();
    if (!Eat ('{'))
      return false;
    Space ();
    if (Eat ('}'))
      return AtEnd ();
    do
      {
        std::string key, value;
        char kind;
        Space ();
        if (!String (&key))
          return false;
        Space ();
        if (!Eat (':'))
          return false;
        size_t start = (Space (), pos_);
        if (!Value (&kind))
          return false;
        value = s_.substr (start, pos_ - start);
        if (kind == 's')
          value = value.substr (1, value.size () - 2);  // without the quotes
        if (members->count (key))
          return false;  // duplicate member
        (*members)[key] = { kind, value };
        Space ();
      }
    while (Eat (','));
    return Eat ('}') && AtEnd ();
  }

private:
  bool AtEnd () { Space (); return pos_ == s_.size (); }
  void Space () { while (pos_ < s_.size () && strchr (" \t\r\n", s_[pos_])) pos_++; }
  bool Eat (char c) { if (pos_ < s_.size () && s_[pos_] == c) { pos_++; return true; } return false; }
  bool Word (const char *w)
  {
    size_t n = strlen (w);
    if (s_.compare (pos_, n, w) != 0)
      return false;
    pos_ += n;
    return true;
  }

  bool String (std::string *out)
  {
    if (!Eat ('"'))
      return false;
    while (pos_ < s_.size () && s_[pos_] != '"')
      {
        unsigned char c = (unsigned char) s_[pos_++];
        if (c < 0x20)
          return false;
        if (c == '\\')
          {
            if (pos_ >= s_.size ())
              return false;
            char e = s_[pos_++];
            if (e == 'u')
              {
                for (int i = 0; i < 4; i++)
                  if (pos_ >= s_.size () || !isxdigit ((unsigned char) s_[pos_++]))
                    return false;
              }
            else if (!strchr ("\"\\/bfnrt", e))
              return false;
          }
        out->push_back ((char) c);
      }
    return Eat ('"');
  }

  bool Number ()
  {
    size_t start = pos_;
    Eat ('-');
    if (Eat ('0'))
      ;
    else if (pos_ < s_.size () && s_[pos_] >= '1' && s_[pos_] <= '9')
      while (pos_ < s_.size () && isdigit ((unsigned char) s_[pos_]))
        pos_++;
    else
      return false;
    if (Eat ('.'))
      {
        if (pos_ >= s_.size () || !isdigit ((unsigned char) s_[pos_]))
          return false;
        while (pos_ < s_.size () && isdigit ((unsigned char) s_[pos_]))
          pos_++;
      }
    if (Eat ('e') || Eat ('E'))
      {
        if (!Eat ('+'))
          Eat ('-');
        if (pos_ >= s_.size () || !isdigit ((unsigned char) s_[pos_]))
          return false;
        while (pos_ < s_.size () && isdigit ((unsigned char) s_[pos_]))
          pos_++;
      }
    return pos_ > start;
  }

  bool Value (char *kind)
  {
    std::string ignored;
    Space ();
    if (pos_ >= s_.size ())
      return false;
    switch (s_[pos_])
      {
      case '"': *kind = 's'; return String (&ignored);
      case 't': *kind = 'b'; return Word ("true");
      case 'f': *kind = 'b'; return Word ("false");
      case 'n': *kind = 'z'; return Word ("null");
      case '{': case '[':
        {
          bool object = s_[pos_++] == '{';
          char close = object ? '}' : ']', inner;
          *kind = object ? 'o' : 'a';
          Space ();
          if (Eat (close))
            return true;
          do
            {
              Space ();
              if (object && (!String (&ignored) || (Space (), !Eat (':'))))
                return false;
              if (!Value (&inner))
                return false;
              Space ();
            }
          while (Eat (','));
          return Eat (close);
        }
      default: *kind = 'n'; return Number ();
      }
  }

  std::string s_;
  size_t pos_ = 0;
};

TEST (JsonReader, RejectsWhatIsNotJson)
{
  std::map<std::string, std::pair<char, std::string>> m;
  EXPECT_TRUE (Json ("{\"a\": 1.5e3, \"b\": [null, true, \"x\\n\"]}").ParseObject (&m));
  for (const char *bad : { "{\"a\": 1,}", "{\"a\": nan}", "{\"a\": 01}", "{a: 1}", "{\"a\": 1} x",
                           "{\"a\": \"\t\"}", "{\"a\": 1, \"a\": 2}", "{\"a\": 1.}" })
    {
      std::map<std::string, std::pair<char, std::string>> members;
      EXPECT_FALSE (Json (bad).ParseObject (&members)) << bad;
    }
}

std::string
RunBench (const std::vector<std::string> &args, int *status)
{
  std::vector<char *> argv;
  std::string binary = g_getenv ("WEFT_BINARY");
  argv.push_back (const_cast<char *> (binary.c_str ()));
  for (const std::string &a : args)
    argv.push_back (const_cast<char *> (a.c_str ()));
  argv.push_back (nullptr);
  g_autofree char *out = nullptr;
  g_autoptr (GError) error = nullptr;
  // No DISPLAY: the comparison must not need one.
  g_auto (GStrv) env = g_environ_unsetenv (g_get_environ (), "DISPLAY");
  env = g_environ_unsetenv (env, "WAYLAND_DISPLAY");
  EXPECT_TRUE (g_spawn_sync (nullptr, argv.data (), env, G_SPAWN_DEFAULT, nullptr, nullptr, &out, nullptr,
                             status, &error))
    << (error ? error->message : "");
  return out != nullptr ? out : "";
}

TEST (WeftBench, PrintsValidJsonWithEveryFieldForEachRow)
{
  g_autofree char *dir = g_dir_make_tmp ("weft-bench-XXXXXX", nullptr);
  g_autofree char *path = g_build_filename (dir, "input.txt", nullptr);
  std::string text;
  for (int i = 0; i < 2000; i++)
    text += "line " + std::to_string (2000 - i) + " of the weft and the warp\n";
  ASSERT_TRUE (g_file_set_contents (path, text.c_str (), (gssize) text.size (), nullptr));

  int status = -1;
  std::string out = RunBench ({ "--bench", "--backend", "both", "--workers", "2", "--runs", "2", path }, &status);
  ASSERT_TRUE (g_spawn_check_wait_status (status, nullptr)) << out;
  ASSERT_NE (out, "") << "no rows";

  static const char *const numbers[] = {
    "workers", "input_bytes", "runs", "median_ms", "min_ms", "max_ms", "p99_ms", "mean_ms",
    "cpu_user_ms", "cpu_sys_ms", "voluntary_switches", "involuntary_switches", "ipc_bytes", "jobs",
  };
  std::set<std::string> seen;
  g_auto (GStrv) lines = g_strsplit (out.c_str (), "\n", -1);
  int n_rows = 0;
  for (int i = 0; lines[i] != nullptr && lines[i][0] != '\0'; i++, n_rows++)
    {
      std::map<std::string, std::pair<char, std::string>> m;
      ASSERT_TRUE (Json (lines[i]).ParseObject (&m)) << lines[i];
      ASSERT_EQ (m["bench"].first, 's') << lines[i];
      ASSERT_EQ (m["backend"].first, 's') << lines[i];
      ASSERT_EQ (m["available"].first, 'b') << lines[i];
      ASSERT_TRUE (m.count ("note")) << lines[i];
      bool available = m["available"].second == "true";
      for (const char *field : numbers)
        {
          ASSERT_TRUE (m.count (field)) << field << " missing in " << lines[i];
          bool always = !strcmp (field, "workers") || !strcmp (field, "input_bytes") || !strcmp (field, "runs");
          EXPECT_EQ (m[field].first, available || always ? 'n' : 'z') << field << " in " << lines[i];
        }
      EXPECT_EQ (m["workers"].second, "2");
      EXPECT_EQ (m["input_bytes"].second, std::to_string (text.size ()));
      if (available)
        {
          EXPECT_EQ (m["runs"].second, "2");
          EXPECT_GT (g_ascii_strtod (m["median_ms"].second.c_str (), nullptr), 0.0) << lines[i];
          EXPECT_GE (g_ascii_strtod (m["max_ms"].second.c_str (), nullptr),
                     g_ascii_strtod (m["min_ms"].second.c_str (), nullptr));
        }
      std::string key = m["bench"].second + " " + m["backend"].second;
      EXPECT_TRUE (seen.insert (key).second) << "twice: " << key;
      if (key == "autosave threads" || key == "sort threads")
        {
          EXPECT_TRUE (available) << lines[i];
          EXPECT_EQ (g_ascii_strtod (m["ipc_bytes"].second.c_str (), nullptr), 0.0) << lines[i];
        }
      if (key == "autosave processes" || key == "sort processes")
        {
          EXPECT_TRUE (available) << lines[i];
          EXPECT_EQ (m["note"].first, 'z') << lines[i];
          // The text went to the workers (and, for sort, came back sorted).
          EXPECT_GT (g_ascii_strtod (m["ipc_bytes"].second.c_str (), nullptr), (double) text.size ()) << lines[i];
        }
      if (m["bench"].second == "sort")
        {
          // Two jobs per part, one part per worker, on either backend.
          EXPECT_EQ (m["jobs"].second, "4") << lines[i];
          // CPU time is counted in scheduler ticks: a sort this small may
          // show none, but never more than its two workers could have spent.
          double cpu = g_ascii_strtod (m["cpu_user_ms"].second.c_str (), nullptr) +
                       g_ascii_strtod (m["cpu_sys_ms"].second.c_str (), nullptr);
          EXPECT_GE (cpu, 0.0) << lines[i];
          EXPECT_LE (cpu, 2 * g_ascii_strtod (m["max_ms"].second.c_str (), nullptr) + 40.0) << lines[i];
        }
    }
  EXPECT_EQ (n_rows, 6);
  for (const char *bench : { "sort", "spell", "autosave" })
    for (const char *backend : { "threads", "processes" })
      EXPECT_TRUE (seen.count (std::string (bench) + " " + backend)) << bench << " " << backend;

  g_unlink (path);
  g_rmdir (dir);
}

TEST (WeftBench, RejectsABadBackendWithAMessage)
{
  int status = -1;
  std::string out = RunBench ({ "--bench", "--backend", "fibres" }, &status);
  EXPECT_FALSE (g_spawn_check_wait_status (status, nullptr));
  EXPECT_EQ (out, "");
}

} // namespace
