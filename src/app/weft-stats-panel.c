/* weft-stats-panel.c: the side panel that shows what each backend has cost in this session. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "weft-application.h"
#include "weft-chart.h"
#include "weft-stats-panel.h"

/* Kinds of real work as weft-job.h numbers them: SAVE is 3, the sort jobs
 * take 4 … 7 and the spell-check jobs 8 … 11. */
#define KINDS_SAVE_FIRST  WEFT_JOB_SAVE
#define KINDS_SAVE_LAST   WEFT_JOB_SAVE
#define KINDS_SORT_FIRST  4
#define KINDS_SORT_LAST   7
#define KINDS_SPELL_FIRST 8
#define KINDS_SPELL_LAST  11

#define REFRESH_SECONDS 1

typedef struct
{
  const char *id;
  const char *title;    /* translatable, with a mnemonic-free label */
  const char *tooltip;  /* translatable: what it is, and why the backends differ */
} Metric;

static const Metric metrics[] = {
  { "workers", N_("Workers"),
    N_("How many workers this backend has now; 0 when it is not the one in use.") },
  { "jobs-save", N_("Autosave jobs"),
    N_("Drafts written in this session. Both backends run the same code; only where it runs differs.") },
  { "jobs-sort", N_("Sort jobs"),
    N_("Sort Lines work done in this session, on either backend.") },
  { "jobs-spell", N_("Spell-check jobs"),
    N_("Spell-checking passes done in this session, on either backend.") },
  { "jobs-failed", N_("Failed / cancelled"),
    N_("Jobs that ended with an error, and jobs stopped because their result was no longer needed.") },
  { "latency", N_("Latency p50 / p95"),
    N_("Time from handing a job over to its result, for half and for 95 of 100 jobs. "
       "Processes add the trip to another process and back.") },
  { "throughput", N_("Throughput"),
    N_("Jobs finished per second a worker was busy. Processes spend part of each job "
       "passing the text and the answer.") },
  { "cpu", N_("CPU user / system"),
    N_("Processor time the jobs used in their own code and in the kernel. Processes spend "
       "more in the kernel, mapping memory and passing messages.") },
  { "switches", N_("Context switches vol. / invol."),
    N_("How often a worker gave up the processor to wait, or had it taken away. "
       "Processes wait on their sockets, so they switch more.") },
  { "ipc", N_("Bytes over IPC"),
    N_("Bytes sent to and from worker processes. Threads share the editor’s memory and send nothing.") },
  { "memory", N_("Worker memory"),
    N_("The largest worker process’s memory. Threads live in the editor’s memory and have no figure of their own.") },
  { "crashes", N_("Crashes survived"),
    N_("Workers that died and were replaced while the editor carried on. A crashing thread "
       "takes the whole editor down, so threads always show 0.") },
};

static const Metric watchdog_metrics[] = {
  { "watchdog-max", N_("Longest stall"),
    N_("The longest time the window could not answer input or draw. Work on either backend "
       "runs off the window’s thread and should not raise it.") },
  { "watchdog-p99", N_("Stall p99"),
    N_("99 of 100 main-loop iterations took at most this long. Below 16 ms nothing is felt.") },
  { "watchdog-frames", N_("Stalls over 16 ms"),
    N_("Iterations long enough to miss a frame at 60 frames a second.") },
};

struct _WeftStatsPanel
{
  GtkWidget         parent_instance;

  GtkWidget        *scroller;
  GtkLabel         *now_label;
  /* Value labels: metrics × backends, then the watchdog's. */
  GtkLabel         *values[G_N_ELEMENTS (metrics)][WEFT_N_BACKEND_KINDS];
  GtkLabel         *watchdog_values[G_N_ELEMENTS (watchdog_metrics)];
  WeftChart        *timeline;

  WeftBackendStats  stats[WEFT_N_BACKEND_KINDS];
  WeftWatchdogStats watchdog;
  guint             refresh_source;
};

G_DEFINE_FINAL_TYPE (WeftStatsPanel, weft_stats_panel, GTK_TYPE_WIDGET)

GtkWidget *
weft_stats_panel_new (void)
{
  return g_object_new (WEFT_TYPE_STATS_PANEL, NULL);
}

static guint64
jobs_in (const WeftBackendStats *stats,
         guint                   first,
         guint                   last)
{
  guint64 n = 0;

  for (guint k = first; k <= last && k < WEFT_STATS_N_KINDS; k++)
    n += stats->jobs_by_kind[k];
  return n;
}

