/* weft-application.c: the Weft application — single instance, command line, app-wide actions. */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <unistd.h>

#include "weft-application.h"
#include "weft-spell.h"
#include "weft-preferences-window.h"
#include "weft-spell-controller.h"

struct _WeftApplication
{
  AdwApplication  parent_instance;

  GSettings      *settings;
  GtkCssProvider *zoom_css;
  WeftSession    *session;
  /* The workers background jobs go to; replaced live when the user picks
   * the other kind. Main thread only. */
  WeftBackend    *backend;
  /* Backends swapped out and still finishing their jobs, and the totals of
   * those that have finished, per kind: the stats panel shows what each
   * kind did in this session. Main thread only. */
  GPtrArray      *draining;
  WeftBackendStats retired[WEFT_N_BACKEND_KINDS];
  char           *backend_spell_language;  /* what the processes backend's workers preload */
  WeftWatchdog   *watchdog;
  guint           restored : 1;
};

G_DEFINE_FINAL_TYPE (WeftApplication, weft_application, ADW_TYPE_APPLICATION)

/* GLib before 2.76 keeps the blocks freed through GSlice (GTK 4.8's text
 * B-tree takes its lines and segments from it) in per-size magazines, and
 * gives back every magazine left unused for 15 s at once, under its lock,
 * in whichever call frees the next block. After a 1M-line replacement,
 * that is a 15-35 ms stall of the main loop 15 s later, and again in the
 * first slice of the next replacement (measured with weft-bench-sort-ui).
 * GSlice's malloc mode has no such step, and GLib 2.76 made it the only
 * one. The mode is read from G_SLICE before main() runs (GObject's type
 * system allocates from GSlice as it loads), so the only way to choose it
 * is to start again with the variable set. */
void
weft_application_exec_with_malloc_slices (char **argv)
{
  g_autofree char *path = NULL;

  if (glib_check_version (2, 76, 0) == NULL || g_getenv ("G_SLICE") != NULL)
    return;
  /* The program's own path, not /proc/self/exe: the process takes its
   * name (what `ps` and system monitors show) from the file run. */
  path = g_file_read_link ("/proc/self/exe", NULL);
  if (path == NULL || !g_setenv ("G_SLICE", "always-malloc", TRUE))
    return;
  execv (path, argv);
  /* Not fatal: the editor works in either mode. */
  g_unsetenv ("G_SLICE");
}

WeftApplication *
weft_application_new (GApplicationFlags extra_flags)
{
  return g_object_new (WEFT_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_HANDLES_COMMAND_LINE | G_APPLICATION_HANDLES_OPEN | extra_flags,
                       "resource-base-path", "/io/github/weftedit/Weft",
                       NULL);
}

