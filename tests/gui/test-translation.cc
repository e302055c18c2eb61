// test-translation.cc: Weft in German. Started with LANGUAGE=de over an English locale, as a
// German user's session would, the window's menu shows the German labels from po/de.po.
#include "config.h"

#include <gtest/gtest.h>

#include <glib/gi18n.h>
#include <locale.h>

#include <cstring>
#include <functional>

#include "gui-app.h"
#include "gui-wait.h"

extern "C" {
#include "weft-application.h"
#include "weft-window.h"
}

namespace {

WeftApplication *the_app = nullptr;

// A mapped label under @widget whose text (mnemonic underscores removed) is @text.
bool
ShowsLabel (GtkWidget *widget, const char *text)
{
  if (GTK_IS_LABEL (widget) && gtk_widget_get_mapped (widget) &&
      g_strcmp0 (gtk_label_get_text (GTK_LABEL (widget)), text) == 0)
    return true;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != nullptr;
       child = gtk_widget_get_next_sibling (child))
    if (ShowsLabel (child, text))
      return true;
  return false;
}

GtkMenuButton *
FindMenuButton (GtkWidget *widget)
{
  if (GTK_IS_MENU_BUTTON (widget) && gtk_menu_button_get_menu_model (GTK_MENU_BUTTON (widget)) != nullptr)
    return GTK_MENU_BUTTON (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != nullptr;
       child = gtk_widget_get_next_sibling (child))
    if (GtkMenuButton *found = FindMenuButton (child))
      return found;
  return nullptr;
}

TEST (WeftTranslation, TheMainMenuIsInGermanWhenLanguageIsDe)
{
  ASSERT_STREQ (g_getenv ("LANGUAGE"), "de");
  // The catalogue itself, as the application's code sees it.
  EXPECT_STREQ (_("_Preferences"), "_Einstellungen");

  WeftWindow *window = weft_application_new_window (the_app);
  ASSERT_TRUE (WaitUntil ([&] { return gtk_widget_get_mapped (GTK_WIDGET (window)); }));
  GtkMenuButton *menu_button = FindMenuButton (GTK_WIDGET (window));
  ASSERT_NE (menu_button, nullptr);
  gtk_menu_button_popup (menu_button);

  EXPECT_TRUE (WaitUntil ([&] { return ShowsLabel (GTK_WIDGET (window), "Einstellungen"); }))
      << "the menu should offer „Einstellungen“";
  EXPECT_TRUE (ShowsLabel (GTK_WIDGET (window), "Zuletzt geöffnet"));
  EXPECT_TRUE (ShowsLabel (GTK_WIDGET (window), "Tastenkürzel"));
  EXPECT_FALSE (ShowsLabel (GTK_WIDGET (window), "Preferences"));

  gtk_menu_button_popdown (menu_button);
  gtk_window_destroy (GTK_WINDOW (window));
}

}  // namespace

int
main (int argc, char **argv)
{
  // What main.c does, with the catalogues compiled in the build tree.
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, WEFT_BUILD_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  return RunTestsWithApplication (argc, argv, &the_app);
}