static char *
format_ms (gint64 us)
{
  if (us < 10000)
    return g_strdup_printf (_("%.1f ms"), us / 1000.0);
  return g_strdup_printf (_("%.0f ms"), us / 1000.0);
}

static char *
format_metric (const char             *id,
               const WeftBackendStats *s)
{
  guint64 finished = s->completed + s->failed;

  if (g_str_equal (id, "workers"))
    return g_strdup_printf ("%u", s->n_workers);
  if (g_str_equal (id, "jobs-save"))
    return g_strdup_printf ("%" G_GUINT64_FORMAT, jobs_in (s, KINDS_SAVE_FIRST, KINDS_SAVE_LAST));
  if (g_str_equal (id, "jobs-sort"))
    return g_strdup_printf ("%" G_GUINT64_FORMAT, jobs_in (s, KINDS_SORT_FIRST, KINDS_SORT_LAST));
  if (g_str_equal (id, "jobs-spell"))
    return g_strdup_printf ("%" G_GUINT64_FORMAT, jobs_in (s, KINDS_SPELL_FIRST, KINDS_SPELL_LAST));
  if (g_str_equal (id, "jobs-failed"))
    return g_strdup_printf ("%" G_GUINT64_FORMAT " / %" G_GUINT64_FORMAT, s->failed, s->cancelled);
  if (g_str_equal (id, "latency"))
    {
      g_autofree char *p50 = format_ms (s->latency_p50_us);
      g_autofree char *p95 = format_ms (s->latency_p95_us);

      return finished == 0 ? g_strdup ("–") : g_strdup_printf ("%s / %s", p50, p95);
    }
  if (g_str_equal (id, "throughput"))
    {
      if (s->run_us <= 0)
        return g_strdup ("–");
      /* TRANSLATORS: jobs per second of a worker's busy time */
      return g_strdup_printf (_("%.1f jobs/s"), (double) finished * G_USEC_PER_SEC / (double) s->run_us);
    }
  if (g_str_equal (id, "cpu"))
    {
      g_autofree char *user = format_ms (s->cpu_user_us);
      g_autofree char *sys = format_ms (s->cpu_sys_us);

      return g_strdup_printf ("%s / %s", user, sys);
    }
  if (g_str_equal (id, "switches"))
    return g_strdup_printf ("%" G_GINT64_FORMAT " / %" G_GINT64_FORMAT,
                            s->voluntary_switches, s->involuntary_switches);
  if (g_str_equal (id, "ipc"))
    return g_format_size (s->ipc_bytes);
  if (g_str_equal (id, "memory"))
    return s->worker_maxrss_kb > 0 ? g_format_size ((guint64) s->worker_maxrss_kb * 1024)
                                   : g_strdup (_("shared"));
  if (g_str_equal (id, "crashes"))
    return g_strdup_printf ("%" G_GUINT64_FORMAT, s->crashes_survived);
  return NULL;
}

static char *
format_watchdog (const char              *id,
                 const WeftWatchdogStats *w)
{
  if (g_str_equal (id, "watchdog-max"))
    return format_ms (w->max_us);
  if (g_str_equal (id, "watchdog-p99"))
    return format_ms (w->p99_us);
  if (g_str_equal (id, "watchdog-frames"))
    return g_strdup_printf ("%" G_GUINT64_FORMAT, w->over_16ms);
  return NULL;
}

void
weft_stats_panel_refresh (WeftStatsPanel *self)
{
  GApplication *app = g_application_get_default ();
  WeftApplication *weft;
  WeftBackend *current;
  double x[WEFT_WATCHDOG_TIMELINE], y[WEFT_WATCHDOG_TIMELINE];

  g_return_if_fail (WEFT_IS_STATS_PANEL (self));

  if (!WEFT_IS_APPLICATION (app))
    return;
  weft = WEFT_APPLICATION (app);

  for (guint k = 0; k < WEFT_N_BACKEND_KINDS; k++)
    {
      weft_application_get_backend_stats (weft, k, &self->stats[k]);
      for (guint m = 0; m < G_N_ELEMENTS (metrics); m++)
        {
          g_autofree char *text = format_metric (metrics[m].id, &self->stats[k]);

          gtk_label_set_text (self->values[m][k], text);
        }
    }

  current = weft_application_get_backend (weft);
  if (current != NULL)
    {
      g_autofree char *text =
        g_strdup_printf (g_str_equal (weft_backend_get_name (current), "processes")
                           ? _("Work runs in %u worker processes now")
                           : _("Work runs on %u worker threads now"),
                         weft_backend_get_workers (current));

      gtk_label_set_text (self->now_label, text);
    }

  if (weft_application_get_watchdog (weft) != NULL)
    weft_watchdog_get_stats (weft_application_get_watchdog (weft), &self->watchdog);
  for (guint m = 0; m < G_N_ELEMENTS (watchdog_metrics); m++)
    {
      g_autofree char *text = format_watchdog (watchdog_metrics[m].id, &self->watchdog);

      gtk_label_set_text (self->watchdog_values[m], text);
    }

  /* Seconds ago on the x axis, the worst stall of each second in ms. */
  for (guint i = 0; i < WEFT_WATCHDOG_TIMELINE; i++)
    {
      x[i] = -(double) (WEFT_WATCHDOG_TIMELINE - 1 - i);
      y[i] = self->watchdog.timeline_max_us[i] / 1000.0;
    }
  weft_chart_clear (self->timeline);
  weft_chart_add_series (self->timeline, NULL, WEFT_CHART_BARS, 0, x, y, WEFT_WATCHDOG_TIMELINE);
}

