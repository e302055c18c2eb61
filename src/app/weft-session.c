/* weft-session.c: autosaved drafts and the session file that brings documents back. */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "weft-application.h"
#include "weft-backend.h"
#include "weft-file.h"
#include "weft-session.h"
#include "weft-slice.h"

#define SESSION_FILE "session.ini"

/* After a failed write the same write is tried again by itself, first after
 * RETRY_FIRST_MS, then twice as long each time up to RETRY_MAX_MS: a disk
 * that stays full is not hammered, and one that gets space back is noticed
 * within half a minute even if the user stops typing. */
#define RETRY_FIRST_MS 500
#define RETRY_MAX_MS   30000

/* One tracked document. Main thread only, like everything here but the
 * writing threads, which only see snapshots, paths and copied bytes. */
typedef struct
{
  WeftSession  *session;          /* owns this */
  WeftDocument *document;
  char         *id;
  char         *draft_path;
  guint64       owner;            /* this document's jobs, for cancelling them all */
  guint         debounce_source;
  guint         max_source;
  guint         retry_source;
  guint         retry_delay_ms;   /* the next retry's delay; 0 while writes succeed */
  guint         has_draft : 1;    /* a complete draft of unsaved changes is on disk */
  guint         writing : 1;
  guint         write_again : 1;
  guint         failed : 1;       /* the last write of its changes failed */
} Tracked;

struct _WeftSession
{
  GObject       parent_instance;

  GSettings    *settings;
  char         *dir;
  char         *session_path;
  GPtrArray    *tracked;          /* Tracked*, in the order documents were opened */
  guint         session_source;
  guint         session_retry_source;
  guint         session_retry_delay_ms;
  guint64       next_owner;
  guint         session_writing : 1;
  guint         session_again : 1;
  guint         session_failed : 1;  /* the last write of the session file failed */
  guint         failing : 1;      /* some write is failing; said once until none is */
};

G_DEFINE_FINAL_TYPE (WeftSession, weft_session, G_TYPE_OBJECT)

enum {
  AUTOSAVE_FAILED,
  AUTOSAVE_RECOVERED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void weft_session_queue_session_write (WeftSession *self);
static void tracked_write_draft               (Tracked     *tracked);
static void weft_session_report               (WeftSession  *self,
                                               const GError *error,
                                               gboolean      to_file);

void
weft_session_entry_free (WeftSessionEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->id);
  g_clear_object (&entry->file);
  g_clear_object (&entry->draft);
  g_free (entry->title);
  g_free (entry);
}

static void
tracked_free (Tracked *tracked)
{
  g_clear_handle_id (&tracked->debounce_source, g_source_remove);
  g_clear_handle_id (&tracked->max_source, g_source_remove);
  g_clear_handle_id (&tracked->retry_source, g_source_remove);
  if (tracked->document != NULL)
    g_signal_handlers_disconnect_by_data (tracked->document, tracked);
  if (tracked->document != NULL)
    g_signal_handlers_disconnect_by_data (weft_document_get_buffer (tracked->document), tracked);
  g_clear_object (&tracked->document);
  g_free (tracked->id);
  g_free (tracked->draft_path);
  g_free (tracked);
}

static Tracked *
weft_session_find (WeftSession  *self,
                   WeftDocument *document)
{
  for (guint i = 0; i < self->tracked->len; i++)
    {
      Tracked *tracked = g_ptr_array_index (self->tracked, i);

      if (tracked->document == document)
        return tracked;
    }
  return NULL;
}

static Tracked *
weft_session_find_id (WeftSession *self,
                      const char  *id)
{
  for (guint i = 0; i < self->tracked->len; i++)
    {
      Tracked *tracked = g_ptr_array_index (self->tracked, i);

      if (g_str_equal (tracked->id, id))
        return tracked;
    }
  return NULL;
}

static gboolean
weft_session_any_failed (WeftSession *self)
{
  if (self->session_failed)
    return TRUE;
  for (guint i = 0; i < self->tracked->len; i++)
    if (((Tracked *) g_ptr_array_index (self->tracked, i))->failed)
      return TRUE;
  return FALSE;
}

