// gui-wait.h: waiting on the main loop for a condition, as every GUI test does.
#pragma once

#include <functional>
#include <glib.h>
#include <gtk/gtk.h>

// Runs the main loop until @cond holds or @timeout_ms passes. The timeout only
// catches a broken build: every wait ends on a condition.
inline bool
WaitUntil (const std::function<bool ()> &cond, int timeout_ms = 20000)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint tick = g_timeout_add (5, [] (gpointer) -> gboolean { return G_SOURCE_CONTINUE; }, nullptr);
  bool ok = true;

  while (!cond ())
    {
      if (g_get_monotonic_time () > deadline)
        {
          ok = false;
          break;
        }
      g_main_context_iteration (nullptr, TRUE);
    }
  g_source_remove (tick);
  return ok;
}

inline void
Drain ()
{
  while (g_main_context_iteration (nullptr, FALSE))
    ;
}

// Runs the main loop until a window whose type is named @type_name (e.g.
// "WeftSortDialog") is mapped, and returns it; nullptr after @timeout_ms.
inline GtkWindow *
WaitForMappedWindow (const char *type_name, int timeout_ms = 20000)
{
  GtkWindow *found = nullptr;

  WaitUntil ([&] {
    g_autoptr (GList) toplevels = gtk_window_list_toplevels ();
    for (GList *l = toplevels; l != nullptr; l = l->next)
      if (g_str_equal (G_OBJECT_TYPE_NAME (l->data), type_name) && gtk_widget_get_mapped (GTK_WIDGET (l->data)))
        found = GTK_WINDOW (l->data);
    return found != nullptr;
  }, timeout_ms);
  return found;
}