WeftWindow *
weft_application_new_window (WeftApplication *self)
{
  WeftWindow *window;

  g_return_val_if_fail (WEFT_IS_APPLICATION (self), NULL);

  window = weft_window_new (GTK_APPLICATION (self));
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

WeftBackend *
weft_application_get_backend (WeftApplication *self)
{
  g_return_val_if_fail (WEFT_IS_APPLICATION (self), NULL);

  return self->backend;
}

WeftWatchdog *
weft_application_get_watchdog (WeftApplication *self)
{
  g_return_val_if_fail (WEFT_IS_APPLICATION (self), NULL);

  return self->watchdog;
}

/* weft-worker sits beside weft in the build tree, and in libexecdir once
 * installed; WEFT_WORKER_PATH overrides both. */
static char *
find_worker (void)
{
  const char *env = g_getenv ("WEFT_WORKER_PATH");
  g_autofree char *self_exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *build_app_dir = g_build_filename (WEFT_BUILD_ROOT, "src", "app", NULL);

  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  if (self_exe != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (self_exe);

      if (g_str_equal (dir, build_app_dir))
        return g_build_filename (WEFT_BUILD_ROOT, "src", "worker", "weft-worker", NULL);
    }
  return g_build_filename (LIBEXECDIR, "weft-worker", NULL);
}

static WeftBackendKind
backend_kind_of (WeftBackend *backend)
{
  WeftBackendKind kind = WEFT_BACKEND_KIND_THREADS;

  weft_backend_kind_from_name (weft_backend_get_name (backend), &kind);
  return kind;
}

void
weft_application_get_backend_stats (WeftApplication  *self,
                                    WeftBackendKind   kind,
                                    WeftBackendStats *out_stats)
{
  WeftBackendStats stats;

  g_return_if_fail (WEFT_IS_APPLICATION (self));
  g_return_if_fail (kind < WEFT_N_BACKEND_KINDS);

  *out_stats = self->retired[kind];
  for (guint i = 0; i < self->draining->len; i++)
    {
      WeftBackend *backend = g_ptr_array_index (self->draining, i);

      if (backend_kind_of (backend) != kind)
        continue;
      weft_backend_get_stats (backend, &stats);
      stats.n_workers = 0;
      weft_backend_stats_merge (out_stats, &stats);
    }
  out_stats->n_workers = 0;
  if (self->backend != NULL && backend_kind_of (self->backend) == kind)
    {
      weft_backend_get_stats (self->backend, &stats);
      weft_backend_stats_merge (out_stats, &stats);
    }
  weft_backend_stats_finish (out_stats);
}

/* A backend swapped out: its jobs finish, then its totals join the
 * session's for its kind. */
typedef struct
{
  WeftApplication *app;
  WeftBackend     *backend;
} Retiring;

char *
weft_application_dup_worker_path (void)
{
  return find_worker ();
}

static void
on_old_backend_closed (gpointer user_data)
{
  Retiring *retiring = user_data;
  WeftApplication *self = retiring->app;
  WeftBackendStats stats;

  weft_backend_get_stats (retiring->backend, &stats);
  weft_backend_stats_merge (&self->retired[backend_kind_of (retiring->backend)], &stats);
  g_ptr_array_remove (self->draining, retiring->backend);
  g_object_unref (self);
  g_free (retiring);
}

static void
weft_application_retire_backend (WeftApplication *self,
                                 WeftBackend     *backend)
{
  Retiring *retiring = g_new0 (Retiring, 1);

  retiring->app = g_object_ref (self);
  retiring->backend = backend;
  g_ptr_array_add (self->draining, backend);
  /* Jobs already queued or running there finish there, each exactly once;
   * new jobs go to the new backend. */
  weft_backend_shutdown (backend, WEFT_SHUTDOWN_DRAIN, on_old_backend_closed, retiring);
}

void
weft_application_cancel_owner (WeftApplication *self,
                               guint64          owner)
{
  g_return_if_fail (WEFT_IS_APPLICATION (self));

  if (self->backend != NULL)
    weft_backend_cancel_owner (self->backend, owner);
  for (guint i = 0; i < self->draining->len; i++)
    weft_backend_cancel_owner (g_ptr_array_index (self->draining, i), owner);
}

/* Creates the backend the settings ask for. New jobs go to it at once; the
 * one it replaces finishes what it was given and goes away. */
static void
weft_application_update_backend (WeftApplication *self)
{
  g_autofree char *kind = g_settings_get_string (self->settings, "worker-backend");
  guint n_workers = g_settings_get_uint (self->settings, "worker-count");
  WeftBackend *backend = NULL;
  g_autoptr(GError) error = NULL;

  g_autofree char *spell_language = weft_spell_dup_language_setting (self->settings);

  /* Worker processes load their dictionary before their sandbox closes, so
   * another language needs new workers; threads load another when asked. */
  if (self->backend != NULL && g_str_equal (weft_backend_get_name (self->backend), kind) &&
      (!g_str_equal (kind, "processes") || g_strcmp0 (spell_language, self->backend_spell_language) == 0))
    {
      weft_backend_set_workers (self->backend, n_workers);
      return;
    }

  if (g_str_equal (kind, "processes"))
    {
      g_autofree char *worker = find_worker ();

      backend = weft_process_backend_new_full (n_workers, worker, spell_language, NULL, &error);
      g_free (self->backend_spell_language);
      self->backend_spell_language = g_strdup (spell_language);
      if (backend == NULL)
        {
          GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));
          g_autofree char *message =
            g_strdup_printf (_("Background work stays on threads: the helper processes could not start (%s)"),
                             error->message);

          if (WEFT_IS_WINDOW (window))
            weft_window_show_message (WEFT_WINDOW (window), message);
          else
            g_warning ("%s", message);
        }
    }
  if (backend == NULL)
    {
      if (self->backend != NULL && g_str_equal (weft_backend_get_name (self->backend), "threads"))
        return;
      /* Threads load a dictionary as they start when checking is on, so
       * that the first file opened does not share its frames with that. */
      backend = weft_thread_backend_new_full (n_workers,
                                              g_settings_get_boolean (self->settings, "spell-check") ?
                                              spell_language : NULL,
                                              NULL);
    }

  if (self->backend != NULL)
    weft_application_retire_backend (self, self->backend);
  self->backend = backend;
}

