/* weft-compare-window.c: runs the backend comparison off the main thread and charts it. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>
#include <sys/resource.h>

#include "weft-application.h"
#include "weft-chart.h"
#include "weft-compare-window.h"
#include "weft-export.h"
#include "weft-stats.h"

#define GENERATED_LINES 1000000
#define PROGRESS_INTERVAL_MS 100
/* How long a comparison waits for the editor's own background work, and
 * how long that must have been quiet: no job in flight, and the main
 * thread under QUIET_PERCENT of a core. */
#define WAIT_LIMIT_MS 180000
#define QUIET_MS 500
#define QUIET_PERCENT 15

/* One comparison, shared by the window (main thread) and the GTask's
 * thread. The config and input are set before the thread starts and only
 * read after; the counters and the cancel flag are atomics. */
typedef struct
{
  WeftCompareConfig      config;
  char                  *worker_path;
  char                  *language;
  WeftJobInput          *input;  /* NULL: generate */
  WeftCompareCancelFlag  cancel;
  atomic_uint            done;
  atomic_uint            total;
} CompareJob;

struct _WeftCompareWindow
{
  AdwWindow       parent_instance;

  WeftJobInput   *input;
  char           *source_name;
  CompareJob     *job;        /* the running one, owned by its GTask; NULL when idle */
  GArray         *rows;       /* the last finished comparison */
  guint           progress_source;
  guint           wait_source;
  gint64          wait_started_us;
  guint           quiet_ms;
  gboolean        started_busy;  /* the wait ran out: the runs shared the cores */
  gint64          main_cpu_us;   /* the main thread's CPU time at the last look */
  /* Set by dispose: a comparison still running then finishes into nothing. */
  gboolean        disposed;

  GtkProgressBar *progress;
  GtkWidget      *start_button;
  GtkWidget      *cancel_button;
  GtkWidget      *export_box;
  GtkLabel       *status_label;
  WeftChart      *charts[3];
};

G_DEFINE_FINAL_TYPE (WeftCompareWindow, weft_compare_window, ADW_TYPE_WINDOW)

static void
compare_job_free (gpointer data)
{
  CompareJob *job = data;

  g_free (job->worker_path);
  g_free (job->language);
  g_clear_pointer (&job->input, weft_job_input_unref);
  g_free (job);
}

static void
on_compare_progress (guint    done,
                     guint    total,
                     gpointer user_data)
{
  CompareJob *job = user_data;

  atomic_store_explicit (&job->total, total, memory_order_relaxed);
  atomic_store_explicit (&job->done, done, memory_order_relaxed);
}

static void
compare_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  CompareJob *job = task_data;
  g_autoptr(WeftJobInput) generated = NULL;
  GError *error = NULL;
  GArray *rows;

  if (job->input == NULL)
    {
      size_t len;
      char *text = weft_compare_make_lines (GENERATED_LINES, &len);
      g_autoptr(GBytes) bytes = g_bytes_new_take (text, len);

      generated = weft_job_input_new_bytes (bytes);
    }
  job->config.worker_path = job->worker_path;
  job->config.spell_language = job->language;
  rows = weft_compare_run (&job->config, job->input != NULL ? job->input : generated,
                           on_compare_progress, job, &job->cancel, &error);
  if (rows == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, rows, (GDestroyNotify) weft_compare_rows_free);
}

/* The language the settings ask for, or the locale's ("de_DE.UTF-8" ->
 * "de_DE"), or English where the locale names none. */
static char *
dup_spell_language (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  g_autofree char *language = g_settings_get_string (settings, "spell-language");
  const char * const *names = g_get_language_names ();

  g_autofree char *locale = NULL;

  if (language[0] != '\0')
    return g_steal_pointer (&language);
  locale = g_strndup (names[0], strcspn (names[0], ".@"));
  if (!g_str_equal (locale, "C") && !g_str_equal (locale, "POSIX"))
    return g_steal_pointer (&locale);
  return g_strdup ("en_US");
}

static void
weft_compare_window_set_running (WeftCompareWindow *self,
                                 gboolean           running)
{
  gtk_widget_set_sensitive (self->start_button, !running);
  gtk_widget_set_visible (self->cancel_button, running);
  gtk_widget_set_sensitive (self->cancel_button, running);
  if (running)
    gtk_widget_grab_focus (self->cancel_button);
}

