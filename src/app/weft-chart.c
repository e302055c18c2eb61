/* weft-chart.c: a small line or bar chart drawn by Weft itself, legible in light and dark styles. */
#include "config.h"

#include <math.h>

#include "weft-chart.h"

typedef struct
{
  char           *name;
  WeftChartStyle  style;
  guint           color_index;
  GArray         *x;  /* double */
  GArray         *y;  /* double */
} Series;

struct _WeftChart
{
  GtkWidget  parent_instance;

  char      *title;
  char      *x_label;
  char      *y_label;
  GPtrArray *series;  /* Series */
  gboolean   log_scale;
};

G_DEFINE_FINAL_TYPE (WeftChart, weft_chart, GTK_TYPE_WIDGET)

/* Adwaita's blue, orange, green, purple, red, yellow and brown at a middle
 * lightness: each keeps its contrast on a white and on a near-black
 * background, and Compare's six series (three workloads on two backends)
 * each get a colour of their own. */
static const GdkRGBA palette[] = {
  { 0.21, 0.52, 0.89, 1 },
  { 0.90, 0.38, 0.00, 1 },
  { 0.18, 0.76, 0.49, 1 },
  { 0.57, 0.25, 0.67, 1 },
  { 0.75, 0.11, 0.16, 1 },
  { 0.80, 0.58, 0.00, 1 },
  { 0.53, 0.40, 0.27, 1 },
};

#define MARGIN_LEFT   56
#define MARGIN_RIGHT  12
#define MARGIN_TOP    40
#define MARGIN_BOTTOM 36
#define LEGEND_LINE   18

static void
series_free (gpointer data)
{
  Series *series = data;

  g_free (series->name);
  g_array_unref (series->x);
  g_array_unref (series->y);
  g_free (series);
}

GtkWidget *
weft_chart_new (void)
{
  return g_object_new (WEFT_TYPE_CHART, NULL);
}