WeftSession *
weft_application_get_session (WeftApplication *self)
{
  g_return_val_if_fail (WEFT_IS_APPLICATION (self), NULL);

  return self->session;
}

/* Brings back what the last run left open: after a crash every document
 * with its unsaved changes, after a clean exit the files (if the user wants
 * that). Once per run, into the first window. */
static void
weft_application_restore (WeftApplication *self,
                          WeftWindow      *window)
{
  g_autoptr(GPtrArray) entries = NULL;
  gboolean clean_exit = TRUE;

  if (self->restored)
    return;
  self->restored = TRUE;

  entries = weft_session_read_previous (self->session, &clean_exit);
  if (clean_exit && !g_settings_get_boolean (self->settings, "restore-session"))
    return;
  for (guint i = 0; i < entries->len; i++)
    weft_window_restore (window, g_ptr_array_index (entries, i));
}

static WeftWindow *
weft_application_dup_window (WeftApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (WEFT_IS_WINDOW (window))
    return g_object_ref (WEFT_WINDOW (window));
  return g_object_ref (weft_application_new_window (self));
}

static void
weft_application_activate (GApplication *app)
{
  WeftApplication *self = WEFT_APPLICATION (app);
  g_autoptr(WeftWindow) window = weft_application_dup_window (self);

  weft_application_restore (self, window);
  if (weft_window_get_n_pages (window) == 0)
    weft_window_new_document (window);
  gtk_window_present (GTK_WINDOW (window));
}

static void
weft_application_open (GApplication  *app,
                       GFile        **files,
                       int            n_files,
                       const char    *hint)
{
  WeftApplication *self = WEFT_APPLICATION (app);
  g_autoptr(WeftWindow) window = weft_application_dup_window (self);

  weft_application_restore (self, window);
  for (int i = 0; i < n_files; i++)
    weft_window_open_file (window, files[i], 0);
  gtk_window_present (GTK_WINDOW (window));
}

/* Parses "weft [+LINE] FILE…" in the primary instance, so that a second
 * `weft FILE` opens its files in the window that is already there. */
static int
weft_application_command_line (GApplication            *app,
                               GApplicationCommandLine *command_line)
{
  WeftApplication *self = WEFT_APPLICATION (app);
  g_auto(GStrv) argv = NULL;
  g_autoptr(WeftWindow) window = NULL;
  int argc, line = 0;
  gboolean any_file = FALSE;

  argv = g_application_command_line_get_arguments (command_line, &argc);

  for (int i = 1; i < argc; i++)
    {
      const char *arg = argv[i];
      gint64 value;

      if (arg[0] == '+' && g_ascii_string_to_signed (arg + 1, 10, 1, G_MAXINT, &value, NULL))
        {
          line = (int) value;
          continue;
        }
      if (g_str_equal (arg, "--"))
        continue;

      if (window == NULL)
        {
          window = weft_application_dup_window (self);
          weft_application_restore (self, window);
        }
      {
        g_autoptr(GFile) file = g_application_command_line_create_file_for_arg (command_line, arg);

        weft_window_open_file (window, file, line);
      }
      line = 0;
      any_file = TRUE;
    }

  if (!any_file)
    g_application_activate (app);
  else
    gtk_window_present (GTK_WINDOW (window));
  return EXIT_SUCCESS;
}