/* Called after every write, with its error (NULL on success) once the
 * writer's own failed flag is up to date. Failures are reported once, and
 * their end once, when no write is failing any more: a disk that stays full
 * must not raise a message per attempt, nor a draft that still fails be
 * hidden by a session file that went through. */
static void
weft_session_report (WeftSession  *self,
                     const GError *error,
                     gboolean      to_file)
{
  gboolean any_failed = weft_session_any_failed (self);

  if (any_failed && !self->failing)
    {
      self->failing = TRUE;
      g_signal_emit (self, signals[AUTOSAVE_FAILED], 0,
                     error != NULL ? error->message : "", to_file);
    }
  else if (!any_failed && self->failing)
    {
      self->failing = FALSE;
      g_signal_emit (self, signals[AUTOSAVE_RECOVERED], 0);
    }
}

static guint
next_retry_delay (guint *delay_ms)
{
  *delay_ms = *delay_ms == 0 ? RETRY_FIRST_MS : MIN (*delay_ms * 2, RETRY_MAX_MS);
  return *delay_ms;
}

/* The debounce, the maximum interval or a retry after a failure: whichever
 * comes first writes, and the write removes the others. */
static gboolean
on_write_due (gpointer user_data)
{
  Tracked *tracked = user_data;
  guint id = g_source_get_id (g_main_current_source ());

  /* This source ends by returning G_SOURCE_REMOVE, not by the write's
   * g_source_remove(). */
  if (tracked->debounce_source == id)
    tracked->debounce_source = 0;
  if (tracked->max_source == id)
    tracked->max_source = 0;
  if (tracked->retry_source == id)
    tracked->retry_source = 0;
  weft_watchdog_work_begin ();
  tracked_write_draft (tracked);
  weft_watchdog_work_end ("autosaving a draft");
  return G_SOURCE_REMOVE;
}

/* Records how the last write of @tracked's changes went, and schedules the
 * next attempt after a failure. */
static void
tracked_set_outcome (Tracked      *tracked,
                     const GError *error,
                     gboolean      to_file)
{
  tracked->failed = error != NULL;
  g_clear_handle_id (&tracked->retry_source, g_source_remove);
  if (error != NULL)
    tracked->retry_source = g_timeout_add (next_retry_delay (&tracked->retry_delay_ms),
                                           on_write_due, tracked);
  else
    tracked->retry_delay_ms = 0;
  weft_session_report (tracked->session, error, to_file);
}

/* Writing files, off the main thread. */

/* The session file, written off the main thread. */
typedef struct
{
  char   *path;
  GBytes *bytes;
} WriteData;

static void
write_data_free (WriteData *data)
{
  g_free (data->path);
  g_clear_pointer (&data->bytes, g_bytes_unref);
  g_free (data);
}

static void
write_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  WriteData *data = task_data;
  GError *error = NULL;
  gsize len;
  const char *text = g_bytes_get_data (data->bytes, &len);

  /* Private, like the drafts: 0600, whatever the umask. */
  if (weft_file_write_atomic_mode (data->path, 0600, text, len, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
unlink_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  if (g_unlink (task_data) != 0 && errno != ENOENT)
    {
      int errsv = errno;

      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (errsv),
                               _("Could not remove the draft: %s"), g_strerror (errsv));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
remove_file_async (WeftSession *self,
                   const char  *path)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, NULL, NULL);

  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, unlink_thread);
}

/* Drafts */

