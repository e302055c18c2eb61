/* weft-sort-dialog.c: the Sort Lines dialog, its options remembered and previewed. */
#include "config.h"

#include <glib/gi18n.h>

#include "weft-sort-dialog.h"

/* The preview sorts this many lines at most, on the main thread. */
#define PREVIEW_LINES 8

struct _WeftSortDialog
{
  AdwWindow       parent_instance;

  GSettings      *settings;
  char           *sample;

  AdwComboRow    *order_row;
  GtkSwitch      *case_switch;
  GtkSwitch      *numeric_switch;
  GtkSwitch      *reverse_switch;
  GtkSwitch      *unique_switch;
  GtkSpinButton  *column_spin;
  GtkLabel       *preview_label;
  GtkButton      *sort_button;
};

G_DEFINE_FINAL_TYPE (WeftSortDialog, weft_sort_dialog, ADW_TYPE_WINDOW)

enum {
  SORT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

void
weft_sort_options_from_settings (GSettings       *settings,
                                 WeftSortOptions *out_options)
{
  g_autofree char *collation = g_settings_get_string (settings, "sort-collation");

  memset (out_options, 0, sizeof *out_options);
  out_options->collation = g_str_equal (collation, "bytes") ? WEFT_SORT_COLLATION_BYTES
                                                            : WEFT_SORT_COLLATION_LOCALE;
  out_options->ignore_case = g_settings_get_boolean (settings, "sort-ignore-case");
  out_options->numeric = g_settings_get_boolean (settings, "sort-numeric");
  out_options->reverse = g_settings_get_boolean (settings, "sort-reverse");
  out_options->unique = g_settings_get_boolean (settings, "sort-unique");
  out_options->column = g_settings_get_uint (settings, "sort-column");
}

static void
weft_sort_dialog_update_preview (WeftSortDialog *self)
{
  WeftSortOptions options;
  g_autoptr(WeftSortResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *sorted = NULL;
  size_t len;

  weft_sort_options_from_settings (self->settings, &options);
  result = weft_sort_parallel (self->sample, strlen (self->sample), &options, 1, NULL, &error);
  if (result == NULL)
    {
      gtk_label_set_text (self->preview_label, error->message);
      return;
    }
  len = weft_sort_result_get_text_length (result);
  sorted = g_malloc (len + 1);
  weft_sort_result_write_text (result, sorted, 1);
  sorted[len] = '\0';

  /* The first lines of the result are enough to judge the options by. */
  {
    char *cut = sorted;

    for (int i = 0; i < PREVIEW_LINES && cut != NULL; i++)
      if ((cut = strchr (cut, '\n')) != NULL)
        cut++;
    if (cut != NULL)
      *cut = '\0';
  }
  gtk_label_set_text (self->preview_label, g_strchomp (sorted));
}

static void
on_sort_clicked (WeftSortDialog *self)
{
  g_signal_emit (self, signals[SORT], 0);
  gtk_window_close (GTK_WINDOW (self));
}

static gboolean
order_from_setting (GValue   *value,
                    GVariant *variant,
                    gpointer  user_data)
{
  g_value_set_uint (value, g_str_equal (g_variant_get_string (variant, NULL), "bytes") ? 1 : 0);
  return TRUE;
}

static GVariant *
order_to_setting (const GValue       *value,
                  const GVariantType *type,
                  gpointer            user_data)
{
  return g_variant_new_string (g_value_get_uint (value) == 1 ? "bytes" : "locale");
}

/* Only the first lines of the text to sort: the preview must stay cheap. */
void
weft_sort_dialog_set_sample (WeftSortDialog *self,
                             const char     *sample)
{
  const char *end = sample;

  g_return_if_fail (WEFT_IS_SORT_DIALOG (self));
  g_return_if_fail (sample != NULL);

  for (int i = 0; i < PREVIEW_LINES * 8 && end != NULL && *end != '\0'; i++)
    {
      end = strchr (end, '\n');
      if (end != NULL)
        end++;
    }
  g_free (self->sample);
  self->sample = end != NULL ? g_strndup (sample, (gsize) (end - sample)) : g_strdup (sample);
  weft_sort_dialog_update_preview (self);
}

/* Closing the dialog hides it, for the next sort: tearing down its widgets
 * as a sort starts was a 20 ms stall of its own. */
WeftSortDialog *
weft_sort_dialog_new (GtkWindow  *transient_for,
                      const char *sample)
{
  WeftSortDialog *self = g_object_new (WEFT_TYPE_SORT_DIALOG,
                                       "transient-for", transient_for,
                                       "hide-on-close", TRUE,
                                       NULL);

  weft_sort_dialog_set_sample (self, sample);
  return self;
}

static void
weft_sort_dialog_dispose (GObject *object)
{
  WeftSortDialog *self = WEFT_SORT_DIALOG (object);

  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), WEFT_TYPE_SORT_DIALOG);

  G_OBJECT_CLASS (weft_sort_dialog_parent_class)->dispose (object);
}

static void
weft_sort_dialog_finalize (GObject *object)
{
  WeftSortDialog *self = WEFT_SORT_DIALOG (object);

  g_free (self->sample);

  G_OBJECT_CLASS (weft_sort_dialog_parent_class)->finalize (object);
}

static void
weft_sort_dialog_class_init (WeftSortDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = weft_sort_dialog_dispose;
  object_class->finalize = weft_sort_dialog_finalize;

  /* The user confirmed; the options are in the settings. */
  signals[SORT] = g_signal_new ("sort", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/weftedit/Weft/weft-sort-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, WeftSortDialog, order_row);
  gtk_widget_class_bind_template_child (widget_class, WeftSortDialog, case_switch);
  gtk_widget_class_bind_template_child (widget_class, WeftSortDialog, numeric_switch);
  gtk_widget_class_bind_template_child (widget_class, WeftSortDialog, reverse_switch);
  gtk_widget_class_bind_template_child (widget_class, WeftSortDialog, unique_switch);
  gtk_widget_class_bind_template_child (widget_class, WeftSortDialog, column_spin);
  gtk_widget_class_bind_template_child (widget_class, WeftSortDialog, preview_label);
  gtk_widget_class_bind_template_child (widget_class, WeftSortDialog, sort_button);
  gtk_widget_class_bind_template_callback (widget_class, on_sort_clicked);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
weft_sort_dialog_init (WeftSortDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_settings_new (APP_ID);
  g_settings_bind_with_mapping (self->settings, "sort-collation", self->order_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, order_from_setting, order_to_setting, NULL, NULL);
  g_settings_bind (self->settings, "sort-ignore-case", self->case_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "sort-numeric", self->numeric_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "sort-reverse", self->reverse_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "sort-unique", self->unique_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "sort-column", self->column_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_signal_connect_object (self->settings, "changed", G_CALLBACK (weft_sort_dialog_update_preview), self,
                           G_CONNECT_SWAPPED);
  gtk_window_set_default_widget (GTK_WINDOW (self), GTK_WIDGET (self->sort_button));
}
