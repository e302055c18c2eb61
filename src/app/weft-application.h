/* weft-application.h: the Weft application — single instance, command line, app-wide actions. */
#pragma once

#include <adwaita.h>

#include "weft-backend.h"
#include "weft-session.h"
#include "weft-watchdog.h"
#include "weft-window.h"

G_BEGIN_DECLS

#define WEFT_TYPE_APPLICATION (weft_application_get_type ())

G_DECLARE_FINAL_TYPE (WeftApplication, weft_application, WEFT, APPLICATION, AdwApplication)

/* @extra_flags is added to the defaults; tests pass G_APPLICATION_NON_UNIQUE. */
WeftApplication *weft_application_new        (GApplicationFlags  extra_flags);
WeftWindow      *weft_application_new_window (WeftApplication   *self);
WeftSession     *weft_application_get_session (WeftApplication  *self);
WeftBackend     *weft_application_get_backend (WeftApplication  *self);
WeftWatchdog    *weft_application_get_watchdog (WeftApplication *self);

G_END_DECLS
