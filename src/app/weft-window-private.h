/* weft-window-private.h: what weft-window.c shares with weft-window-actions.c. */
#pragma once

#include "weft-stats-panel.h"
#include "weft-window.h"

G_BEGIN_DECLS

struct _WeftWindow
{
  AdwApplicationWindow  parent_instance;

  GSettings            *settings;
  GtkRecentManager     *recent_manager;
  /* The buffer of the selected page, followed for the cursor position. */
  GSignalGroup         *buffer_signals;
  /* The selected page's spell controller, followed for its count. */
  GSignalGroup         *spell_signals;

  AdwToastOverlay      *toast_overlay;
  AdwWindowTitle       *window_title;
  AdwTabView           *tab_view;
  AdwTabBar            *tab_bar;
  GtkStack             *stack;
  GtkLabel             *language_label;
  GtkLabel             *spell_label;
  GMenu                *spell_language_menu;
  GtkMenuButton        *position_button;
  GtkMenuButton        *primary_menu_button;
  GtkPopover           *goto_popover;
  GtkEntry             *goto_entry;
  GMenu                *recent_section;
  GtkRevealer          *autosave_banner;
  GtkLabel             *autosave_label;
  GtkRevealer          *stats_revealer;
  WeftStatsPanel       *stats_panel;
  guint                 position_source;
  guint                 selection_source;
  /* A page for the next new document, built while the window is idle;
   * owned here until a tab takes it. */
  WeftPage             *spare_page;
  guint                 spare_source;
  /* Sort Lines: its dialog (a reference of ours, hidden between uses) and
   * what it sorts. */
  GtkWindow            *sort_dialog;
  GWeakRef              sort_page;
  int                   sort_start_char;
  int                   sort_end_char;

  /* Set once the user has agreed to close with unsaved changes handled. */
  guint                 close_confirmed : 1;
  guint                 close_in_progress : 1;
};

typedef void (*WeftWindowSaveDone) (WeftWindow *self,
                                    WeftPage   *page,
                                    gboolean    saved,
                                    gpointer    user_data);

void weft_window_init_actions     (WeftWindow         *self);
void weft_window_update_actions   (WeftWindow         *self);
void weft_window_save_page        (WeftWindow         *self,
                                   WeftPage           *page,
                                   gboolean            ask_for_file,
                                   WeftWindowSaveDone  done,
                                   gpointer            user_data);
void weft_window_open_dialog      (WeftWindow         *self);
void weft_window_add_recent       (WeftWindow         *self,
                                   const char         *uri);

G_END_DECLS
