// weft-test-wait.h: iterating a GMainContext until a condition holds, for the C++ tests.
#pragma once

#include <functional>

#include <glib.h>

// Iterates @ctx until @cond holds; a 5 ms tick keeps the loop looking even
// when nothing is dispatched, and the deadline only guards against hanging
// the whole run. Returns @cond's last value.
inline bool
WeftTestWaitFor (GMainContext                 *ctx,
                 const std::function<bool ()> &cond,
                 int                           timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;
  GSource *tick = g_timeout_source_new (5);

  g_source_set_callback (tick, [] (gpointer) -> gboolean { return G_SOURCE_CONTINUE; }, nullptr, nullptr);
  g_source_attach (tick, ctx);
  while (!cond () && g_get_monotonic_time () < deadline)
    g_main_context_iteration (ctx, TRUE);
  g_source_destroy (tick);
  g_source_unref (tick);
  return cond ();
}