void
weft_chart_set_labels (WeftChart  *self,
                       const char *title,
                       const char *x_label,
                       const char *y_label)
{
  g_return_if_fail (WEFT_IS_CHART (self));

  g_free (self->title);
  g_free (self->x_label);
  g_free (self->y_label);
  self->title = g_strdup (title);
  self->x_label = g_strdup (x_label);
  self->y_label = g_strdup (y_label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, title, -1);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
weft_chart_set_log_scale (WeftChart *self,
                          gboolean   log_scale)
{
  g_return_if_fail (WEFT_IS_CHART (self));

  self->log_scale = !!log_scale;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
weft_chart_clear (WeftChart *self)
{
  g_return_if_fail (WEFT_IS_CHART (self));

  g_ptr_array_set_size (self->series, 0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
weft_chart_add_series (WeftChart      *self,
                       const char     *name,
                       WeftChartStyle  style,
                       guint           color_index,
                       const double   *x,
                       const double   *y,
                       guint           n)
{
  Series *series;

  g_return_if_fail (WEFT_IS_CHART (self));

  series = g_new0 (Series, 1);
  series->name = g_strdup (name);
  series->style = style;
  series->color_index = color_index % G_N_ELEMENTS (palette);
  series->x = g_array_sized_new (FALSE, FALSE, sizeof (double), n);
  series->y = g_array_sized_new (FALSE, FALSE, sizeof (double), n);
  g_array_append_vals (series->x, x, n);
  g_array_append_vals (series->y, y, n);
  g_ptr_array_add (self->series, series);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
weft_chart_get_n_series (WeftChart *self)
{
  g_return_val_if_fail (WEFT_IS_CHART (self), 0);

  return self->series->len;
}

/* A step of 1, 2 or 5 times a power of ten giving about four ticks. */
static double
nice_step (double range)
{
  double raw = range / 4, power, fraction;

  if (raw <= 0)
    return 1;
  power = pow (10, floor (log10 (raw)));
  fraction = raw / power;
  if (fraction <= 1)
    return power;
  if (fraction <= 2)
    return 2 * power;
  if (fraction <= 5)
    return 5 * power;
  return 10 * power;
}

static void
show_text (GtkWidget  *widget,
           cairo_t    *cr,
           const char *text,
           double      x,
           double      y,
           double      x_align,
           gboolean    bold)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (widget, text);
  int width, height;

  if (bold)
    {
      PangoAttrList *attrs = pango_attr_list_new ();

      pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
      pango_layout_set_attributes (layout, attrs);
      pango_attr_list_unref (attrs);
    }
  pango_layout_get_pixel_size (layout, &width, &height);
  cairo_move_to (cr, x - width * x_align, y - height / 2.0);
  pango_cairo_show_layout (cr, layout);
  g_object_unref (layout);
}

static void
format_tick (char   *buf,
             gsize   size,
             double  value,
             double  step)
{
  if (step >= 1 || value == 0)
    g_snprintf (buf, size, "%.0f", value);
  else
    g_snprintf (buf, size, "%.*f", (int) ceil (-log10 (step)), value);
}

static void
weft_chart_snapshot (GtkWidget   *widget,
                     GtkSnapshot *snapshot)
{
  WeftChart *self = WEFT_CHART (widget);
  double width = gtk_widget_get_width (widget);
  double height = gtk_widget_get_height (widget);
  double plot_w = width - MARGIN_LEFT - MARGIN_RIGHT;
  double plot_h;
  double x_min = G_MAXDOUBLE, x_max = -G_MAXDOUBLE, y_max = 0, y_min_positive = G_MAXDOUBLE, y_step, bar_pad = 0;
  double log_lo = 0, log_hi = 1;
  guint n_named = 0;
  gboolean any_bars = FALSE, any = FALSE;
  GdkRGBA fg;
  cairo_t *cr;
  char tick[32];

  /* The legend goes under the plot, one line per named series, so that it
   * never hides a line. */
  for (guint s = 0; s < self->series->len; s++)
    n_named += ((Series *) g_ptr_array_index (self->series, s))->name != NULL;
  plot_h = height - MARGIN_TOP - MARGIN_BOTTOM - n_named * LEGEND_LINE;
  if (plot_w < 20 || plot_h < 20)
    return;

  /* The style's own text colour: right in the light and the dark style. */
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  G_GNUC_END_IGNORE_DEPRECATIONS

  for (guint s = 0; s < self->series->len; s++)
    {
      Series *series = g_ptr_array_index (self->series, s);

      any_bars |= series->style == WEFT_CHART_BARS;
      for (guint i = 0; i < series->x->len; i++)
        {
          double x = g_array_index (series->x, double, i), y = g_array_index (series->y, double, i);

          if (!isfinite (x) || !isfinite (y))
            continue;
          any = TRUE;
          x_min = MIN (x_min, x);
          x_max = MAX (x_max, x);
          y_max = MAX (y_max, y);
          if (y > 0)
            y_min_positive = MIN (y_min_positive, y);
        }
    }

  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  gdk_cairo_set_source_rgba (cr, &fg);
  if (self->title != NULL)
    show_text (widget, cr, self->title, MARGIN_LEFT, 12, 0, TRUE);

  if (!any)
    {
      cairo_destroy (cr);
      return;
    }
  if (x_max <= x_min)
    x_max = x_min + 1;
  if (any_bars)
    bar_pad = 0.5;
  x_min -= bar_pad;
  x_max += bar_pad;
  y_step = nice_step (y_max > 0 ? y_max : 1);
  y_max = ceil ((y_max > 0 ? y_max * 1.05 : 1) / y_step) * y_step;
  if (self->log_scale)
    {
      /* Whole decades, from the one below the smallest value. */
      log_lo = y_min_positive < G_MAXDOUBLE ? floor (log10 (y_min_positive)) : 0;
      log_hi = MAX (ceil (log10 (MAX (y_max, 1e-300))), log_lo + 1);
      y_step = 1;
    }

#define PX(v) (MARGIN_LEFT + ((v) - x_min) / (x_max - x_min) * plot_w)
#define PY(v) (self->log_scale \
                 ? MARGIN_TOP + plot_h - (log10 (MAX ((v), pow (10, log_lo))) - log_lo) / (log_hi - log_lo) * plot_h \
                 : MARGIN_TOP + plot_h - (v) / y_max * plot_h)

  /* Grid and axes, faint then firm, in the text colour. */
  cairo_set_line_width (cr, 1);
  for (double t = self->log_scale ? log_lo : 0;
       t <= (self->log_scale ? log_hi : y_max) + y_step / 2;
       t += y_step)
    {
      GdkRGBA faint = fg;
      double v = self->log_scale ? pow (10, t) : t;

      faint.alpha = t == (self->log_scale ? log_lo : 0) ? 0.6 : 0.15;
      gdk_cairo_set_source_rgba (cr, &faint);
      cairo_move_to (cr, MARGIN_LEFT, round (PY (v)) + 0.5);
      cairo_line_to (cr, MARGIN_LEFT + plot_w, round (PY (v)) + 0.5);
      cairo_stroke (cr);
      gdk_cairo_set_source_rgba (cr, &fg);
      if (self->log_scale)
        g_snprintf (tick, sizeof tick, "%g", v);
      else
        format_tick (tick, sizeof tick, v, y_step);
      show_text (widget, cr, tick, MARGIN_LEFT - 6, PY (v), 1, FALSE);
    }
  {
    double x_step = nice_step (x_max - x_min);

    x_step = MAX (x_step, 1);
    for (double v = ceil ((x_min + bar_pad) / x_step) * x_step; v <= x_max - bar_pad + 1e-9; v += x_step)
      {
        format_tick (tick, sizeof tick, v, x_step);
        show_text (widget, cr, tick, PX (v), MARGIN_TOP + plot_h + 10, 0.5, FALSE);
      }
  }
  if (self->x_label != NULL)
    show_text (widget, cr, self->x_label, MARGIN_LEFT + plot_w / 2, MARGIN_TOP + plot_h + 28, 0.5, FALSE);
  if (self->y_label != NULL)
    show_text (widget, cr, self->y_label, MARGIN_LEFT, MARGIN_TOP - 12, 0, FALSE);

  for (guint s = 0; s < self->series->len; s++)
    {
      Series *series = g_ptr_array_index (self->series, s);
      gboolean started = FALSE;

      gdk_cairo_set_source_rgba (cr, &palette[series->color_index]);
      cairo_set_line_width (cr, 2);
      if (series->style == WEFT_CHART_DASHED)
        cairo_set_dash (cr, (const double[]) { 6, 4 }, 2, 0);
      else
        cairo_set_dash (cr, NULL, 0, 0);

      for (guint i = 0; i < series->x->len; i++)
        {
          double x = g_array_index (series->x, double, i), y = g_array_index (series->y, double, i);

          if (!isfinite (x) || !isfinite (y))
            continue;
          if (series->style == WEFT_CHART_BARS)
            {
              double w = MAX (1.0, plot_w / (x_max - x_min) * 0.8);

              cairo_rectangle (cr, PX (x) - w / 2, PY (y), w, PY (0) - PY (y));
              cairo_fill (cr);
              continue;
            }
          if (!started)
            cairo_move_to (cr, PX (x), PY (y));
          else
            cairo_line_to (cr, PX (x), PY (y));
          started = TRUE;
        }
      cairo_stroke (cr);

      if (series->style == WEFT_CHART_LINES)
        for (guint i = 0; i < series->x->len; i++)
          {
            double x = g_array_index (series->x, double, i), y = g_array_index (series->y, double, i);

            if (!isfinite (x) || !isfinite (y))
              continue;
            cairo_arc (cr, PX (x), PY (y), 3.5, 0, 2 * G_PI);
            cairo_fill (cr);
          }
    }
  cairo_set_dash (cr, NULL, 0, 0);

  /* The legend, under the axis label. */
  {
    double ly = MARGIN_TOP + plot_h + MARGIN_BOTTOM + 2;

    for (guint s = 0; s < self->series->len; s++)
      {
        Series *series = g_ptr_array_index (self->series, s);
        PangoLayout *layout;
        int tw, th;

        if (series->name == NULL)
          continue;
        layout = gtk_widget_create_pango_layout (widget, series->name);
        pango_layout_get_pixel_size (layout, &tw, &th);
        gdk_cairo_set_source_rgba (cr, &palette[series->color_index]);
        cairo_rectangle (cr, MARGIN_LEFT, ly + th / 2.0 - 2, 14, 4);
        cairo_fill (cr);
        gdk_cairo_set_source_rgba (cr, &fg);
        cairo_move_to (cr, MARGIN_LEFT + 20, ly);
        pango_cairo_show_layout (cr, layout);
        g_object_unref (layout);
        ly += LEGEND_LINE;
      }
  }
#undef PX
#undef PY
  cairo_destroy (cr);
}

static void
weft_chart_measure (GtkWidget      *widget,
                    GtkOrientation  orientation,
                    int             for_size,
                    int            *minimum,
                    int            *natural,
                    int            *minimum_baseline,
                    int            *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 200 : 120;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 360 : 200;
}

static void
weft_chart_finalize (GObject *object)
{
  WeftChart *self = WEFT_CHART (object);

  g_free (self->title);
  g_free (self->x_label);
  g_free (self->y_label);
  g_ptr_array_unref (self->series);

  G_OBJECT_CLASS (weft_chart_parent_class)->finalize (object);
}

static void
weft_chart_class_init (WeftChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = weft_chart_finalize;
  widget_class->snapshot = weft_chart_snapshot;
  widget_class->measure = weft_chart_measure;
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
  gtk_widget_class_set_css_name (widget_class, "weftchart");
}

static void
weft_chart_init (WeftChart *self)
{
  self->series = g_ptr_array_new_with_free_func (series_free);
}