static int
weft_application_handle_local_options (GApplication *app,
                                       GVariantDict *options)
{
  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("weft %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  /* --bench itself never gets here: see local_command_line. */
  if (g_variant_dict_contains (options, "backend") || g_variant_dict_contains (options, "workers") ||
      g_variant_dict_contains (options, "runs"))
    {
      g_printerr (_("weft: --backend, --workers and --runs go with --bench\n"));
      return 2;
    }
  return -1;
}

/* The spell-checking language the settings name, where they can be read:
 * the comparison runs without a window, maybe without installed schemas. */
static char *
dup_bench_spell_language (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = source != NULL ? g_settings_schema_source_lookup (source, APP_ID, TRUE) : NULL;
  g_autofree char *language = NULL;

  if (schema != NULL && g_settings_schema_has_key (schema, "spell-language"))
    {
      g_autoptr(GSettings) settings = g_settings_new (APP_ID);

      language = g_settings_get_string (settings, "spell-language");
    }
  if (language == NULL || language[0] == '\0')
    return g_strdup ("en_US");
  return g_steal_pointer (&language);
}

/* `weft --bench [--backend threads|processes|both] [--workers N] [--runs N]
 * [FILE]`: the stats panel's comparison without a window, as JSON Lines on
 * stdout. Returns the exit status. */
static int
weft_application_run_bench (char **arguments)
{
  g_auto(GStrv) args = g_strdupv (arguments);
  g_autofree char *backend = NULL;
  g_autofree char *worker = find_worker ();
  g_autofree char *language = NULL;
  g_autofree char *text = NULL;
  g_autofree char *jsonl = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(WeftJobInput) input = NULL;
  GArray *rows;
  gboolean bench = FALSE;
  int workers = 0, runs = 0;
  size_t len = 0;
  WeftCompareConfig config;
  const GOptionEntry entries[] = {
    { "bench", 0, 0, G_OPTION_ARG_NONE, &bench, NULL, NULL },
    { "backend", 0, 0, G_OPTION_ARG_STRING, &backend, NULL, NULL },
    { "workers", 0, 0, G_OPTION_ARG_INT, &workers, NULL, NULL },
    { "runs", 0, 0, G_OPTION_ARG_INT, &runs, NULL, NULL },
    { NULL }
  };

  context = g_option_context_new (NULL);
  g_option_context_set_help_enabled (context, FALSE);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse_strv (context, &args, &error))
    {
      g_printerr ("weft: %s\n", error->message);
      return 2;
    }

  weft_compare_config_init (&config);
  if (backend != NULL && !g_str_equal (backend, "both"))
    {
      WeftBackendKind kind;

      if (!weft_backend_kind_from_name (backend, &kind))
        {
          g_printerr (_("weft: --backend is threads, processes or both, not “%s”\n"), backend);
          return 2;
        }
      config.backends = 1u << kind;
    }
  if (workers < 0 || workers > 1024 || runs < 0 || runs > 1000)
    {
      g_printerr (_("weft: --workers and --runs take a positive number\n"));
      return 2;
    }
  if (workers > 0)
    config.min_workers = config.max_workers = (guint) workers;
  if (runs > 0)
    config.runs = (guint) runs;
  if (g_strv_length (args) > 2)
    {
      g_printerr (_("weft: --bench takes at most one file\n"));
      return 2;
    }

  if (args[1] != NULL)
    {
      if (!g_file_get_contents (args[1], &text, &len, &error))
        {
          g_printerr ("weft: %s\n", error->message);
          return 1;
        }
      if (!g_utf8_validate_len (text, len, NULL))
        {
          g_printerr (_("weft: “%s” is not UTF-8 text\n"), args[1]);
          return 1;
        }
    }
  else
    text = weft_compare_make_lines (1000000, &len);

  weft_spell_process_init ();
  language = dup_bench_spell_language ();
  config.worker_path = worker;
  config.spell_language = language;
  bytes = g_bytes_new_take (g_steal_pointer (&text), len);
  input = weft_job_input_new_bytes (bytes);
  rows = weft_compare_run (&config, input, NULL, NULL, NULL, &error);
  if (rows == NULL)
    {
      g_printerr ("weft: %s\n", error->message);
      return 1;
    }
  jsonl = weft_compare_rows_to_jsonl (rows);
  weft_compare_rows_free (rows);
  fputs (jsonl, stdout);
  return fflush (stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* --bench runs before the application registers or opens anything. */
static gboolean
weft_application_local_command_line (GApplication   *app,
                                     char         ***arguments,
                                     int            *exit_status)
{
  char **argv = *arguments;

  for (int i = 1; argv[i] != NULL && !g_str_equal (argv[i], "--"); i++)
    if (g_str_equal (argv[i], "--bench"))
      {
        *exit_status = weft_application_run_bench (argv);
        return TRUE;
      }
  return G_APPLICATION_CLASS (weft_application_parent_class)->local_command_line (app, arguments, exit_status);
}

static void
action_quit (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  g_autoptr(GList) windows = g_list_copy (gtk_application_get_windows (app));

  /* Each window asks about its own unsaved changes; the application ends
   * when the last one has closed. */
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (GTK_WINDOW (l->data));
}

static void
action_new_window (GSimpleAction *action,
                   GVariant      *param,
                   gpointer       user_data)
{
  WeftWindow *window = weft_application_new_window (WEFT_APPLICATION (user_data));

  weft_window_new_document (window);
}

static void
action_preferences (GSimpleAction *action,
                    GVariant      *param,
                    gpointer       user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  GtkWidget *preferences = weft_preferences_window_new (gtk_application_get_active_window (app));

  gtk_window_present (GTK_WINDOW (preferences));
}

static void
action_about (GSimpleAction *action,
              GVariant      *param,
              gpointer       user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  static const char *developers[] = { "The Weft developers", NULL };
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", gtk_application_get_active_window (app),
                        "application-name", _("Weft"),
                        "application-icon", APP_ID,
                        "version", PACKAGE_VERSION,
                        "developer-name", _("The Weft developers"),
                        "developers", developers,
                        "comments", _("A text editor whose window never waits: saving, "
                                      "spell-checking and sorting run on background workers."),
                        "website", "https://github.com/weftedit/weft",
                        "issue-url", "https://github.com/weftedit/weft/issues",
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "translator-credits", _("translator-credits"),
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

/* The text's font: the system's monospace font or the user's, times the
 * zoom factor, as CSS on every view. */
static void
weft_application_update_font (WeftApplication *self)
{
  double scale = g_settings_get_double (self->settings, "font-scale");
  g_autofree char *css = NULL;
  char number[G_ASCII_DTOSTR_BUF_SIZE];

  if (g_settings_get_boolean (self->settings, "use-custom-font"))
    {
      g_autofree char *font = g_settings_get_string (self->settings, "custom-font");
      PangoFontDescription *desc = pango_font_description_from_string (font);
      const char *family = pango_font_description_get_family (desc);
      double points = pango_font_description_get_size (desc) / (double) PANGO_SCALE;
      g_autofree char *quoted = NULL;

      if (points <= 0)
        points = 11;
      /* Locale-independent numbers: CSS wants a dot, whatever the language. */
      g_ascii_formatd (number, sizeof number, "%.2f", points * scale);
      quoted = g_strescape (family != NULL ? family : "Monospace", NULL);
      css = g_strdup_printf (".weft-view { font-family: \"%s\"; font-size: %spt; }", quoted, number);
      pango_font_description_free (desc);
    }
  else
    {
      g_ascii_formatd (number, sizeof number, "%.3f", scale);
      css = g_strdup_printf (".weft-view { font-size: %sem; }", number);
    }
  gtk_css_provider_load_from_data (self->zoom_css, css, -1);
}

static const GActionEntry app_entries[] = {
  { "quit", action_quit },
  { "new-window", action_new_window },
  { "about", action_about },
  { "preferences", action_preferences },
};

static const struct {
  const char *action;
  const char *accels[3];
} accels[] = {
  { "app.quit", { "<Control>q", NULL } },
  { "app.new-window", { "<Control><Shift>n", NULL } },
  { "app.preferences", { "<Control>comma", NULL } },
  { "win.new-document", { "<Control>n", "<Control>t", NULL } },
  { "win.open", { "<Control>o", NULL } },
  { "win.save", { "<Control>s", NULL } },
  { "win.save-as", { "<Control><Shift>s", NULL } },
  { "win.close-page", { "<Control>w", NULL } },
  { "window.close", { "<Control><Shift>w", NULL } },
  { "win.find", { "<Control>f", NULL } },
  { "win.replace", { "<Control>h", NULL } },
  { "win.find-next", { "<Control>g", NULL } },
  { "win.find-previous", { "<Control><Shift>g", NULL } },
  { "win.go-to-line", { "<Control>l", NULL } },
  { "win.sort-lines", { "F9", NULL } },
  { "win.show-stats", { "F8", NULL } },
  { "win.zoom-in", { "<Control>plus", "<Control>equal", NULL } },
  { "win.zoom-out", { "<Control>minus", NULL } },
  { "win.zoom-reset", { "<Control>0", NULL } },
  { "win.wrap-text", { "<Alt>z", NULL } },
  { "win.next-misspelling", { "F7", NULL } },
  { "win.previous-misspelling", { "<Shift>F7", NULL } },
};

static void
weft_application_startup (GApplication *app)
{
  WeftApplication *self = WEFT_APPLICATION (app);
  static const char * const font_keys[] = { "font-scale", "use-custom-font", "custom-font" };

  G_APPLICATION_CLASS (weft_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_entries, G_N_ELEMENTS (app_entries), self);
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (self), accels[i].action, accels[i].accels);

  self->settings = g_settings_new (APP_ID);
  self->zoom_css = gtk_css_provider_new ();
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (self->zoom_css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  for (guint i = 0; i < G_N_ELEMENTS (font_keys); i++)
    {
      g_autofree char *signal = g_strconcat ("changed::", font_keys[i], NULL);

      g_signal_connect_object (self->settings, signal,
                               G_CALLBACK (weft_application_update_font), self, G_CONNECT_SWAPPED);
    }
  weft_application_update_font (self);

  /* GtkSourceView reads every language definition the first time a file's
   * language is guessed (15–30 ms here), and every style scheme the first
   * time one is looked up. Both happen now, before the main loop runs and
   * before any window exists, rather than in the first file's load, where
   * they held up a window already on screen. */
  (void) gtk_source_language_manager_get_language_ids (gtk_source_language_manager_get_default ());
  (void) gtk_source_style_scheme_manager_get_scheme_ids (gtk_source_style_scheme_manager_get_default ());

  self->watchdog = weft_watchdog_new (NULL);
  g_signal_connect_object (self->settings, "changed::spell-language",
                           G_CALLBACK (weft_application_update_backend), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::worker-backend",
                           G_CALLBACK (weft_application_update_backend), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::worker-count",
                           G_CALLBACK (weft_application_update_backend), self, G_CONNECT_SWAPPED);
  weft_application_update_backend (self);

  if (self->session == NULL)
    {
      g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "weft", "drafts", NULL);

      self->session = weft_session_new (dir);
    }
}

static void
weft_application_shutdown (GApplication *app)
{
  WeftApplication *self = WEFT_APPLICATION (app);

  /* Reaching here is a clean exit: every window asked about its changes. */
  if (self->session != NULL)
    weft_session_end (self->session);
  /* Nothing queued is worth waiting for once the windows are gone. */
  if (self->backend != NULL)
    weft_backend_shutdown (g_steal_pointer (&self->backend), WEFT_SHUTDOWN_CANCEL, NULL, NULL);
  g_clear_pointer (&self->watchdog, weft_watchdog_free);

  G_APPLICATION_CLASS (weft_application_parent_class)->shutdown (app);
}

static void
weft_application_dispose (GObject *object)
{
  WeftApplication *self = WEFT_APPLICATION (object);

  g_clear_object (&self->settings);
  g_clear_pointer (&self->backend_spell_language, g_free);
  g_clear_object (&self->zoom_css);
  g_clear_object (&self->session);
  g_clear_pointer (&self->draining, g_ptr_array_unref);

  G_OBJECT_CLASS (weft_application_parent_class)->dispose (object);
}

static void
weft_application_class_init (WeftApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = weft_application_dispose;
  app_class->activate = weft_application_activate;
  app_class->open = weft_application_open;
  app_class->command_line = weft_application_command_line;
  app_class->handle_local_options = weft_application_handle_local_options;
  app_class->local_command_line = weft_application_local_command_line;
  app_class->startup = weft_application_startup;
  app_class->shutdown = weft_application_shutdown;
}

static void
weft_application_init (WeftApplication *self)
{
  static const GOptionEntry entries[] = {
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Print the version and exit"), NULL },
    { "bench", 0, 0, G_OPTION_ARG_NONE, NULL,
      N_("Compare the backends on FILE (or a generated 1M-line text) and print JSON Lines"), NULL },
    { "backend", 0, 0, G_OPTION_ARG_STRING, NULL, N_("With --bench: threads, processes or both"), N_("KIND") },
    { "workers", 0, 0, G_OPTION_ARG_INT, NULL, N_("With --bench: only this many workers"), N_("N") },
    { "runs", 0, 0, G_OPTION_ARG_INT, NULL, N_("With --bench: timed runs per row"), N_("N") },
    { NULL }
  };

  self->draining = g_ptr_array_new ();

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  g_application_set_option_context_parameter_string (G_APPLICATION (self), _("[+LINE] [FILE…]"));
}
