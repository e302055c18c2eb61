// test-instance.cc: the installed-style `weft` binary, run as a user would: from
// the command line, a second time while it runs, and driven by real key events.
#include <gtest/gtest.h>

#include <gio/gio.h>
#include <signal.h>
#include <sys/wait.h>

#include <functional>
#include <string>
#include <vector>

#include "weft-test-files.h"

namespace {

// Polls @cond every 20 ms until it holds or @timeout_ms passes; the timeout
// only catches a broken build.
bool
PollUntil (const std::function<bool ()> &cond, int timeout_ms = 20000)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  while (!cond ())
    {
      if (g_get_monotonic_time () > deadline)
        return false;
      g_usleep (20 * 1000);
    }
  return true;
}

std::string
Shell (const std::string &cmdline, int *status = nullptr)
{
  g_autofree char *out = nullptr;
  int wait_status = 0;
  g_autoptr (GError) error = nullptr;
  if (!g_spawn_command_line_sync (cmdline.c_str (), &out, nullptr, &wait_status, &error))
    return "";
  if (status != nullptr)
    *status = wait_status;
  return out != nullptr ? out : "";
}


// Whether a Weft instance still holds its name on the session bus. The bus
// lets go of a dead process's name a moment after it exits; a Weft started
// before that would hand its work to the dead one.
static bool
NameIsOwned ()
{
  g_autoptr (GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, nullptr, nullptr);
  if (bus == nullptr)
    return false;
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
      bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
      g_variant_new ("(s)", "io.github.weftedit.Weft"), G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE, -1,
      nullptr, nullptr);
  gboolean owned = FALSE;
  if (reply != nullptr)
    g_variant_get (reply, "(b)", &owned);
  return owned;
}

// Whether the first window's action @name is enabled, as the application
// exports it on the session bus (org.gtk.Actions). "save" is off while the
// shown document loads, so it tells from outside when typing is accepted.
static bool
WindowActionEnabled (const char *name)
{
  g_autoptr (GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, nullptr, nullptr);
  if (bus == nullptr)
    return false;
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
      bus, "io.github.weftedit.Weft", "/io/github/weftedit/Weft/window/1", "org.gtk.Actions", "Describe",
      g_variant_new ("(s)", name), G_VARIANT_TYPE ("((bgav))"), G_DBUS_CALL_FLAGS_NONE, -1, nullptr, nullptr);
  gboolean enabled = FALSE;
  if (reply != nullptr)
    g_variant_get (reply, "((bgav))", &enabled, nullptr, nullptr);
  return enabled;
}

class WeftInstance : public ::testing::Test
{
protected:
  void SetUp () override
  {
    binary_ = g_getenv ("WEFT_BINARY");
    ASSERT_NE (binary_, nullptr) << "WEFT_BINARY must name the weft executable";
    ASSERT_NE (g_getenv ("DISPLAY"), nullptr);
    ASSERT_NE (g_find_program_in_path ("xdotool"), nullptr) << "xdotool is needed to send key events";
    dir_ = g_dir_make_tmp ("weft-instance-XXXXXX", nullptr);
    ASSERT_NE (dir_, nullptr);
  }

  void TearDown () override
  {
    if (pid_ > 0)
      {
        kill (pid_, SIGKILL);
        waitpid (pid_, nullptr, 0);
      }
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir_);
    ASSERT_EQ (system (cmd), 0);
    g_free (dir_);
  }

  std::string Path (const char *name) const
  {
    g_autofree char *p = g_build_filename (dir_, name, nullptr);
    return p;
  }

  void Start (const std::vector<std::string> &args)
  {
    // A new instance must not find the last one's name still on the bus.
    ASSERT_TRUE (PollUntil ([] { return !NameIsOwned (); }));
    std::vector<char *> argv;
    argv.push_back (const_cast<char *> (binary_));
    for (const auto &a : args)
      argv.push_back (const_cast<char *> (a.c_str ()));
    argv.push_back (nullptr);
    // As a desktop starts it: G_SLICE unset, whatever the test runner set.
    g_auto (GStrv) envp = g_environ_unsetenv (g_get_environ (), "G_SLICE");
    g_autoptr (GError) error = nullptr;
    ASSERT_TRUE (g_spawn_async (nullptr, argv.data (), envp, G_SPAWN_DO_NOT_REAP_CHILD, nullptr,
                                nullptr, &pid_, &error))
        << error->message;
  }

  // The value of @name in the running instance's environment, or "(unset)".
  std::string EnvironmentOf (const char *name) const
  {
    g_autofree char *path = g_strdup_printf ("/proc/%d/environ", (int) pid_);
    g_autofree char *contents = nullptr;
    gsize len = 0;
    std::string prefix = std::string (name) + "=";

    if (!g_file_get_contents (path, &contents, &len, nullptr))
      return "(unreadable)";
    for (gsize i = 0; i < len; i += strlen (contents + i) + 1)
      if (g_str_has_prefix (contents + i, prefix.c_str ()))
        return contents + i + prefix.size ();
    return "(unset)";
  }

  // The X window whose title is exactly @title, or "" when there is none.
  static std::string WindowTitled (const std::string &title)
  {
    std::string out = Shell ("xdotool search --onlyvisible --name '^" + title + "$'");
    return out.substr (0, out.find ('\n'));
  }

  const char *binary_ = nullptr;
  char *dir_ = nullptr;
  GPid pid_ = 0;
};