static gboolean
on_progress_due (gpointer user_data)
{
  WeftCompareWindow *self = user_data;
  guint done, total;

  if (self->job == NULL)
    return G_SOURCE_CONTINUE;
  done = atomic_load_explicit (&self->job->done, memory_order_relaxed);
  total = atomic_load_explicit (&self->job->total, memory_order_relaxed);
  if (total > 0)
    {
      g_autofree char *text = g_strdup_printf (_("%u of %u runs"), done, total);

      gtk_progress_bar_set_fraction (self->progress, (double) done / total);
      gtk_progress_bar_set_text (self->progress, text);
    }
  else
    gtk_progress_bar_pulse (self->progress);
  return G_SOURCE_CONTINUE;
}

typedef struct
{
  double x[64];
  double speedup[64];
  double cost[64];
  double switches[64];
  guint  n;
} Series;

/* Draws the three charts from @rows: speedup over the 1-worker run with
 * the fitted Amdahl curve, CPU time per job, context switches per job;
 * one line per workload and backend that could be measured. */
static void
weft_compare_window_draw_charts (WeftCompareWindow *self)
{
  guint color = 0;

  for (guint c = 0; c < G_N_ELEMENTS (self->charts); c++)
    weft_chart_clear (self->charts[c]);

  for (guint w = 0; w < WEFT_N_WORKLOADS; w++)
    for (guint k = 0; k < WEFT_N_BACKEND_KINDS; k++)
      {
        Series s = { 0 };
        double base = 0, parallel, curve_x[65], curve_y[65];
        g_autofree char *name = NULL;
        g_autofree char *fit_name = NULL;

        for (guint i = 0; i < self->rows->len && s.n < G_N_ELEMENTS (s.x); i++)
          {
            const WeftCompareRow *row = &g_array_index (self->rows, WeftCompareRow, i);

            if (row->workload != w || row->backend != k || !row->available || row->median_ms <= 0)
              continue;
            if (base == 0)
              base = row->median_ms * row->workers;
            s.x[s.n] = row->workers;
            /* Against one worker when measured; else the first count, scaled. */
            s.speedup[s.n] = base / row->median_ms;
            s.cost[s.n] = row->jobs > 0 ? (row->cpu_user_ms + row->cpu_sys_ms) / row->jobs : 0;
            s.switches[s.n] = row->jobs > 0 ? (row->voluntary_switches + row->involuntary_switches) / row->jobs : 0;
            s.n++;
          }
        if (s.n == 0)
          continue;

        /* TRANSLATORS: a chart series, e.g. "sort, threads" */
        name = g_strdup_printf (_("%s, %s"), weft_workload_name (w), weft_backend_kind_name (k));
        parallel = weft_compare_fit_amdahl (s.x, s.speedup, s.n);
        fit_name = g_strdup_printf (_("%s (Amdahl: %.0f %% parallel)"), name, parallel * 100);
        weft_chart_add_series (self->charts[0], fit_name, WEFT_CHART_LINES, color, s.x, s.speedup, s.n);
        for (guint i = 0; i <= 64; i++)
          {
            curve_x[i] = 1 + (s.x[s.n - 1] - 1) * i / 64.0;
            curve_y[i] = weft_compare_amdahl (parallel, curve_x[i]);
          }
        weft_chart_add_series (self->charts[0], NULL, WEFT_CHART_DASHED, color, curve_x, curve_y, 65);
        weft_chart_add_series (self->charts[1], name, WEFT_CHART_LINES, color, s.x, s.cost, s.n);
        weft_chart_add_series (self->charts[2], name, WEFT_CHART_LINES, color, s.x, s.switches, s.n);
        color++;
      }
}

static void
show_no_result (WeftCompareWindow *self,
                const char        *message)
{
  gtk_progress_bar_set_fraction (self->progress, 0);
  gtk_progress_bar_set_text (self->progress, NULL);
  gtk_label_set_text (self->status_label, message);
}

