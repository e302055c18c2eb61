// gui-wait.h: waiting on the main loop for a condition, as every GUI test does.
#pragma once

#include <functional>
#include <glib.h>

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