static void
draft_written (WeftSession  *self,
               const char   *id,
               const GError *error)
{
  Tracked *tracked = weft_session_find_id (self, id);
  gboolean ok = error == NULL;

  /* The document may have been closed meanwhile; its draft is then removed
   * by the close, or now. */
  if (tracked == NULL)
    {
      g_autofree char *name = g_strconcat (id, ".draft", NULL);
      g_autofree char *path = g_build_filename (self->dir, name, NULL);

      remove_file_async (self, path);
      return;
    }

  tracked->writing = FALSE;
  /* Cancelled: its document is being closed, or the backend switched. */
  if (!g_error_matches (error, WEFT_ERROR, WEFT_ERROR_CANCELLED))
    tracked_set_outcome (tracked, error, FALSE);
  if (ok)
    {
      tracked->has_draft = TRUE;
      weft_session_queue_session_write (self);
    }

  if (tracked->write_again)
    {
      tracked->write_again = FALSE;
      tracked_write_draft (tracked);
    }
  /* Saved (or undone back to saved) while the draft was being written. */
  else if (!weft_document_get_modified (tracked->document) && tracked->has_draft)
    {
      tracked->has_draft = FALSE;
      remove_file_async (self, tracked->draft_path);
      weft_session_queue_session_write (self);
    }
}

/* A draft written by the worker backend (a SAVE job, owned by the document). */
typedef struct
{
  WeftSession *session;
  char        *id;
} DraftJob;

static void
on_draft_job_done (const WeftJobResult *result,
                   gpointer             user_data)
{
  DraftJob *job = user_data;

  draft_written (job->session, job->id, result->error);
  g_object_unref (job->session);
  g_free (job->id);
  g_free (job);
}

/* An autosave to the document's own file: the document may be closed, and
 * its Tracked freed, before it ends. */
typedef struct
{
  WeftSession *session;
  char        *id;
} SavedToFileData;

static SavedToFileData *
saved_to_file_data_new (Tracked *tracked)
{
  SavedToFileData *data = g_new0 (SavedToFileData, 1);

  data->session = g_object_ref (tracked->session);
  data->id = g_strdup (tracked->id);
  return data;
}

static void
on_saved_to_file (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  SavedToFileData *data = user_data;
  g_autoptr(GError) error = NULL;
  Tracked *tracked;

  weft_document_save_finish (WEFT_DOCUMENT (object), result, &error);
  tracked = data->session->tracked != NULL ? weft_session_find_id (data->session, data->id) : NULL;
  if (tracked != NULL)
    {
      tracked->writing = FALSE;
      tracked_set_outcome (tracked, error, TRUE);
      if (tracked->write_again)
        {
          tracked->write_again = FALSE;
          tracked_write_draft (tracked);
        }
    }
  g_object_unref (data->session);
  g_free (data->id);
  g_free (data);
}

static WeftBackend *
weft_session_get_backend (void)
{
  GApplication *app = g_application_get_default ();

  return WEFT_IS_APPLICATION (app) ? weft_application_get_backend (WEFT_APPLICATION (app)) : NULL;
}

static void
tracked_write_draft (Tracked *tracked)
{
  WeftSession *self = tracked->session;
  WeftBackend *backend = weft_session_get_backend ();
  g_autoptr(WeftSnapshot) snapshot = NULL;
  g_autoptr(WeftJobInput) input = NULL;
  g_autoptr(GBytes) options = NULL;
  WeftJobSpec spec = { 0 };
  DraftJob *job;

  g_clear_handle_id (&tracked->debounce_source, g_source_remove);
  g_clear_handle_id (&tracked->max_source, g_source_remove);
  g_clear_handle_id (&tracked->retry_source, g_source_remove);

  if (!weft_document_get_modified (tracked->document) || weft_document_get_loading (tracked->document))
    return;
  if (tracked->writing)
    {
      tracked->write_again = TRUE;
      return;
    }

  /* Autosave to the file itself, where the user asked for it and there is one. */
  if (g_settings_get_boolean (self->settings, "autosave-to-file") &&
      weft_document_get_file (tracked->document) != NULL &&
      !weft_document_get_busy (tracked->document))
    {
      tracked->writing = TRUE;
      weft_document_save_async (tracked->document, NULL, NULL, on_saved_to_file,
                                saved_to_file_data_new (tracked));
      return;
    }

  /* Drafts are written by the application's workers. */
  g_return_if_fail (backend != NULL);
  tracked->writing = TRUE;

  /* O(1) on the main thread: a worker walks the snapshot and writes it,
   * on whichever backend the user chose. */
  snapshot = weft_document_dup_snapshot (tracked->document);
  input = weft_job_input_new_snapshot (snapshot);
  options = weft_job_save_options (tracked->draft_path, 0600);
  spec.kind = WEFT_JOB_SAVE;
  spec.input = input;
  spec.options = options;
  spec.owner = tracked->owner;

  job = g_new0 (DraftJob, 1);
  job->session = g_object_ref (self);
  job->id = g_strdup (tracked->id);
  weft_backend_submit (backend, &spec, on_draft_job_done, job);
}

