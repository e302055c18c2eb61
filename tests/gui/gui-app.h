// gui-app.h: the one Weft application a GUI test program drives, and its main().
#pragma once

#include <gtest/gtest.h>

extern "C" {
#include "weft-application.h"
}

// The first widget of @type at or below @widget, depth first.
template <typename T>
T *
FindDescendant (GtkWidget *widget, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return reinterpret_cast<T *> (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != nullptr;
       child = gtk_widget_get_next_sibling (child))
    if (T *found = FindDescendant<T> (child, type))
      return found;
  return nullptr;
}

// Runs every test with *@app a registered, held application whose settings
// live in memory, so that tests leave no preferences behind.
inline int
RunTestsWithApplication (int argc, char **argv, WeftApplication **app)
{
  ::testing::InitGoogleTest (&argc, argv);

  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_set_prgname ("weft");
  g_set_application_name ("Weft");

  *app = weft_application_new (G_APPLICATION_NON_UNIQUE);
  g_autoptr (GError) error = nullptr;
  if (!g_application_register (G_APPLICATION (*app), nullptr, &error))
    {
      fprintf (stderr, "cannot register the application: %s\n", error->message);
      return 1;
    }
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, nullptr);
  g_application_hold (G_APPLICATION (*app));

  int rc = RUN_ALL_TESTS ();

  g_application_release (G_APPLICATION (*app));
  g_clear_object (app);
  return rc;
}
