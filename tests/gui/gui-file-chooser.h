// gui-file-chooser.h: answering the file chooser a test has made appear.
#pragma once

#include <gtk/gtk.h>

#include "gui-wait.h"

// Waits for the file chooser dialog, has it choose @target (in its folder,
// which the chooser changes to asynchronously: it may still switch to its own
// first folder while it starts up, so ask until it is there) and accepts.
inline bool
AcceptFileChooser (GFile *target)
{
  GtkFileChooser *chooser = nullptr;
  if (!WaitUntil ([&] {
        g_autoptr (GList) toplevels = gtk_window_list_toplevels ();
        for (GList *l = toplevels; l != nullptr; l = l->next)
          if (GTK_IS_FILE_CHOOSER_DIALOG (l->data) && gtk_widget_get_visible (GTK_WIDGET (l->data)))
            chooser = GTK_FILE_CHOOSER (l->data);
        return chooser != nullptr && gtk_widget_get_mapped (GTK_WIDGET (chooser));
      }))
    return false;

  g_autoptr (GFile) folder = g_file_get_parent (target);
  gint64 asked = 0;
  if (!WaitUntil ([&] {
        g_autoptr (GFile) current = gtk_file_chooser_get_current_folder (chooser);
        if (current != nullptr && g_file_equal (current, folder))
          return true;
        if (g_get_monotonic_time () - asked > 500 * 1000)
          {
            asked = g_get_monotonic_time ();
            gtk_file_chooser_set_current_folder (chooser, folder, nullptr);
          }
        return false;
      }))
    return false;
  g_autofree char *path = g_file_get_path (target);
  gtk_file_chooser_set_current_name (chooser, path);
  if (!WaitUntil ([&] {
        g_autoptr (GFile) chosen = gtk_file_chooser_get_file (chooser);
        return chosen != nullptr && g_file_equal (chosen, target);
      }))
    return false;
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_dialog_response (GTK_DIALOG (chooser), GTK_RESPONSE_ACCEPT);
  G_GNUC_END_IGNORE_DEPRECATIONS
  return true;
}
