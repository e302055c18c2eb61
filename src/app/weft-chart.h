/* weft-chart.h: a small line or bar chart drawn by Weft itself, legible in light and dark styles. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define WEFT_TYPE_CHART (weft_chart_get_type ())

G_DECLARE_FINAL_TYPE (WeftChart, weft_chart, WEFT, CHART, GtkWidget)

typedef enum
{
  WEFT_CHART_LINES,   /* points joined, with a dot on each */
  WEFT_CHART_DASHED,  /* a reference curve: dashed, no dots */
  WEFT_CHART_BARS,    /* one bar per point, from zero */
} WeftChartStyle;

GtkWidget *weft_chart_new          (void);
/* @title is drawn above; the axis labels below and beside the plot. */
void       weft_chart_set_labels   (WeftChart      *self,
                                    const char     *title,
                                    const char     *x_label,
                                    const char     *y_label);
/* A logarithmic y axis (values at or below 0 sit on its floor). */
void       weft_chart_set_log_scale (WeftChart     *self,
                                     gboolean       log_scale);
void       weft_chart_clear        (WeftChart      *self);
/* Adds a series of @n points; @color_index picks one of a few colours that
 * read well on both light and dark backgrounds. Copies the points. */
void       weft_chart_add_series   (WeftChart      *self,
                                    const char     *name,
                                    WeftChartStyle  style,
                                    guint           color_index,
                                    const double   *x,
                                    const double   *y,
                                    guint           n);
guint      weft_chart_get_n_series (WeftChart      *self);

G_END_DECLS