const char *
weft_stats_panel_get_value (WeftStatsPanel *self,
                            const char     *metric,
                            const char     *backend)
{
  WeftBackendKind kind;

  g_return_val_if_fail (WEFT_IS_STATS_PANEL (self), NULL);

  for (guint m = 0; m < G_N_ELEMENTS (watchdog_metrics); m++)
    if (g_str_equal (metric, watchdog_metrics[m].id))
      return gtk_label_get_text (self->watchdog_values[m]);
  if (!weft_backend_kind_from_name (backend, &kind))
    return NULL;
  for (guint m = 0; m < G_N_ELEMENTS (metrics); m++)
    if (g_str_equal (metric, metrics[m].id))
      return gtk_label_get_text (self->values[m][kind]);
  return NULL;
}

/* The raw numbers behind the panel, one column each in the CSV and one
 * member each in the JSON. */
static const char * const export_fields[] = {
  "workers", "jobs_save", "jobs_sort", "jobs_spell", "submitted", "completed", "failed", "cancelled",
  "latency_p50_us", "latency_p95_us", "latency_max_us", "run_us", "cpu_user_us", "cpu_sys_us",
  "voluntary_switches", "involuntary_switches", "ipc_bytes", "worker_maxrss_kb", "crashes_survived",
};

static void
export_values (const WeftBackendStats *s,
               gint64                  out[G_N_ELEMENTS (export_fields)])
{
  gint64 v[] = {
    s->n_workers, (gint64) jobs_in (s, KINDS_SAVE_FIRST, KINDS_SAVE_LAST),
    (gint64) jobs_in (s, KINDS_SORT_FIRST, KINDS_SORT_LAST),
    (gint64) jobs_in (s, KINDS_SPELL_FIRST, KINDS_SPELL_LAST),
    (gint64) s->submitted, (gint64) s->completed, (gint64) s->failed, (gint64) s->cancelled,
    s->latency_p50_us, s->latency_p95_us, s->latency_max_us, s->run_us, s->cpu_user_us, s->cpu_sys_us,
    s->voluntary_switches, s->involuntary_switches, (gint64) s->ipc_bytes, s->worker_maxrss_kb,
    (gint64) s->crashes_survived,
  };

  G_STATIC_ASSERT (G_N_ELEMENTS (v) == G_N_ELEMENTS (export_fields));
  memcpy (out, v, sizeof v);
}

char *
weft_stats_panel_to_json (WeftStatsPanel *self)
{
  GString *out = g_string_new ("{\"backends\": [");

  g_return_val_if_fail (WEFT_IS_STATS_PANEL (self), NULL);

  for (guint k = 0; k < WEFT_N_BACKEND_KINDS; k++)
    {
      gint64 values[G_N_ELEMENTS (export_fields)];

      export_values (&self->stats[k], values);
      g_string_append_printf (out, "%s\n  {\"backend\": \"%s\"", k > 0 ? "," : "", weft_backend_kind_name (k));
      for (guint f = 0; f < G_N_ELEMENTS (export_fields); f++)
        g_string_append_printf (out, ", \"%s\": %" G_GINT64_FORMAT, export_fields[f], values[f]);
      g_string_append (out, "}");
    }
  g_string_append_printf (out,
                          "],\n \"watchdog\": {\"iterations\": %" G_GUINT64_FORMAT ", \"busy_us\": %" G_GINT64_FORMAT
                          ", \"max_us\": %" G_GINT64_FORMAT ", \"p50_us\": %" G_GINT64_FORMAT
                          ", \"p99_us\": %" G_GINT64_FORMAT ", \"over_16ms\": %" G_GUINT64_FORMAT "}}\n",
                          self->watchdog.n_iterations, self->watchdog.busy_us, self->watchdog.max_us,
                          self->watchdog.p50_us, self->watchdog.p99_us, self->watchdog.over_16ms);
  return g_string_free (out, FALSE);
}

