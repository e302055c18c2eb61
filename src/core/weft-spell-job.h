/* weft-spell-job.h: SPELL jobs — their options and results, and the dictionaries a worker keeps for them. */
#pragma once

#include <glib.h>

#include "weft-job.h"
#include "weft-spell.h"

G_BEGIN_DECLS

/* WEFT_JOB_SPELL_CHECK
 *   Input: whole lines of a snapshot, starting at @base_byte_off in it.
 *   Options: weft_spell_check_options().
 *   Result: weft_spell_check_result_parse(): the misspelled ranges with
 *   snapshot byte offsets, in text order, and how far the check got. A
 *   result is at most WEFT_SPELL_MAX_RESULT bytes (it must fit an IPC
 *   message): a text with more misspellings than that stops early, at a
 *   line start or a space, and the caller submits the rest from there.
 * WEFT_JOB_SPELL_SUGGEST
 *   Input: none. Options: weft_spell_suggest_options().
 *   Result: weft_spell_suggest_result_parse(), best first.
 *
 * Both fail with WEFT_ERROR_NOT_FOUND when the worker has no dictionary for
 * the language (a sandboxed worker process can only use the one it loaded
 * before its sandbox closed: see weft_spell_worker_seal()). */
#define WEFT_SPELL_MAX_RESULT          (48u * 1024u)
#define WEFT_SPELL_MAX_SUGGESTIONS     8u
#define WEFT_SPELL_MAX_SESSION_BYTES   (12u * 1024u)

gboolean weft_spell_job_kind_is_spell (WeftJobKind kind);

/* @session_words (NULL-terminated, may be NULL) are accepted as
 * weft_spell_checker_add_session_word() does; only the first
 * WEFT_SPELL_MAX_SESSION_BYTES of them travel (options are bounded), so a
 * caller with more filters the results itself as well. */
GBytes  *weft_spell_check_options   (const char          *lang,
                                     guint64              base_byte_off,
                                     const char * const  *session_words);
GBytes  *weft_spell_suggest_options (const char          *lang,
                                     const char          *word,
                                     guint                max_suggestions);

typedef struct
{
  guint64  checked_end_byte;  /* the snapshot offset the check reached: the input's end unless the result filled up */
  guint64  n_words;           /* words checked */
  GArray  *misspelled;        /* WeftSpellRange, snapshot byte offsets, in text order */
} WeftSpellCheckResult;

/* Every field is checked (the worker that sent it is not trusted): ranges
 * ordered, not overlapping, between @base_byte_off and checked_end_byte. */
gboolean weft_spell_check_result_parse (GBytes               *output,
                                        guint64               base_byte_off,
                                        WeftSpellCheckResult *out,
                                        GError              **error);
void     weft_spell_check_result_clear (WeftSpellCheckResult *result);

/* A NULL-terminated array (free with g_strfreev()), or NULL with @error. */
char   **weft_spell_suggest_result_parse (GBytes  *output,
                                          GError **error);

/* The dictionaries one worker (a thread of the threads backend, or a
 * weft-worker process) keeps from job to job, one checker per language.
 * Owned by that worker alone: never used by two threads at once. */
typedef struct _WeftSpellWorker WeftSpellWorker;

WeftSpellWorker *weft_spell_worker_new     (void);
void             weft_spell_worker_free    (WeftSpellWorker  *self);
/* Loads @lang's dictionary now, e.g. before a sandbox closes. */
gboolean         weft_spell_worker_preload (WeftSpellWorker  *self,
                                            const char       *lang,
                                            GError          **error);
/* From now on no dictionary is loaded: a job for a language not loaded yet
 * fails with WEFT_ERROR_NOT_FOUND and a message saying why (not installed,
 * or installed but not loadable any more). Called by a worker process just
 * before it sandboxes itself (files can no longer be opened then): it lists
 * the installed dictionaries while it still can. */
void             weft_spell_worker_seal    (WeftSpellWorker  *self);
/* Runs a spell job (weft_spell_job_kind_is_spell()) with the worker's
 * dictionaries; as weft_job_run() otherwise. weft_job_run() runs spell jobs
 * too, with a dictionary loaded for the one job. */
gboolean         weft_spell_worker_run     (WeftSpellWorker  *self,
                                            WeftJobKind       kind,
                                            WeftJobInput     *input,
                                            GBytes           *options,
                                            WeftJobCancelFunc is_cancelled,
                                            gpointer          cancel_data,
                                            GBytes          **out_result,
                                            GError          **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftSpellWorker, weft_spell_worker_free)

G_END_DECLS
