/* main.c: starts Weft. */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "weft-application.h"
#include "weft-spell.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(WeftApplication) app = NULL;

  /* Before any thread starts: both set environment variables. */
  weft_application_exec_with_malloc_slices (argv);
  weft_spell_process_init ();
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_set_application_name (_("Weft"));
  app = weft_application_new (G_APPLICATION_DEFAULT_FLAGS);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