/* Every edit restarts the short timer; the long one, started by the first
 * edit after a draft, bounds how long steady typing can go unsaved. */
static void
on_buffer_changed (Tracked *tracked)
{
  WeftSession *self = tracked->session;

  if (weft_document_get_loading (tracked->document) || !weft_document_get_modified (tracked->document))
    return;

  g_clear_handle_id (&tracked->debounce_source, g_source_remove);
  tracked->debounce_source = g_timeout_add_seconds (g_settings_get_uint (self->settings, "autosave-delay"),
                                                    on_write_due, tracked);
  if (tracked->max_source == 0)
    tracked->max_source = g_timeout_add_seconds (g_settings_get_uint (self->settings, "autosave-max-interval"),
                                                 on_write_due, tracked);
}

static void
on_modified_changed (Tracked *tracked)
{
  /* Saved, or undone back to what is saved: the draft has no reason to be. */
  if (!weft_document_get_modified (tracked->document) && !weft_document_get_loading (tracked->document))
    {
      g_clear_handle_id (&tracked->debounce_source, g_source_remove);
      g_clear_handle_id (&tracked->max_source, g_source_remove);
      if (tracked->has_draft && !tracked->writing)
        {
          tracked->has_draft = FALSE;
          remove_file_async (tracked->session, tracked->draft_path);
        }
      /* Nothing is left to write, so nothing is failing. */
      if (tracked->failed)
        tracked_set_outcome (tracked, NULL, FALSE);
    }
  weft_session_queue_session_write (tracked->session);
}

