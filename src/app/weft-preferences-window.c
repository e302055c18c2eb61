/* weft-preferences-window.c: the Preferences window, every row bound to GSettings. */
#include "config.h"

#include <gtksourceview/gtksource.h>

#include "weft-preferences-window.h"

struct _WeftPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  GSettings            *settings;

  GtkSwitch            *custom_font_switch;
  AdwActionRow         *font_row;
  GtkFontButton        *font_button;
  GtkSourceStyleSchemeChooserButton *scheme_button;
  GtkSwitch            *line_numbers_switch;
  GtkSwitch            *current_line_switch;
  GtkSwitch            *wrap_switch;
  GtkSwitch            *spell_switch;
  GtkSpinButton        *tab_width_spin;
  GtkSwitch            *spaces_switch;
  AdwComboRow          *backend_row;
  GtkSpinButton        *workers_spin;
  GtkAdjustment        *workers_adjustment;
  GtkSpinButton        *delay_spin;
  GtkSpinButton        *interval_spin;
  GtkSwitch            *to_file_switch;
  GtkSwitch            *restore_switch;
};

G_DEFINE_FINAL_TYPE (WeftPreferencesWindow, weft_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

GtkWidget *
weft_preferences_window_new (GtkWindow *transient_for)
{
  return g_object_new (WEFT_TYPE_PREFERENCES_WINDOW,
                       "transient-for", transient_for,
                       "application", transient_for != NULL ? gtk_window_get_application (transient_for) : NULL,
                       NULL);
}

static gboolean
scheme_from_setting (GValue   *value,
                     GVariant *variant,
                     gpointer  user_data)
{
  GtkSourceStyleSchemeManager *manager = gtk_source_style_scheme_manager_get_default ();
  GtkSourceStyleScheme *scheme = gtk_source_style_scheme_manager_get_scheme (manager, g_variant_get_string (variant, NULL));

  if (scheme == NULL)
    scheme = gtk_source_style_scheme_manager_get_scheme (manager, "Adwaita");
  g_value_set_object (value, scheme);
  return TRUE;
}

static GVariant *
scheme_to_setting (const GValue       *value,
                   const GVariantType *type,
                   gpointer            user_data)
{
  GtkSourceStyleScheme *scheme = g_value_get_object (value);

  return g_variant_new_string (scheme != NULL ? gtk_source_style_scheme_get_id (scheme) : "Adwaita");
}

/* The combo row's positions, in the order of its model. */
static const char * const backends[] = { "threads", "processes" };

static gboolean
backend_from_setting (GValue   *value,
                      GVariant *variant,
                      gpointer  user_data)
{
  const char *kind = g_variant_get_string (variant, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (backends); i++)
    if (g_str_equal (kind, backends[i]))
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  return FALSE;
}

static GVariant *
backend_to_setting (const GValue       *value,
                    const GVariantType *type,
                    gpointer            user_data)
{
  guint position = g_value_get_uint (value);

  return g_variant_new_string (backends[MIN (position, G_N_ELEMENTS (backends) - 1)]);
}

static void
weft_preferences_window_dispose (GObject *object)
{
  WeftPreferencesWindow *self = WEFT_PREFERENCES_WINDOW (object);

  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), WEFT_TYPE_PREFERENCES_WINDOW);

  G_OBJECT_CLASS (weft_preferences_window_parent_class)->dispose (object);
}

static void
weft_preferences_window_class_init (WeftPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = weft_preferences_window_dispose;

  g_type_ensure (GTK_SOURCE_TYPE_STYLE_SCHEME_CHOOSER_BUTTON);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/weftedit/Weft/weft-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, WeftPreferencesWindow, custom_font_switch);
  gtk_widget_class_bind_template_child (widget_class, WeftPreferencesWindow, font_row);
  gtk_widget_class_bind_template_child (widget_class, WeftPreferencesWindow, font_button);
  gtk_widget_class_bind_template_child (widget_class, WeftPreferencesWindow, scheme_button);
  gtk_widget_class_bind_template_child (widget_class, WeftPreferencesWindow, line_numbers_switch);
  gtk_widget_class_bind_template_child (widget_class, WeftPreferencesWindow, current_line_switch);
  gtk_widget_class_bind_template_child (widget_class, WeftPreferencesWindow, wrap_switch);
  gtk_widget_class_bind_template_child (widget_class, WeftPreferencesWindow, spell_switch);
  gtk_widget_class_bind_template_child (widget_class, WeftPreferencesWindow, tab_width_spin);
  gtk_widget_class_bind_template_child (widget_class, WeftPreferencesWindow, spaces_switch);
  gtk_widget_class_bind_template_child (widget_class, WeftPreferencesWindow, backend_row);
  gtk_widget_class_bind_template_child (widget_class, WeftPreferencesWindow, workers_spin);
  gtk_widget_class_bind_template_child (widget_class, WeftPreferencesWindow, workers_adjustment);
  gtk_widget_class_bind_template_child (widget_class, WeftPreferencesWindow, delay_spin);
  gtk_widget_class_bind_template_child (widget_class, WeftPreferencesWindow, interval_spin);
  gtk_widget_class_bind_template_child (widget_class, WeftPreferencesWindow, to_file_switch);
  gtk_widget_class_bind_template_child (widget_class, WeftPreferencesWindow, restore_switch);
}

static void
weft_preferences_window_init (WeftPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  /* Every change applies at once, in every window: the settings are the
   * single place the editor reads them from. */
  self->settings = g_settings_new (APP_ID);
  g_settings_bind (self->settings, "use-custom-font", self->custom_font_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "use-custom-font", self->font_row, "sensitive", G_SETTINGS_BIND_GET);
  g_settings_bind (self->settings, "custom-font", self->font_button, "font", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind_with_mapping (self->settings, "style-scheme", self->scheme_button, "style-scheme",
                                G_SETTINGS_BIND_DEFAULT, scheme_from_setting, scheme_to_setting, NULL, NULL);
  g_settings_bind (self->settings, "show-line-numbers", self->line_numbers_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "highlight-current-line", self->current_line_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "wrap-text", self->wrap_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "spell-check", self->spell_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "tab-width", self->tab_width_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "insert-spaces", self->spaces_switch, "active", G_SETTINGS_BIND_DEFAULT);

  g_settings_bind_with_mapping (self->settings, "worker-backend", self->backend_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, backend_from_setting, backend_to_setting, NULL, NULL);
  /* Up to four workers per core: beyond that they only queue for the CPU. */
  gtk_adjustment_set_upper (self->workers_adjustment, 4 * g_get_num_processors ());
  g_settings_bind (self->settings, "worker-count", self->workers_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "autosave-delay", self->delay_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "autosave-max-interval", self->interval_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "autosave-to-file", self->to_file_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "restore-session", self->restore_switch, "active", G_SETTINGS_BIND_DEFAULT);
}