char *
weft_stats_panel_to_csv (WeftStatsPanel *self)
{
  GString *out = g_string_new ("backend");

  g_return_val_if_fail (WEFT_IS_STATS_PANEL (self), NULL);

  for (guint f = 0; f < G_N_ELEMENTS (export_fields); f++)
    g_string_append_printf (out, ",%s", export_fields[f]);
  g_string_append (out, ",watchdog_max_us,watchdog_p99_us\n");
  for (guint k = 0; k < WEFT_N_BACKEND_KINDS; k++)
    {
      gint64 values[G_N_ELEMENTS (export_fields)];

      export_values (&self->stats[k], values);
      g_string_append (out, weft_backend_kind_name (k));
      for (guint f = 0; f < G_N_ELEMENTS (export_fields); f++)
        g_string_append_printf (out, ",%" G_GINT64_FORMAT, values[f]);
      /* The window's stalls belong to neither backend: the same on both lines. */
      g_string_append_printf (out, ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT "\n",
                              self->watchdog.max_us, self->watchdog.p99_us);
    }
  return g_string_free (out, FALSE);
}

static gboolean
on_refresh_due (gpointer user_data)
{
  weft_stats_panel_refresh (user_data);
  return G_SOURCE_CONTINUE;
}

/* Numbers are read only while someone can see them. */
static void
weft_stats_panel_map (GtkWidget *widget)
{
  WeftStatsPanel *self = WEFT_STATS_PANEL (widget);

  GTK_WIDGET_CLASS (weft_stats_panel_parent_class)->map (widget);
  weft_stats_panel_refresh (self);
  if (self->refresh_source == 0)
    self->refresh_source = g_timeout_add_seconds (REFRESH_SECONDS, on_refresh_due, self);
}

static void
weft_stats_panel_unmap (GtkWidget *widget)
{
  WeftStatsPanel *self = WEFT_STATS_PANEL (widget);

  g_clear_handle_id (&self->refresh_source, g_source_remove);
  GTK_WIDGET_CLASS (weft_stats_panel_parent_class)->unmap (widget);
}

static GtkLabel *
add_label (GtkGrid    *grid,
           const char *text,
           int         column,
           int         row,
           const char *tooltip,
           gboolean    heading)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), column == 0 ? 0 : 1);
  gtk_label_set_wrap (GTK_LABEL (label), column == 0);
  gtk_widget_set_hexpand (label, column == 0);
  if (tooltip != NULL)
    gtk_widget_set_tooltip_text (label, tooltip);
  if (heading)
    gtk_widget_add_css_class (label, "heading");
  else if (column > 0)
    gtk_widget_add_css_class (label, "numeric");
  gtk_grid_attach (grid, label, column, row, 1, 1);
  return GTK_LABEL (label);
}

static GtkWidget *
add_heading (GtkBox     *box,
             const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "title-4");
  gtk_widget_set_margin_top (label, 6);
  gtk_box_append (box, label);
  return label;
}

static void
weft_stats_panel_dispose (GObject *object)
{
  WeftStatsPanel *self = WEFT_STATS_PANEL (object);

  g_clear_handle_id (&self->refresh_source, g_source_remove);
  g_clear_pointer (&self->scroller, gtk_widget_unparent);

  G_OBJECT_CLASS (weft_stats_panel_parent_class)->dispose (object);
}

static void
weft_stats_panel_class_init (WeftStatsPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = weft_stats_panel_dispose;
  widget_class->map = weft_stats_panel_map;
  widget_class->unmap = weft_stats_panel_unmap;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "weftstatspanel");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