void
weft_session_track (WeftSession  *self,
                    WeftDocument *document,
                    const char   *id)
{
  Tracked *tracked;
  g_autofree char *name = NULL;

  g_return_if_fail (WEFT_IS_SESSION (self));
  g_return_if_fail (WEFT_IS_DOCUMENT (document));

  if (weft_session_find (self, document) != NULL)
    return;

  tracked = g_new0 (Tracked, 1);
  tracked->session = self;
  tracked->document = g_object_ref (document);
  tracked->id = id != NULL ? g_strdup (id) : g_uuid_string_random ();
  name = g_strconcat (tracked->id, ".draft", NULL);
  tracked->draft_path = g_build_filename (self->dir, name, NULL);
  tracked->owner = ++self->next_owner;
  /* A restored draft stays on disk until the changes are saved or dropped. */
  tracked->has_draft = id != NULL && g_file_test (tracked->draft_path, G_FILE_TEST_IS_REGULAR);
  g_ptr_array_add (self->tracked, tracked);

  /* After the buffer's own handler, which is what marks it modified. */
  g_signal_connect_data (weft_document_get_buffer (document), "changed",
                         G_CALLBACK (on_buffer_changed), tracked, NULL, G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  g_signal_connect_swapped (document, "notify::modified", G_CALLBACK (on_modified_changed), tracked);
  g_signal_connect_swapped (document, "notify::file", G_CALLBACK (weft_session_queue_session_write), self);
  weft_session_queue_session_write (self);
}

void
weft_session_untrack (WeftSession  *self,
                      WeftDocument *document)
{
  Tracked *tracked;

  g_return_if_fail (WEFT_IS_SESSION (self));

  tracked = weft_session_find (self, document);
  if (tracked == NULL)
    return;

  /* Closing means the user saved or discarded the changes: a draft still
   * being written has no reason to finish. */
  if (WEFT_IS_APPLICATION (g_application_get_default ()))
    weft_application_cancel_owner (WEFT_APPLICATION (g_application_get_default ()), tracked->owner);
  remove_file_async (self, tracked->draft_path);
  g_ptr_array_remove (self->tracked, tracked);
  weft_session_queue_session_write (self);
}

guint
weft_session_get_n_pending (WeftSession *self)
{
  guint n = 0;

  g_return_val_if_fail (WEFT_IS_SESSION (self), 0);

  for (guint i = 0; i < self->tracked->len; i++)
    {
      Tracked *tracked = g_ptr_array_index (self->tracked, i);

      n += tracked->writing || tracked->debounce_source != 0;
    }
  return n + (self->session_writing || self->session_source != 0);
}

GFile *
weft_session_dup_draft_file (WeftSession  *self,
                             WeftDocument *document)
{
  Tracked *tracked;

  g_return_val_if_fail (WEFT_IS_SESSION (self), NULL);

  tracked = weft_session_find (self, document);
  return tracked != NULL ? g_file_new_for_path (tracked->draft_path) : NULL;
}

/* The session file */

static GBytes *
weft_session_serialize (WeftSession *self,
                        gboolean     clean_exit)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  gsize len = 0;
  char *text;

  for (guint i = 0; i < self->tracked->len; i++)
    {
      Tracked *tracked = g_ptr_array_index (self->tracked, i);
      GtkTextBuffer *buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (tracked->document));
      GFile *file = weft_document_get_file (tracked->document);
      g_autofree char *group = g_strconcat ("document ", tracked->id, NULL);
      GtkTextIter iter;

      /* A document with neither a file nor a draft has nothing to restore. */
      if (file == NULL && !tracked->has_draft)
        continue;

      gtk_text_buffer_get_iter_at_mark (buffer, &iter, gtk_text_buffer_get_insert (buffer));
      g_ptr_array_add (ids, tracked->id);
      if (file != NULL)
        {
          g_autofree char *uri = g_file_get_uri (file);

          g_key_file_set_string (keyfile, group, "uri", uri);
        }
      g_key_file_set_string (keyfile, group, "title", weft_document_get_title (tracked->document));
      g_key_file_set_boolean (keyfile, group, "draft", tracked->has_draft);
      g_key_file_set_integer (keyfile, group, "line", gtk_text_iter_get_line (&iter));
      g_key_file_set_integer (keyfile, group, "column", gtk_text_iter_get_line_offset (&iter));
    }

  g_key_file_set_boolean (keyfile, "session", "clean-exit", clean_exit);
  g_key_file_set_string_list (keyfile, "session", "documents",
                              (const char * const *) ids->pdata, ids->len);
  text = g_key_file_to_data (keyfile, &len, NULL);
  return g_bytes_new_take (text, len);
}

static gboolean
on_session_write_due (gpointer user_data)
{
  WeftSession *self = user_data;

  self->session_retry_source = 0;
  weft_session_queue_session_write (self);
  return G_SOURCE_REMOVE;
}

static void
on_session_written (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  WeftSession *self = WEFT_SESSION (object);
  g_autoptr(GError) error = NULL;

  self->session_writing = FALSE;
  self->session_failed = !g_task_propagate_boolean (G_TASK (result), &error);
  g_clear_handle_id (&self->session_retry_source, g_source_remove);
  if (self->session_failed)
    self->session_retry_source = g_timeout_add (next_retry_delay (&self->session_retry_delay_ms),
                                                on_session_write_due, self);
  else
    self->session_retry_delay_ms = 0;
  weft_session_report (self, error, FALSE);
  if (self->session_again)
    {
      self->session_again = FALSE;
      weft_session_queue_session_write (self);
    }
}