static void
on_compare_done (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  WeftCompareWindow *self = WEFT_COMPARE_WINDOW (object);
  g_autoptr(GError) error = NULL;
  GArray *rows = g_task_propagate_pointer (G_TASK (result), &error);
  GString *notes;

  self->job = NULL;
  if (self->disposed)
    {
      g_clear_pointer (&rows, weft_compare_rows_free);
      return;
    }
  notes = g_string_new (NULL);
  g_clear_handle_id (&self->progress_source, g_source_remove);
  weft_compare_window_set_running (self, FALSE);

  if (rows == NULL)
    {
      show_no_result (self, g_error_matches (error, WEFT_ERROR, WEFT_ERROR_CANCELLED)
                              ? _("The comparison was cancelled.") : error->message);
      g_string_free (notes, TRUE);
      return;
    }

  g_clear_pointer (&self->rows, weft_compare_rows_free);
  self->rows = rows;
  gtk_progress_bar_set_fraction (self->progress, 1);
  gtk_progress_bar_set_text (self->progress, _("Done"));

  if (self->started_busy)
    g_string_append (notes, _("The editor was still busy when the runs began (GTK lays out every line of a "
                              "large document once it is open, on one core, for a minute or more): they shared "
                              "the processors with it, and the speedups are lower than on a quiet machine."));
  /* Each reason a row is missing, once. */
  for (guint i = 0; i < rows->len; i++)
    {
      const WeftCompareRow *row = &g_array_index (rows, WeftCompareRow, i);

      if (row->note != NULL && strstr (notes->str, row->note) == NULL)
        g_string_append_printf (notes, "%s%s%s", notes->len > 0 ? " " : "", row->note,
                                g_str_has_suffix (row->note, ".") ? "" : ".");
    }
  gtk_label_set_text (self->status_label, notes->str);
  g_string_free (notes, TRUE);
  weft_compare_window_draw_charts (self);
  gtk_widget_set_sensitive (self->export_box, TRUE);
}

static gint64
main_thread_cpu_us (void)
{
  struct rusage usage;

  if (getrusage (RUSAGE_THREAD, &usage) != 0)
    return 0;
  return weft_stats_timeval_us (&usage.ru_utime) + weft_stats_timeval_us (&usage.ru_stime);
}

static gboolean
editor_workers_busy (void)
{
  GApplication *app = g_application_get_default ();
  WeftBackend *backend = WEFT_IS_APPLICATION (app) ? weft_application_get_backend (WEFT_APPLICATION (app)) : NULL;
  WeftBackendStats stats;

  if (backend == NULL)
    return FALSE;
  weft_backend_get_stats (backend, &stats);
  return stats.submitted > stats.completed + stats.failed + stats.cancelled;
}

static void
launch_compare (WeftCompareWindow *self)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, on_compare_done, NULL);

  gtk_progress_bar_set_text (self->progress, _("Starting…"));
  g_task_set_task_data (task, self->job, compare_job_free);
  g_task_run_in_thread (task, compare_thread);
}

/* Runs on the main thread every PROGRESS_INTERVAL_MS while waiting, so its
 * own CPU time there is what the main thread did meanwhile: GTK still
 * laying out a large document just opened keeps a core busy for seconds. */
static gboolean
on_wait_due (gpointer user_data)
{
  WeftCompareWindow *self = user_data;
  gint64 cpu_us = main_thread_cpu_us ();
  gboolean main_busy = (cpu_us - self->main_cpu_us) * 100 > (gint64) PROGRESS_INTERVAL_MS * 1000 * QUIET_PERCENT;

  self->main_cpu_us = cpu_us;
  self->quiet_ms = main_busy || editor_workers_busy () ? 0 : self->quiet_ms + PROGRESS_INTERVAL_MS;
  if (atomic_load_explicit (&self->job->cancel, memory_order_acquire))
    {
      /* Never handed to a thread: it ends here. */
      self->wait_source = 0;
      g_clear_pointer (&self->job, compare_job_free);
      g_clear_handle_id (&self->progress_source, g_source_remove);
      weft_compare_window_set_running (self, FALSE);
      show_no_result (self, _("The comparison was cancelled."));
      return G_SOURCE_REMOVE;
    }
  if (self->quiet_ms < QUIET_MS &&
      g_get_monotonic_time () - self->wait_started_us < (gint64) WAIT_LIMIT_MS * 1000)
    return G_SOURCE_CONTINUE;
  self->wait_source = 0;
  self->started_busy = self->quiet_ms < QUIET_MS;
  launch_compare (self);
  return G_SOURCE_REMOVE;
}

void
weft_compare_window_start (WeftCompareWindow       *self,
                           const WeftCompareConfig *config)
{
  CompareJob *job;

  g_return_if_fail (WEFT_IS_COMPARE_WINDOW (self));

  if (self->job != NULL)
    return;

  job = g_new0 (CompareJob, 1);
  if (config != NULL)
    job->config = *config;
  else
    weft_compare_config_init (&job->config);
  job->worker_path = weft_application_dup_worker_path ();
  job->language = dup_spell_language ();
  job->input = self->input != NULL ? weft_job_input_ref (self->input) : NULL;
  atomic_init (&job->cancel, FALSE);
  atomic_init (&job->done, 0);
  atomic_init (&job->total, 0);

  self->job = job;
  gtk_label_set_text (self->status_label, "");
  gtk_progress_bar_set_fraction (self->progress, 0);
  weft_compare_window_set_running (self, TRUE);
  self->progress_source = g_timeout_add (PROGRESS_INTERVAL_MS, on_progress_due, self);

  /* First the editor's own work finishes (the spell-check of a document
   * just opened, an autosave, GTK laying out its lines): the runs would
   * otherwise be measured against it rather than against each other. */
  self->wait_started_us = g_get_monotonic_time ();
  self->quiet_ms = 0;
  self->main_cpu_us = main_thread_cpu_us ();
  gtk_progress_bar_set_text (self->progress, _("Waiting for the editor’s background work to finish…"));
  self->wait_source = g_timeout_add (PROGRESS_INTERVAL_MS, on_wait_due, self);
}