TEST_F (WeftInstance, SecondLaunchOpensInTheRunningWindowAndKeysEditAndSave)
{
  ASSERT_TRUE (g_file_set_contents (Path ("first.txt").c_str (), "one\ntwo\nthree\n", -1, nullptr));
  ASSERT_TRUE (g_file_set_contents (Path ("second.txt").c_str (), "alpha\nbeta\n", -1, nullptr));

  Start ({ "+2", Path ("first.txt") });
  std::string wid;
  ASSERT_TRUE (PollUntil ([&] { return !(wid = WindowTitled ("first.txt — Weft")).empty (); }));
  // On GLib before 2.76 the editor started itself again with GSlice's
  // malloc mode (the same process: exec keeps the pid); later GLib has
  // no other mode, and nothing is set.
  EXPECT_EQ (EnvironmentOf ("G_SLICE"), glib_check_version (2, 76, 0) != nullptr ? "always-malloc" : "(unset)");
  // Under its own name, as system monitors show it.
  g_autofree char *comm_path = g_strdup_printf ("/proc/%d/comm", (int) pid_);
  g_autofree char *comm = nullptr;
  ASSERT_TRUE (g_file_get_contents (comm_path, &comm, nullptr, nullptr));
  EXPECT_STREQ (g_strstrip (comm), "weft");

  // A second `weft FILE` hands its file to the running instance and exits.
  int status = -1;
  Shell (std::string (binary_) + " +2 " + Path ("second.txt"), &status);
  EXPECT_TRUE (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  ASSERT_TRUE (PollUntil ([&] { return WindowTitled ("second.txt — Weft") == wid; }))
      << "the running window should show the second file";
  EXPECT_EQ (waitpid (pid_, nullptr, WNOHANG), 0) << "the first instance must still run";
  // The window shows the file's name as soon as its tab opens; keys are
  // taken once its text is in.
  ASSERT_TRUE (PollUntil ([] { return WindowActionEnabled ("save"); }));

  // Real key events: the cursor is at line 2, as asked on the command line.
  Shell ("xdotool windowfocus --sync " + wid);
  Shell ("xdotool type --delay 5 --window " + wid + " typed");
  Shell ("xdotool key --window " + wid + " ctrl+s");
  EXPECT_TRUE (PollUntil ([&] { return ReadAll (Path ("second.txt")) == "alpha\ntypedbeta\n"; }))
      << ReadAll (Path ("second.txt"));

  // Ctrl+Z undoes the typing, Ctrl+S saves that.
  Shell ("xdotool key --window " + wid + " ctrl+z");
  Shell ("xdotool key --window " + wid + " ctrl+s");
  EXPECT_TRUE (PollUntil ([&] { return ReadAll (Path ("second.txt")) == "alpha\nbeta\n"; }))
      << ReadAll (Path ("second.txt"));

  // Find and replace by keyboard alone: Ctrl+H, the word, Tab to the
  // replacement, Return replaces the match; Escape leaves the search.
  Shell ("xdotool key --window " + wid + " ctrl+h");
  Shell ("xdotool type --delay 5 --window " + wid + " beta");
  Shell ("xdotool key --window " + wid + " Tab");
  Shell ("xdotool type --delay 5 --window " + wid + " gamma");
  Shell ("xdotool key --window " + wid + " Return Escape ctrl+s");
  EXPECT_TRUE (PollUntil ([&] { return ReadAll (Path ("second.txt")) == "alpha\ngamma\n"; }))
      << ReadAll (Path ("second.txt"));
  // Back in the text, at the start of line 2.
  Shell ("xdotool key --window " + wid + " Home");

  // Quitting with an unsaved change asks first; Return picks Save, the
  // default answer, and the application then ends on its own.
  Shell ("xdotool type --delay 5 --window " + wid + " last");
  Shell ("xdotool key --window " + wid + " ctrl+q");
  std::string dialog;
  ASSERT_TRUE (PollUntil ([&] {
    std::string all = Shell ("xdotool search --onlyvisible --pid " + std::to_string (pid_));
    for (size_t pos = 0, next; pos < all.size (); pos = next + 1)
      {
        next = all.find ('\n', pos);
        if (next == std::string::npos)
          next = all.size ();
        std::string w = all.substr (pos, next - pos);
        if (!w.empty () && w != wid)
          dialog = w;
      }
    return !dialog.empty ();
  }));
  EXPECT_EQ (waitpid (pid_, nullptr, WNOHANG), 0) << "Weft must not quit before the user answers";
  Shell ("xdotool windowfocus --sync " + dialog);
  Shell ("xdotool key --window " + dialog + " Return");

  int exit_status = -1;
  ASSERT_TRUE (PollUntil ([&] { return waitpid (pid_, &exit_status, WNOHANG) == pid_; }));
  pid_ = 0;
  EXPECT_TRUE (WIFEXITED (exit_status) && WEXITSTATUS (exit_status) == 0);
  EXPECT_EQ (ReadAll (Path ("second.txt")), "alpha\nlastgamma\n");
  EXPECT_EQ (ReadAll (Path ("first.txt")), "one\ntwo\nthree\n");
}

// Finds a draft in the session folder whose text contains @needle.
static bool
DraftContains (const std::string &needle)
{
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "weft", "drafts", nullptr);
  g_autoptr (GDir) d = g_dir_open (dir, 0, nullptr);
  if (d == nullptr)
    return false;
  for (const char *name; (name = g_dir_read_name (d)) != nullptr;)
    if (g_str_has_suffix (name, ".draft"))
      {
        g_autofree char *path = g_build_filename (dir, name, nullptr);
        if (ReadAll (path).find (needle) != std::string::npos)
          return true;
      }
  return false;
}