static gboolean
write_session_now (gpointer user_data)
{
  WeftSession *self = user_data;
  g_autoptr(GTask) task = NULL;
  WriteData *data;

  self->session_source = 0;
  if (self->session_writing)
    {
      self->session_again = TRUE;
      return G_SOURCE_REMOVE;
    }

  data = g_new0 (WriteData, 1);
  data->path = g_strdup (self->session_path);
  data->bytes = weft_session_serialize (self, FALSE);
  self->session_writing = TRUE;

  task = g_task_new (self, NULL, on_session_written, NULL);
  g_task_set_task_data (task, data, (GDestroyNotify) write_data_free);
  g_task_run_in_thread (task, write_thread);
  return G_SOURCE_REMOVE;
}

/* Many changes in a row (opening ten files) make one write. Not as a low
 * idle: GtkTextView measures a large text just opened for seconds to
 * minutes, and a tab opened meanwhile would be missing from the session
 * if Weft were killed before the end of it. */
static void
weft_session_queue_session_write (WeftSession *self)
{
  if (self->session_source == 0)
    self->session_source = weft_watchdog_idle_add (WEFT_SLICE_PRIORITY, "saving the session", write_session_now,
                                                   self, NULL);
}

void
weft_session_flush (WeftSession *self)
{
  g_return_if_fail (WEFT_IS_SESSION (self));

  for (guint i = 0; i < self->tracked->len; i++)
    {
      Tracked *tracked = g_ptr_array_index (self->tracked, i);

      if (tracked->debounce_source != 0 || tracked->max_source != 0)
        tracked_write_draft (tracked);
    }
  weft_session_queue_session_write (self);
}

void
weft_session_end (WeftSession *self)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  gsize len;
  const char *text;

  g_return_if_fail (WEFT_IS_SESSION (self));

  g_clear_handle_id (&self->session_source, g_source_remove);
  bytes = weft_session_serialize (self, TRUE);
  text = g_bytes_get_data (bytes, &len);
  if (!weft_file_write_atomic_mode (self->session_path, 0600, text, len, &error))
    g_warning ("Could not record the session: %s", error->message);
}

/* A writer killed between creating its temp file and renaming it leaves
 * the temp file behind (".<name>.weft-XXXXXXXX"); the draft it was
 * replacing is whole, and the temp file is of no use to anyone. Only the
 * primary instance reads the previous session, so no writer of this folder
 * can be running. */