weft_stats_panel_init (WeftStatsPanel *self)
{
  GtkBox *box = GTK_BOX (gtk_box_new (GTK_ORIENTATION_VERTICAL, 6));
  GtkGrid *grid;
  GtkWidget *buttons, *button, *label;

  gtk_widget_set_margin_start (GTK_WIDGET (box), 12);
  gtk_widget_set_margin_end (GTK_WIDGET (box), 12);
  gtk_widget_set_margin_top (GTK_WIDGET (box), 6);
  gtk_widget_set_margin_bottom (GTK_WIDGET (box), 12);

  add_heading (box, _("Background Work"));
  label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_widget_add_css_class (label, "dim-label");
  gtk_box_append (box, label);
  self->now_label = GTK_LABEL (label);

  label = gtk_label_new (_("What each kind of worker has cost in this session. Hover over a "
                           "row for what it means."));
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 36);
  gtk_widget_add_css_class (label, "caption");
  gtk_box_append (box, label);

  grid = GTK_GRID (gtk_grid_new ());
  gtk_grid_set_column_spacing (grid, 12);
  gtk_grid_set_row_spacing (grid, 4);
  add_label (grid, _("Threads"), 1, 0,
             _("Workers inside the editor’s own process: cheapest, but a crash takes the editor with it."), TRUE);
  add_label (grid, _("Processes"), 2, 0,
             _("Sandboxed helper processes: a crash in one costs only that job’s retry."), TRUE);
  for (guint m = 0; m < G_N_ELEMENTS (metrics); m++)
    {
      add_label (grid, _(metrics[m].title), 0, (int) m + 1, _(metrics[m].tooltip), FALSE);
      for (guint k = 0; k < WEFT_N_BACKEND_KINDS; k++)
        {
          self->values[m][k] = add_label (grid, "–", (int) k + 1, (int) m + 1, _(metrics[m].tooltip), FALSE);
          gtk_accessible_update_relation (GTK_ACCESSIBLE (self->values[m][k]),
                                          GTK_ACCESSIBLE_RELATION_LABELLED_BY,
                                          gtk_grid_get_child_at (grid, 0, (int) m + 1),
                                          gtk_grid_get_child_at (grid, (int) k + 1, 0), NULL, -1);
        }
    }
  gtk_box_append (box, GTK_WIDGET (grid));

  add_heading (box, _("Window Responsiveness"));
  grid = GTK_GRID (gtk_grid_new ());
  gtk_grid_set_column_spacing (grid, 12);
  gtk_grid_set_row_spacing (grid, 4);
  for (guint m = 0; m < G_N_ELEMENTS (watchdog_metrics); m++)
    {
      GtkLabel *title = add_label (grid, _(watchdog_metrics[m].title), 0, (int) m, _(watchdog_metrics[m].tooltip), FALSE);

      self->watchdog_values[m] = add_label (grid, "–", 1, (int) m, _(watchdog_metrics[m].tooltip), FALSE);
      gtk_accessible_update_relation (GTK_ACCESSIBLE (self->watchdog_values[m]),
                                      GTK_ACCESSIBLE_RELATION_LABELLED_BY, title, NULL, -1);
    }
  gtk_box_append (box, GTK_WIDGET (grid));

  self->timeline = WEFT_CHART (weft_chart_new ());
  weft_chart_set_labels (self->timeline, _("Longest stall per second"), _("seconds ago"), _("ms"));
  gtk_widget_set_size_request (GTK_WIDGET (self->timeline), -1, 150);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->timeline),
                               _("The worst stall of each of the last two minutes’ seconds. Spikes "
                                 "that line up with background work would mean it holds up the window."));
  gtk_box_append (box, GTK_WIDGET (self->timeline));

  buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_halign (buttons, GTK_ALIGN_END);
  gtk_widget_set_margin_top (buttons, 6);
  {
    g_autoptr(GMenu) menu = g_menu_new ();

    g_menu_append (menu, _("As _JSON…"), "win.export-stats::json");
    g_menu_append (menu, _("As _CSV…"), "win.export-stats::csv");
    button = gtk_menu_button_new ();
    gtk_menu_button_set_label (GTK_MENU_BUTTON (button), _("E_xport"));
    gtk_menu_button_set_use_underline (GTK_MENU_BUTTON (button), TRUE);
    gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (button), G_MENU_MODEL (menu));
    gtk_menu_button_set_direction (GTK_MENU_BUTTON (button), GTK_ARROW_UP);
    gtk_widget_set_tooltip_text (button, _("Save these numbers as JSON or CSV"));
    gtk_box_append (GTK_BOX (buttons), button);
  }
  button = gtk_button_new_with_mnemonic (_("_Compare…"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "win.compare-backends");
  gtk_widget_set_tooltip_text (button, _("Run the same sort, spell-check and autosave work on both backends "
                                         "with 1 to 2 × cores workers, and chart the results"));
  gtk_widget_add_css_class (button, "suggested-action");
  gtk_box_append (GTK_BOX (buttons), button);
  gtk_box_append (box, buttons);

  self->scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (self->scroller), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_propagate_natural_width (GTK_SCROLLED_WINDOW (self->scroller), TRUE);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (self->scroller), GTK_WIDGET (box));
  gtk_widget_set_parent (self->scroller, GTK_WIDGET (self));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Background work statistics"), -1);
}