void
weft_compare_window_cancel (WeftCompareWindow *self)
{
  g_return_if_fail (WEFT_IS_COMPARE_WINDOW (self));

  if (self->job != NULL)
    {
      atomic_store_explicit (&self->job->cancel, TRUE, memory_order_release);
      gtk_widget_set_sensitive (self->cancel_button, FALSE);
      gtk_progress_bar_set_text (self->progress, _("Cancelling…"));
    }
}

gboolean
weft_compare_window_get_running (WeftCompareWindow *self)
{
  g_return_val_if_fail (WEFT_IS_COMPARE_WINDOW (self), FALSE);

  return self->job != NULL;
}

GArray *
weft_compare_window_get_rows (WeftCompareWindow *self)
{
  g_return_val_if_fail (WEFT_IS_COMPARE_WINDOW (self), NULL);

  return self->rows;
}

guint
weft_compare_window_get_n_charted (WeftCompareWindow *self)
{
  g_return_val_if_fail (WEFT_IS_COMPARE_WINDOW (self), 0);

  return weft_chart_get_n_series (self->charts[1]);
}

static void
on_start_clicked (WeftCompareWindow *self)
{
  weft_compare_window_start (self, NULL);
}

/* A JSON array of the rows: the JSON Lines of `weft --bench`, bracketed. */
static char *
rows_to_json (GArray *rows)
{
  g_autofree char *jsonl = weft_compare_rows_to_jsonl (rows);
  g_auto(GStrv) lines = g_strsplit (g_strchomp (jsonl), "\n", -1);
  g_autofree char *joined = g_strjoinv (",\n ", lines);

  return g_strdup_printf ("[%s]\n", joined);
}

static void
on_export_clicked (GtkButton         *button,
                   WeftCompareWindow *self)
{
  gboolean csv = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "csv"));
  g_autofree char *contents = NULL;

  if (self->rows == NULL)
    return;
  contents = csv ? weft_compare_rows_to_csv (self->rows) : rows_to_json (self->rows);
  weft_export_save (GTK_WINDOW (self), csv ? "weft-compare.csv" : "weft-compare.json", contents);
}

static gboolean
on_close_request (WeftCompareWindow *self)
{
  /* The thread stops at its next check; the task keeps the window's
   * object alive until then. */
  weft_compare_window_cancel (self);
  return FALSE;
}

GtkWidget *
weft_compare_window_new (GtkWindow    *transient_for,
                         WeftJobInput *input,
                         const char   *source_name)
{
  WeftCompareWindow *self = g_object_new (WEFT_TYPE_COMPARE_WINDOW,
                                          "transient-for", transient_for,
                                          "title", _("Compare Backends"),
                                          "default-width", 820,
                                          "default-height", 760,
                                          NULL);
  g_autofree char *intro = NULL;
  GtkWidget *label;

  self->input = input != NULL ? weft_job_input_ref (input) : NULL;
  self->source_name = g_strdup (source_name);
  intro = g_strdup_printf (_("Runs the same sort, spell-check and autosave work on %s with threads and "
                             "with processes, for 1 to %u workers, three times each, away from the "
                             "window. Speedup is against one worker; the dashed line is Amdahl’s law "
                             "fitted to it."),
                           source_name, 2 * weft_backend_default_workers ());
  label = g_object_get_data (G_OBJECT (self), "intro");
  gtk_label_set_text (GTK_LABEL (label), intro);
  return GTK_WIDGET (self);
}

