/* weft-spell-pass.h: a spell-check of a snapshot's lines, cut into SPELL jobs spread over a backend's workers. */
#pragma once

#include <glib.h>

#include "weft-backend.h"
#include "weft-spell-job.h"
#include "weft-text.h"

G_BEGIN_DECLS

/* A pass checks bytes [start, end) of a snapshot (widened to whole lines)
 * as WEFT_JOB_SPELL_CHECK jobs of whole lines, enough of them to keep every
 * worker of the backend busy, and resubmits the rest of any job whose result
 * filled up. Owned by the main context the backend delivers to (its
 * callbacks run there, and its functions are called from there). */
typedef struct _WeftSpellPass WeftSpellPass;

typedef struct
{
  const char         *lang;           /* dictionary, e.g. "en_US" */
  const char * const *session_words;  /* nullable; copied */
  guint64             owner;          /* for weft_backend_cancel_owner() */
  /* Jobs per worker; 0 means a default (8) that balances a busy machine. */
  guint               jobs_per_worker;
  /* Keep every range for weft_spell_pass_get_misspelled(); a caller that
   * consumes them per job in @chunk_done leaves this FALSE. */
  gboolean            collect;
} WeftSpellPassOptions;

/* Called for each job's result as it arrives: @result's ranges have
 * snapshot byte offsets and lie within [@checked_start, result->checked_end_byte),
 * a span that was checked in full. Borrowed for the call. */
typedef void (*WeftSpellPassChunkFunc) (WeftSpellPass              *pass,
                                        guint64                     checked_start,
                                        const WeftSpellCheckResult *result,
                                        gpointer                    user_data);
/* Called once, when every job has reported: @error is NULL on success,
 * the first job's error otherwise (WEFT_ERROR_CANCELLED after
 * weft_spell_pass_cancel()). The pass is freed when this returns. */
typedef void (*WeftSpellPassDoneFunc)  (WeftSpellPass              *pass,
                                        const GError               *error,
                                        gpointer                    user_data);

/* Submits the jobs at once and returns. @chunk_done may be NULL. */
WeftSpellPass *weft_spell_pass_start       (WeftBackend                *backend,
                                            WeftSnapshot               *snap,
                                            size_t                      start_byte,
                                            size_t                      end_byte,
                                            const WeftSpellPassOptions *options,
                                            WeftSpellPassChunkFunc      chunk_done,
                                            WeftSpellPassDoneFunc       done,
                                            gpointer                    user_data);
/* Asks every unfinished job to stop; done follows with WEFT_ERROR_CANCELLED
 * (unless the pass had already finished all its jobs). */
void           weft_spell_pass_cancel      (WeftSpellPass              *self);

WeftSnapshot  *weft_spell_pass_get_snapshot (WeftSpellPass             *self);
/* The span checked: the requested one widened to whole lines. */
void           weft_spell_pass_get_span    (WeftSpellPass              *self,
                                            size_t                     *out_start_byte,
                                            size_t                     *out_end_byte);
guint64        weft_spell_pass_get_n_words (WeftSpellPass              *self);
guint          weft_spell_pass_get_n_jobs  (WeftSpellPass              *self);
/* With options->collect, from done: every misspelled range (WeftSpellRange,
 * snapshot byte offsets) in text order. Owned by the pass. */
GArray        *weft_spell_pass_get_misspelled (WeftSpellPass           *self);

G_END_DECLS
