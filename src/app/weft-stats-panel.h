/* weft-stats-panel.h: the side panel that shows what each backend has cost in this session. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define WEFT_TYPE_STATS_PANEL (weft_stats_panel_get_type ())

G_DECLARE_FINAL_TYPE (WeftStatsPanel, weft_stats_panel, WEFT, STATS_PANEL, GtkWidget)

GtkWidget  *weft_stats_panel_new       (void);
/* Reads the numbers again now (it also does every second while shown). */
void        weft_stats_panel_refresh   (WeftStatsPanel *self);
/* The text a metric's value shows for a backend ("threads", "processes"),
 * by the metric's id (e.g. "jobs-save", "latency", "watchdog-max"); NULL
 * if unknown. For tests. */
const char *weft_stats_panel_get_value (WeftStatsPanel *self,
                                        const char     *metric,
                                        const char     *backend);
/* The panel's numbers as JSON (one object) or CSV (a header and a line per
 * backend). */
char       *weft_stats_panel_to_json   (WeftStatsPanel *self);
char       *weft_stats_panel_to_csv    (WeftStatsPanel *self);

G_END_DECLS