static void
weft_compare_window_dispose (GObject *object)
{
  WeftCompareWindow *self = WEFT_COMPARE_WINDOW (object);

  self->disposed = TRUE;
  if (self->wait_source != 0)
    {
      /* Never handed to a thread: it is still ours. */
      g_clear_handle_id (&self->wait_source, g_source_remove);
      g_clear_pointer (&self->job, compare_job_free);
    }
  if (self->job != NULL)
    atomic_store_explicit (&self->job->cancel, TRUE, memory_order_release);
  g_clear_handle_id (&self->progress_source, g_source_remove);
  g_clear_pointer (&self->input, weft_job_input_unref);
  g_clear_pointer (&self->rows, weft_compare_rows_free);
  g_clear_pointer (&self->source_name, g_free);

  G_OBJECT_CLASS (weft_compare_window_parent_class)->dispose (object);
}

static void
weft_compare_window_class_init (WeftCompareWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = weft_compare_window_dispose;
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static GtkWidget *
add_button (GtkBox     *box,
            const char *mnemonic,
            const char *tooltip)
{
  GtkWidget *button = gtk_button_new_with_mnemonic (mnemonic);

  gtk_widget_set_tooltip_text (button, tooltip);
  gtk_box_append (box, button);
  return button;
}

static void
weft_compare_window_init (WeftCompareWindow *self)
{
  GtkWidget *outer = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *scroller = gtk_scrolled_window_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *row, *label, *button;
  const char *titles[3][3] = {
    { N_("Speedup"), N_("workers"), N_("× one worker") },
    { N_("CPU time per job"), N_("workers"), N_("ms") },
    { N_("Context switches per job"), N_("workers"), N_("switches") },
  };

  gtk_box_append (GTK_BOX (outer), adw_header_bar_new ());
  gtk_widget_set_margin_start (box, 18);
  gtk_widget_set_margin_end (box, 18);
  gtk_widget_set_margin_top (box, 12);
  gtk_widget_set_margin_bottom (box, 18);

  label = gtk_label_new (NULL);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_box_append (GTK_BOX (box), label);
  g_object_set_data (G_OBJECT (self), "intro", label);

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  self->progress = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_progress_bar_set_show_text (self->progress, TRUE);
  gtk_widget_set_hexpand (GTK_WIDGET (self->progress), TRUE);
  gtk_widget_set_valign (GTK_WIDGET (self->progress), GTK_ALIGN_CENTER);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->progress), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Comparison progress"), -1);
  gtk_box_append (GTK_BOX (row), GTK_WIDGET (self->progress));
  self->cancel_button = add_button (GTK_BOX (row), _("_Cancel"), _("Stop the comparison"));
  gtk_widget_set_visible (self->cancel_button, FALSE);
  g_signal_connect_swapped (self->cancel_button, "clicked", G_CALLBACK (weft_compare_window_cancel), self);
  self->start_button = add_button (GTK_BOX (row), _("_Start"), _("Run the comparison; the editor stays usable meanwhile"));
  gtk_widget_add_css_class (self->start_button, "suggested-action");
  g_signal_connect_swapped (self->start_button, "clicked", G_CALLBACK (on_start_clicked), self);
  gtk_box_append (GTK_BOX (box), row);

  label = gtk_label_new (NULL);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "dim-label");
  gtk_box_append (GTK_BOX (box), label);
  self->status_label = GTK_LABEL (label);

  for (guint c = 0; c < G_N_ELEMENTS (self->charts); c++)
    {
      self->charts[c] = WEFT_CHART (weft_chart_new ());
      weft_chart_set_labels (self->charts[c], _(titles[c][0]), _(titles[c][1]), _(titles[c][2]));
      gtk_widget_set_size_request (GTK_WIDGET (self->charts[c]), -1, 300);
      /* Sort, spell and a draft differ by orders of magnitude per job. */
      weft_chart_set_log_scale (self->charts[c], c > 0);
      gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->charts[c]));
    }

  self->export_box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_halign (self->export_box, GTK_ALIGN_END);
  button = add_button (GTK_BOX (self->export_box), _("Export _JSON…"), _("Save the measured rows as JSON"));
  g_signal_connect (button, "clicked", G_CALLBACK (on_export_clicked), self);
  button = add_button (GTK_BOX (self->export_box), _("Export C_SV…"), _("Save the measured rows as CSV"));
  g_object_set_data (G_OBJECT (button), "csv", GINT_TO_POINTER (TRUE));
  g_signal_connect (button, "clicked", G_CALLBACK (on_export_clicked), self);
  gtk_widget_set_sensitive (self->export_box, FALSE);
  gtk_box_append (GTK_BOX (box), self->export_box);

  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), box);
  gtk_widget_set_vexpand (scroller, TRUE);
  gtk_box_append (GTK_BOX (outer), scroller);
  adw_window_set_content (ADW_WINDOW (self), outer);
  g_signal_connect (self, "close-request", G_CALLBACK (on_close_request), NULL);
}