static void
weft_session_remove_stale_temps (WeftSession *self)
{
  g_autoptr(GDir) dir = g_dir_open (self->dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (name[0] == '.' && strstr (name, ".weft-") != NULL)
      {
        g_autofree char *path = g_build_filename (self->dir, name, NULL);

        (void) g_unlink (path);
      }
}

/* Drafts that no entry names (a document created and lost before the
 * session file caught up) come back as untitled documents. */
static void
weft_session_add_orphans (WeftSession *self,
                          GPtrArray   *entries)
{
  g_autoptr(GDir) dir = g_dir_open (self->dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *id = NULL;
      gboolean known = FALSE;
      WeftSessionEntry *entry;

      if (!g_str_has_suffix (name, ".draft") || name[0] == '.')
        continue;
      id = g_strndup (name, strlen (name) - strlen (".draft"));
      for (guint i = 0; i < entries->len && !known; i++)
        known = g_str_equal (((WeftSessionEntry *) g_ptr_array_index (entries, i))->id, id);
      if (known)
        continue;

      entry = g_new0 (WeftSessionEntry, 1);
      entry->id = g_steal_pointer (&id);
      entry->draft = g_file_new_build_filename (self->dir, name, NULL);
      g_ptr_array_add (entries, entry);
    }
}

GPtrArray *
weft_session_read_previous (WeftSession *self,
                            gboolean    *out_clean_exit)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) weft_session_entry_free);
  g_auto(GStrv) ids = NULL;

  g_return_val_if_fail (WEFT_IS_SESSION (self), NULL);

  weft_session_remove_stale_temps (self);
  *out_clean_exit = TRUE;
  if (!g_key_file_load_from_file (keyfile, self->session_path, G_KEY_FILE_NONE, NULL))
    {
      weft_session_add_orphans (self, entries);
      *out_clean_exit = entries->len == 0;
      return g_steal_pointer (&entries);
    }

  *out_clean_exit = g_key_file_get_boolean (keyfile, "session", "clean-exit", NULL);
  ids = g_key_file_get_string_list (keyfile, "session", "documents", NULL, NULL);

  for (guint i = 0; ids != NULL && ids[i] != NULL; i++)
    {
      g_autofree char *group = g_strconcat ("document ", ids[i], NULL);
      g_autofree char *uri = g_key_file_get_string (keyfile, group, "uri", NULL);
      WeftSessionEntry *entry;

      /* Ids name files in the drafts folder: nothing but a plain name. */
      if (!g_key_file_has_group (keyfile, group) || strchr (ids[i], '/') != NULL || ids[i][0] == '.')
        continue;

      entry = g_new0 (WeftSessionEntry, 1);
      entry->id = g_strdup (ids[i]);
      entry->file = uri != NULL ? g_file_new_for_uri (uri) : NULL;
      entry->title = g_key_file_get_string (keyfile, group, "title", NULL);
      entry->line = MAX (0, g_key_file_get_integer (keyfile, group, "line", NULL));
      entry->column = MAX (0, g_key_file_get_integer (keyfile, group, "column", NULL));
      /* The draft itself is the truth: a crash between writing it and
       * recording it in this file must not lose it. */
      {
        g_autofree char *name = g_strconcat (ids[i], ".draft", NULL);
        g_autofree char *path = g_build_filename (self->dir, name, NULL);

        if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
          entry->draft = g_file_new_for_path (path);
      }
      if (entry->file == NULL && entry->draft == NULL)
        weft_session_entry_free (entry);
      else
        g_ptr_array_add (entries, entry);
    }

  weft_session_add_orphans (self, entries);
  return g_steal_pointer (&entries);
}

const char *
weft_session_get_dir (WeftSession *self)
{
  g_return_val_if_fail (WEFT_IS_SESSION (self), NULL);

  return self->dir;
}

WeftSession *
weft_session_new (const char *dir)
{
  WeftSession *self;

  g_return_val_if_fail (dir != NULL, NULL);

  self = g_object_new (WEFT_TYPE_SESSION, NULL);
  self->dir = g_strdup (dir);
  self->session_path = g_build_filename (dir, SESSION_FILE, NULL);
  /* Drafts hold what the user typed: nobody else may read them. */
  if (g_mkdir_with_parents (dir, 0700) == 0)
    g_chmod (dir, 0700);
  return self;
}

static void
weft_session_dispose (GObject *object)
{
  WeftSession *self = WEFT_SESSION (object);

  g_clear_handle_id (&self->session_source, g_source_remove);
  g_clear_handle_id (&self->session_retry_source, g_source_remove);
  g_clear_pointer (&self->tracked, g_ptr_array_unref);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (weft_session_parent_class)->dispose (object);
}

static void
weft_session_finalize (GObject *object)
{
  WeftSession *self = WEFT_SESSION (object);

  g_free (self->dir);
  g_free (self->session_path);

  G_OBJECT_CLASS (weft_session_parent_class)->finalize (object);
}

static void
weft_session_class_init (WeftSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = weft_session_dispose;
  object_class->finalize = weft_session_finalize;

  /* A draft, the session file or (with autosave-to-file, then @to_file is
   * TRUE) a document's own file could not be written; the message says why.
   * Emitted once, and autosave-recovered once when no write fails any more;
   * failed writes are retried by themselves meanwhile. */
  signals[AUTOSAVE_FAILED] =
    g_signal_new ("autosave-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_BOOLEAN);
  signals[AUTOSAVE_RECOVERED] =
    g_signal_new ("autosave-recovered", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
weft_session_init (WeftSession *self)
{
  self->settings = g_settings_new (APP_ID);
  self->tracked = g_ptr_array_new_with_free_func ((GDestroyNotify) tracked_free);
}