TEST_F (WeftInstance, KillDashNineLosesNothingAndACleanQuitRestoresTheSession)
{
  // Start from no session at all.
  g_autofree char *weft_data = g_build_filename (g_get_user_data_dir (), "weft", nullptr);
  ASSERT_EQ (system (("rm -rf '" + std::string (weft_data) + "'").c_str ()), 0);
  ASSERT_TRUE (g_file_set_contents (Path ("third.txt").c_str (), "saved\n", -1, nullptr));

  Start ({ Path ("third.txt") });
  std::string wid;
  ASSERT_TRUE (PollUntil ([&] { return !(wid = WindowTitled ("third.txt — Weft")).empty (); }));

  // A few cycles of typing, waiting for the draft, kill -9 and a bare
  // restart: each restart brings back everything typed before the kill, as
  // unsaved changes, and typing goes on from there.
  std::string typed;
  for (int cycle = 0; cycle < 3; cycle++)
    {
      SCOPED_TRACE ("cycle " + std::to_string (cycle));
      const std::string word = "unsaved" + std::to_string (cycle);
      Shell ("xdotool windowfocus --sync " + wid);
      // At the end, wherever the session file left the cursor.
      Shell ("xdotool key --window " + wid + " ctrl+End");
      Shell ("xdotool type --delay 5 --window " + wid + " " + word);
      typed += word;
      // Autosave writes a draft a moment after typing stops.
      ASSERT_TRUE (PollUntil ([&] { return DraftContains ("saved\n" + typed); }));

      kill (pid_, SIGKILL);
      waitpid (pid_, nullptr, 0);
      pid_ = 0;
      EXPECT_EQ (ReadAll (Path ("third.txt")), "saved\n");

      // The next start brings the change back, unsaved, into the file's tab.
      Start ({});
      ASSERT_TRUE (PollUntil ([&] { return !(wid = WindowTitled ("• third.txt — Weft")).empty (); }));
    }
  Shell ("xdotool windowfocus --sync " + wid);
  Shell ("xdotool key --window " + wid + " ctrl+s");
  EXPECT_TRUE (PollUntil ([&] { return ReadAll (Path ("third.txt")) == "saved\n" + typed; }))
      << ReadAll (Path ("third.txt"));

  // A clean quit, then a start with no arguments: the same document again.
  ASSERT_TRUE (PollUntil ([&] { return !WindowTitled ("third.txt — Weft").empty (); }));
  // Quit as the desktop would (the keyboard path is the test above).
  {
    g_autoptr (GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, nullptr, nullptr);
    ASSERT_NE (bus, nullptr);
    g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
        bus, "io.github.weftedit.Weft", "/io/github/weftedit/Weft", "org.gtk.Actions", "Activate",
        g_variant_new ("(sava{sv})", "quit", nullptr, nullptr), nullptr, G_DBUS_CALL_FLAGS_NONE, -1, nullptr,
        nullptr);
    ASSERT_NE (reply, nullptr);
  }
  int status = -1;
  ASSERT_TRUE (PollUntil ([&] { return waitpid (pid_, &status, WNOHANG) == pid_; }));
  pid_ = 0;
  EXPECT_TRUE (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  Start ({});
  g_autofree char *session_file = g_build_filename (weft_data, "drafts", "session.ini", nullptr);
  EXPECT_TRUE (PollUntil ([&] { return !WindowTitled ("third.txt — Weft").empty (); }))
      << ReadAll (session_file) << Shell ("xdotool search --onlyvisible --name Weft getwindowname %@");
}

}  // namespace
