/* weft-export.c: saving exported numbers to a file the user picks. */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "weft-export.h"

static void
show_error (GtkWindow    *parent,
            const GError *error)
{
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (parent, _("Could Not Export"),
                                                                         error->message));

  adw_message_dialog_add_response (dialog, "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_written (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GtkWindow) parent = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_file_replace_contents_finish (G_FILE (object), result, NULL, &error))
    show_error (parent, error);
}

static void
on_response (GtkNativeDialog *dialog,
             int              response,
             gpointer         user_data)
{
  GBytes *contents = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      GtkWindow *parent = gtk_native_dialog_get_transient_for (dialog);

      /* Off the main thread, as any save; the bytes live until it is done. */
      g_file_replace_contents_bytes_async (file, contents, NULL, FALSE, G_FILE_CREATE_NONE, NULL,
                                           on_written, parent != NULL ? g_object_ref (parent) : NULL);
    }
  g_bytes_unref (contents);
  g_object_unref (dialog);
}

void
weft_export_save (GtkWindow  *parent,
                  const char *suggested_name,
                  const char *contents)
{
  GtkFileChooserNative *chooser;

  g_return_if_fail (contents != NULL);

  chooser = gtk_file_chooser_native_new (_("Export"), parent, GTK_FILE_CHOOSER_ACTION_SAVE,
                                         _("_Export"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), suggested_name);
  g_signal_connect (chooser, "response", G_CALLBACK (on_response),
                    g_bytes_new (contents, strlen (contents)));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}
