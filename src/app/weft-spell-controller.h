/* weft-spell-controller.h: background spell-checking of one page's document, its underlines and its context menu. */
#pragma once

#include <gtksourceview/gtksource.h>

#include "weft-document.h"

G_BEGIN_DECLS

#define WEFT_TYPE_SPELL_CONTROLLER (weft_spell_controller_get_type ())

G_DECLARE_FINAL_TYPE (WeftSpellController, weft_spell_controller, WEFT, SPELL_CONTROLLER, GObject)

/* Checks @document's text on the application's backend and underlines the
 * misspelled words in @view's buffer, following the "spell-check" and
 * "spell-language" settings. Adds a "spell" action group and a context menu
 * section to @view. */
WeftSpellController *weft_spell_controller_new              (WeftDocument        *document,
                                                             GtkSourceView       *view);
/* Words underlined now; -1 while checking is off or not counted yet. */
int                  weft_spell_controller_get_n_misspelled (WeftSpellController *self);
/* TRUE while a pass runs or results are still being applied. */
gboolean             weft_spell_controller_get_busy         (WeftSpellController *self);
/* TRUE while the whole text is being checked (opened, reloaded, sorted, a
 * new language or word list) and the count is not known yet. */
gboolean             weft_spell_controller_get_counting     (WeftSpellController *self);
/* The language checked ("en_US"), NULL when none is available. */
const char          *weft_spell_controller_get_language     (WeftSpellController *self);
/* Why checking does not work right now (no dictionary, a worker that
 * cannot load it, …), for the user; NULL when it does. */
const char          *weft_spell_controller_get_error        (WeftSpellController *self);
/* Moves the cursor to the next (or previous) misspelled word, wrapping
 * around; FALSE when there is none. */
gboolean             weft_spell_controller_move             (WeftSpellController *self,
                                                             gboolean             forward);
/* What the context menu offers for the word at @char_off: the word (NULL
 * when it is not underlined) and, once the worker answered, the
 * suggestions. For tests and the menu itself. */
char                *weft_spell_controller_dup_word_at      (WeftSpellController *self,
                                                             int                  char_off);

/* The language the settings ask for: "spell-language", or when that is
 * empty the default for the user's locale; NULL with no dictionary. */
char                *weft_spell_dup_language_setting        (GSettings           *settings);

/* The words the user added to the personal dictionary of @lang, kept in
 * $XDG_CONFIG_HOME/weft/dictionaries/@lang.txt, one per line. */
char               **weft_spell_dup_personal_words          (const char          *lang);

G_END_DECLS
