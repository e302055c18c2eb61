/* weft-application.h: the Weft application — single instance, command line, app-wide actions. */
#pragma once

#include <adwaita.h>

#include "weft-backend.h"
#include "weft-compare.h"
#include "weft-session.h"
#include "weft-watchdog.h"
#include "weft-window.h"

G_BEGIN_DECLS

#define WEFT_TYPE_APPLICATION (weft_application_get_type ())

G_DECLARE_FINAL_TYPE (WeftApplication, weft_application, WEFT, APPLICATION, AdwApplication)

/* Called first thing in main(), before any thread starts: on GLib before
 * 2.76, starts the program again with GSlice in its malloc mode (see the
 * function), unless G_SLICE says otherwise. Returns only when it does not. */
void             weft_application_exec_with_malloc_slices (char **argv);
/* @extra_flags is added to the defaults; tests pass G_APPLICATION_NON_UNIQUE. */
WeftApplication *weft_application_new        (GApplicationFlags  extra_flags);
WeftWindow      *weft_application_new_window (WeftApplication   *self);
WeftSession     *weft_application_get_session (WeftApplication  *self);
WeftBackend     *weft_application_get_backend (WeftApplication  *self);
WeftWatchdog    *weft_application_get_watchdog (WeftApplication *self);
/* What the backends of @kind have done in this session: the current one if
 * it is of that kind, plus every one swapped out (n_workers is 0 for a kind
 * not in use). */
void             weft_application_get_backend_stats (WeftApplication  *self,
                                                     WeftBackendKind   kind,
                                                     WeftBackendStats *out_stats);
/* The weft-worker helper to start for the processes backend. */
char            *weft_application_dup_worker_path (void);
/* Cancels @owner's jobs on the current backend and on any swapped out that
 * is still finishing its jobs. */
void             weft_application_cancel_owner (WeftApplication   *self,
                                                guint64            owner);

G_END_DECLS
