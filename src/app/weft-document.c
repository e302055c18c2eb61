/* weft-document.c: one open text document — its buffer, its file, loading and saving. */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "weft-application.h"
#include "weft-document.h"
#include "weft-error.h"
#include "weft-file.h"
#include "weft-history.h"
#include "weft-replace.h"
#include "weft-slice.h"
#include "weft-sort.h"
#include "weft-sort-task.h"
#include "weft-text.h"

#define LOAD_SLICE_BYTES   WEFT_SLICE_BYTES
#define LOAD_PRIORITY      WEFT_SLICE_PRIORITY

struct _WeftDocument
{
  GObject          parent_instance;

  GtkSourceBuffer *buffer;
  GSettings       *settings;
  /* The buffer's text as a persistent rope, kept in step by the buffer's
   * edit signals; workers only ever see snapshots of it. Main thread only. */
  WeftText        *mirror;
  /* Set while a load inserts its text in slices; cancelled on dispose. */
  GCancellable    *load_cancellable;
  /* Set while lines are being sorted, until the result starts going in. */
  GCancellable    *sort_cancellable;
  GFile           *file;
  char            *title;
  double           load_progress;
  size_t           load_lines;      /* lines of the text being loaded; 0: not known yet */
  /* Watching the file for other programs' changes: what it was when we
   * last read or wrote it, and what a check found since. */
  GFileMonitor    *monitor;
  char            *disk_identity;
  char            *seen_identity;
  guint            disk_check_source;
  guint            untitled_number;
  /* Bumped on every change of the buffer, so that a save which finishes
   * after further typing does not mark those edits as saved. */
  guint64          change_count;
  /* Undo of large replacements (see weft-history.h). The boundary is the
   * text as the last such step left it: the buffer's own history holds
   * exactly the edits made since. States number the texts steps go between;
   * saved_state is the one last saved (0: none of them), saved_version the
   * mirror version last saved (G_MAXUINT64: none). */
  WeftHistory     *history;
  WeftSnapshot    *boundary;
  guint            boundary_state;
  guint            saved_state;
  guint            next_state;
  guint64          saved_version;
  guint            busy : 1;
  guint            loading : 1;
  guint            applying : 1;   /* a large replacement is going in, slice by slice */
  guint            disk_changed : 1;   /* changed or deleted by someone else, not yet dealt with */
  guint            ever_changed : 1;
};

G_DEFINE_FINAL_TYPE (WeftDocument, weft_document, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_BUFFER,
  PROP_FILE,
  PROP_TITLE,
  PROP_MODIFIED,
  PROP_BUSY,
  PROP_LOADING,
  PROP_LOAD_PROGRESS,
  PROP_APPLYING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  DISK_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Main thread only: the next number for "Untitled Document N". */
static guint next_untitled_number = 1;

/* What a file is on disk, as far as telling another program's write from
 * ours goes: modification time, size and inode. NULL when it is gone. */
static char *
file_identity (const char *path)
{
  struct stat st;

  if (path == NULL || stat (path, &st) != 0)
    return NULL;
  return g_strdup_printf ("%lld.%09ld:%lld:%llu", (long long) st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                          (long long) st.st_size, (unsigned long long) st.st_ino);
}

/* What a load produces off the main thread. */
typedef struct
{
  GFile    *file;         /* what is read */
  GFile    *as_file;      /* the document's file afterwards: @file, or for a
                           * draft the file it belongs to (NULL: untitled) */
  GFile    *previous_file;
  gboolean  as_modified;  /* a draft holds changes not saved to as_file */
  char     *path;
  char     *as_path;      /* as_file's path, for its identity */
  char     *identity;     /* as_file's identity when it was read */
  char     *text;
  size_t    len;
  char     *content_type;
  /* Built on the worker thread from the same bytes; becomes the document's
   * mirror when the last slice is in. */
  WeftText *mirror;
  /* Main thread: how many bytes of text are in the buffer so far. */
  size_t    inserted;
  guint     slice_source;
  /* The start of the file, read first and shown while the rest is read
   * (NULL when it was not valid UTF-8: the whole read says why). */
  char     *head;
  size_t    head_len;
  gboolean  prepared;     /* the buffer is emptied and loading has begun */
  /* The text the load replaces (NULL: there was none), and its state in
   * the history: a reload can be undone. */
  WeftSnapshot *replaced;
  guint     replaced_state;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_clear_handle_id (&data->slice_source, g_source_remove);
  g_clear_object (&data->file);
  g_clear_object (&data->as_file);
  g_clear_object (&data->previous_file);
  g_free (data->path);
  g_free (data->as_path);
  g_free (data->identity);
  weft_free_aside (data->text, data->len);
  g_free (data->content_type);
  g_clear_pointer (&data->mirror, weft_text_free);
  g_clear_pointer (&data->replaced, weft_snapshot_unref);
  g_free (data->head);
  g_free (data);
}

/* What a save hands to its thread: the bytes are a copy the thread owns. */
typedef struct
{
  GFile        *file;
  char         *path;
  WeftSnapshot *snapshot;
  guint64       change_count;
  char         *identity;  /* the file's identity right after our write */
} SaveData;

static void
save_data_free (SaveData *data)
{
  g_clear_object (&data->file);
  g_free (data->path);
  g_clear_pointer (&data->snapshot, weft_snapshot_unref);
  g_free (data->identity);
  g_free (data);
}

static void
weft_document_update_title (WeftDocument *self)
{
  g_autofree char *title = NULL;

  g_assert (WEFT_IS_DOCUMENT (self));

  if (self->file != NULL)
    {
      g_autofree char *basename = g_file_get_basename (self->file);

      title = g_filename_display_name (basename);
    }
  else
    title = g_strdup_printf (_("Untitled Document %u"), self->untitled_number);

  if (g_strcmp0 (title, self->title) != 0)
    {
      g_free (self->title);
      self->title = g_steal_pointer (&title);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
    }
}

static void
weft_document_set_file (WeftDocument *self,
                        GFile        *file)
{
  g_assert (WEFT_IS_DOCUMENT (self));

  if (g_set_object (&self->file, file))
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILE]);
      weft_document_update_title (self);
    }
}

static void
weft_document_set_busy (WeftDocument *self,
                        gboolean      busy)
{
  g_assert (WEFT_IS_DOCUMENT (self));

  if (self->busy != !!busy)
    {
      self->busy = !!busy;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
    }
}

static void
on_buffer_changed (WeftDocument  *self,
                   GtkTextBuffer *buffer)
{
  self->change_count++;
  self->ever_changed = TRUE;
  /* An edit of the user's starts a new branch: what was undone is gone. */
  if (!self->loading && !self->applying)
    weft_history_clear_redo (self->history);
}

/* The text as it is now is where the last step of the history ends. */
static void
weft_document_set_boundary (WeftDocument *self,
                            guint         state)
{
  g_clear_pointer (&self->boundary, weft_snapshot_unref);
  self->boundary = weft_text_snapshot (self->mirror);
  self->boundary_state = state;
}

static guint
weft_document_new_state (WeftDocument *self)
{
  guint state = ++self->next_state;

  if (weft_text_get_version (self->mirror) == self->saved_version)
    self->saved_state = state;
  return state;
}

/* The state of the text now. Edits made since the boundary (ordinary
 * typing, recorded by the buffer's own history, which the next irreversible
 * action will empty) become one step of their own first, so that undoing
 * past a large replacement still comes back through them. */
static guint
weft_document_settle (WeftDocument *self)
{
  g_autoptr(WeftSnapshot) now = weft_text_snapshot (self->mirror);
  guint state;

  if (weft_snapshot_same_text (now, self->boundary))
    {
      weft_document_set_boundary (self, self->boundary_state);
      return self->boundary_state;
    }
  state = weft_document_new_state (self);
  weft_history_push (self->history, self->boundary, self->boundary_state, now, state,
                     0, weft_snapshot_get_n_chars (self->boundary), weft_snapshot_get_n_chars (now));
  weft_document_set_boundary (self, state);
  return state;
}

/* A replacement of @before_chars chars at @start_char of @before has just
 * gone in, as an irreversible action: it becomes a step of the history. */
static void
weft_document_end_step (WeftDocument *self,
                        WeftSnapshot *before,
                        guint         before_state,
                        size_t        start_char,
                        size_t        before_chars)
{
  g_autoptr(WeftSnapshot) after = weft_text_snapshot (self->mirror);
  size_t after_chars = before_chars + weft_snapshot_get_n_chars (after) - weft_snapshot_get_n_chars (before);
  guint state = weft_document_new_state (self);

  weft_history_push (self->history, before, before_state, after, state, start_char, before_chars, after_chars);
  weft_document_set_boundary (self, state);
  /* Ending an irreversible action resets the buffer's modified flag to what
   * its (emptied) history last knew. */
  gtk_text_buffer_set_modified (GTK_TEXT_BUFFER (self->buffer), state != self->saved_state);
}

static void on_step_done              (gpointer      user_data,
                                       guint         state);
static void weft_document_set_progress (WeftDocument *self,
                                        double        progress);
static void weft_document_set_applying (WeftDocument *self,
                                        gboolean      applying);

static gboolean
weft_document_step (WeftDocument *self,
                    gboolean      redo)
{
  if (!weft_history_step (self->history, redo, (WeftHistoryProgress) weft_document_set_progress, on_step_done, self))
    return FALSE;
  weft_document_set_progress (self, 0.0);
  weft_document_set_busy (self, TRUE);
  weft_document_set_applying (self, TRUE);
  return TRUE;
}

/* A text that just came in from a file (or nothing, when loading failed):
 * the history starts again from it, or, when it replaced a text, records
 * that replacement as a step. */
static void
weft_document_restart_history (WeftDocument *self,
                               WeftSnapshot *replaced,
                               guint         replaced_state,
                               gboolean      saved)
{
  guint state = ++self->next_state;

  if (replaced != NULL && weft_snapshot_get_n_chars (replaced) > 0)
    {
      g_autoptr(WeftSnapshot) now = weft_text_snapshot (self->mirror);

      weft_history_push (self->history, replaced, replaced_state, now, state,
                         0, weft_snapshot_get_n_chars (replaced), weft_snapshot_get_n_chars (now));
    }
  else
    weft_history_clear (self->history);
  self->saved_state = saved ? state : 0;
  self->saved_version = saved ? weft_text_get_version (self->mirror) : G_MAXUINT64;
  weft_document_set_boundary (self, state);
}

static void
on_modified_changed (WeftDocument  *self,
                     GtkTextBuffer *buffer)
{
  if (!self->loading)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODIFIED]);
}

/* The mirror follows every edit. After the default handler has run, the
 * location points just past the new text. */
static void
on_insert_text (WeftDocument  *self,
                GtkTextIter   *location,
                const char    *text,
                int            len,
                GtkTextBuffer *buffer)
{
  size_t n_chars;

  if (self->loading)
    return;
  n_chars = (size_t) g_utf8_strlen (text, len);
  weft_text_insert (self->mirror, (size_t) gtk_text_iter_get_offset (location) - n_chars, text, (size_t) len);
}

/* Paintables and child anchors are one U+FFFC char in the buffer's text. */
static void
on_insert_object (WeftDocument  *self,
                  GtkTextIter   *location,
                  gpointer       object,
                  GtkTextBuffer *buffer)
{
  if (self->loading)
    return;
  weft_text_insert (self->mirror, (size_t) gtk_text_iter_get_offset (location) - 1, "\xEF\xBF\xBC", 3);
}

/* Before the default handler, while the range still exists. */
static void
on_delete_range (WeftDocument  *self,
                 GtkTextIter   *start,
                 GtkTextIter   *end,
                 GtkTextBuffer *buffer)
{
  int start_off, end_off;

  if (self->loading)
    return;
  start_off = gtk_text_iter_get_offset (start);
  end_off = gtk_text_iter_get_offset (end);
  weft_text_delete (self->mirror, (size_t) MIN (start_off, end_off), (size_t) ABS (end_off - start_off));
}

/* The light or dark variant of a scheme, where it has one: "Adwaita" and
 * "Adwaita-dark", "solarized-light" and "solarized-dark", … */
static GtkSourceStyleScheme *
find_scheme_variant (const char *id,
                     gboolean    dark)
{
  GtkSourceStyleSchemeManager *schemes = gtk_source_style_scheme_manager_get_default ();
  g_autofree char *base = NULL;
  g_autofree char *wanted = NULL;
  GtkSourceStyleScheme *scheme;

  if (g_str_has_suffix (id, "-dark"))
    base = g_strndup (id, strlen (id) - strlen ("-dark"));
  else if (g_str_has_suffix (id, "-light"))
    base = g_strndup (id, strlen (id) - strlen ("-light"));
  else
    base = g_strdup (id);

  wanted = g_strconcat (base, dark ? "-dark" : "-light", NULL);
  if ((scheme = gtk_source_style_scheme_manager_get_scheme (schemes, wanted)) != NULL)
    return scheme;
  if (!dark && (scheme = gtk_source_style_scheme_manager_get_scheme (schemes, base)) != NULL)
    return scheme;
  if ((scheme = gtk_source_style_scheme_manager_get_scheme (schemes, id)) != NULL)
    return scheme;
  return gtk_source_style_scheme_manager_get_scheme (schemes, dark ? "Adwaita-dark" : "Adwaita");
}

/* GtkSourceView does not follow libadwaita's light/dark switch by itself. */
static void
weft_document_update_style_scheme (WeftDocument *self)
{
  AdwStyleManager *style_manager = adw_style_manager_get_default ();
  g_autofree char *id = g_settings_get_string (self->settings, "style-scheme");

  gtk_source_buffer_set_style_scheme (self->buffer,
                                      find_scheme_variant (id, adw_style_manager_get_dark (style_manager)));
}

static void
weft_document_dispose (GObject *object)
{
  WeftDocument *self = WEFT_DOCUMENT (object);

  g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  g_cancellable_cancel (self->sort_cancellable);
  g_clear_object (&self->sort_cancellable);
  g_clear_handle_id (&self->disk_check_source, g_source_remove);
  if (self->monitor != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->monitor, self);
      g_file_monitor_cancel (self->monitor);
      g_clear_object (&self->monitor);
    }
  if (self->buffer != NULL)
    g_signal_handlers_disconnect_by_data (self->buffer, self);
  /* Before the buffer: a step going in has a mark in it. */
  g_clear_pointer (&self->history, weft_history_free);
  g_clear_object (&self->buffer);
  g_clear_object (&self->settings);
  g_clear_object (&self->file);

  G_OBJECT_CLASS (weft_document_parent_class)->dispose (object);
}

static void
weft_document_finalize (GObject *object)
{
  WeftDocument *self = WEFT_DOCUMENT (object);

  g_clear_pointer (&self->title, g_free);
  g_clear_pointer (&self->boundary, weft_snapshot_unref);
  g_clear_pointer (&self->mirror, weft_text_free);
  g_free (self->disk_identity);
  g_free (self->seen_identity);

  G_OBJECT_CLASS (weft_document_parent_class)->finalize (object);
}

static void
weft_document_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  WeftDocument *self = WEFT_DOCUMENT (object);

  switch (prop_id)
    {
    case PROP_BUFFER:
      g_value_set_object (value, self->buffer);
      break;
    case PROP_FILE:
      g_value_set_object (value, self->file);
      break;
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_MODIFIED:
      g_value_set_boolean (value, weft_document_get_modified (self));
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;
    case PROP_LOADING:
      g_value_set_boolean (value, self->loading);
      break;
    case PROP_LOAD_PROGRESS:
      g_value_set_double (value, self->load_progress);
      break;
    case PROP_APPLYING:
      g_value_set_boolean (value, self->applying);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
weft_document_class_init (WeftDocumentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = weft_document_dispose;
  object_class->finalize = weft_document_finalize;
  object_class->get_property = weft_document_get_property;

  properties[PROP_BUFFER] =
    g_param_spec_object ("buffer", NULL, NULL, GTK_SOURCE_TYPE_BUFFER,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_FILE] =
    g_param_spec_object ("file", NULL, NULL, G_TYPE_FILE,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODIFIED] =
    g_param_spec_boolean ("modified", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[PROP_LOADING] =
    g_param_spec_boolean ("loading", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOAD_PROGRESS] =
    g_param_spec_double ("load-progress", NULL, NULL, 0.0, 1.0, 0.0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[PROP_APPLYING] =
    g_param_spec_boolean ("applying", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The file on disk was changed or removed by another program, or such a
   * change was dealt with: see weft_document_get_disk_changed(). */
  signals[DISK_CHANGED] =
    g_signal_new ("disk-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

/* While a file or a large replacement goes in (weft_document_get_read_only()),
 * every edit but Weft's own slices (weft_slice_insert(), weft_slice_delete())
 * is refused here,
 * before any other handler sees it: typing, pasting, dropping, a spelling
 * suggestion. The view itself stays editable: in GTK 4.8 every change of
 * gtk_text_view_set_editable() re-lays out every line, which blocked the
 * window 100 ms at 1M lines. */
static gboolean
refuses_edits (WeftDocument  *self,
               GtkTextBuffer *buffer)
{
  return (self->loading || self->applying) && !weft_slice_is_own_edit (buffer);
}

static void
refuse_insert (GtkTextBuffer *buffer,
               GtkTextIter   *location,
               const char    *text,
               int            len,
               WeftDocument  *self)
{
  if (refuses_edits (self, buffer))
    g_signal_stop_emission_by_name (buffer, "insert-text");
}

static void
refuse_insert_object (GtkTextBuffer *buffer,
                      GtkTextIter   *location,
                      gpointer       object,
                      WeftDocument  *self)
{
  if (refuses_edits (self, buffer))
    g_signal_stop_emission (buffer, g_signal_get_invocation_hint (buffer)->signal_id, 0);
}

static void
refuse_delete (GtkTextBuffer *buffer,
               GtkTextIter   *start,
               GtkTextIter   *end,
               WeftDocument  *self)
{
  if (refuses_edits (self, buffer))
    g_signal_stop_emission_by_name (buffer, "delete-range");
}

static void
weft_document_init (WeftDocument *self)
{
  self->buffer = gtk_source_buffer_new (NULL);
  gtk_source_buffer_set_highlight_syntax (self->buffer, TRUE);
  self->untitled_number = next_untitled_number++;

  /* First of all handlers, so a refused edit reaches none of them. */
  g_signal_connect_object (self->buffer, "insert-text", G_CALLBACK (refuse_insert), self, 0);
  g_signal_connect_object (self->buffer, "insert-paintable", G_CALLBACK (refuse_insert_object), self, 0);
  g_signal_connect_object (self->buffer, "insert-child-anchor", G_CALLBACK (refuse_insert_object), self, 0);
  g_signal_connect_object (self->buffer, "delete-range", G_CALLBACK (refuse_delete), self, 0);

  g_signal_connect_object (self->buffer, "changed",
                           G_CALLBACK (on_buffer_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->buffer, "modified-changed",
                           G_CALLBACK (on_modified_changed), self, G_CONNECT_SWAPPED);

  self->mirror = weft_text_new ();
  self->history = weft_history_new (GTK_TEXT_BUFFER (self->buffer));
  self->saved_version = G_MAXUINT64;
  weft_document_restart_history (self, NULL, 0, TRUE);
  g_signal_connect_object (self->buffer, "insert-text",
                           G_CALLBACK (on_insert_text), self, G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  g_signal_connect_object (self->buffer, "insert-paintable",
                           G_CALLBACK (on_insert_object), self, G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  g_signal_connect_object (self->buffer, "insert-child-anchor",
                           G_CALLBACK (on_insert_object), self, G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  g_signal_connect_object (self->buffer, "delete-range",
                           G_CALLBACK (on_delete_range), self, G_CONNECT_SWAPPED);

  self->settings = g_settings_new (APP_ID);
  g_signal_connect_object (self->settings, "changed::style-scheme",
                           G_CALLBACK (weft_document_update_style_scheme), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (weft_document_update_style_scheme), self, G_CONNECT_SWAPPED);
  weft_document_update_style_scheme (self);

  weft_document_update_title (self);
}

WeftDocument *
weft_document_new (void)
{
  return g_object_new (WEFT_TYPE_DOCUMENT, NULL);
}

GtkSourceBuffer *
weft_document_get_buffer (WeftDocument *self)
{
  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), NULL);

  return self->buffer;
}

GFile *
weft_document_get_file (WeftDocument *self)
{
  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), NULL);

  return self->file;
}

const char *
weft_document_get_title (WeftDocument *self)
{
  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), NULL);

  return self->title;
}

gboolean
weft_document_get_modified (WeftDocument *self)
{
  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), FALSE);

  /* Text coming in from the file is not a change of the user's. */
  return !self->loading && gtk_text_buffer_get_modified (GTK_TEXT_BUFFER (self->buffer));
}

gboolean
weft_document_get_loading (WeftDocument *self)
{
  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), FALSE);

  return self->loading;
}

double
weft_document_get_load_progress (WeftDocument *self)
{
  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), 0.0);

  return self->load_progress;
}

/* O(1): a version of the text that any thread may read while editing goes on. */
WeftSnapshot *
weft_document_dup_snapshot (WeftDocument *self)
{
  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), NULL);

  return weft_text_snapshot (self->mirror);
}

void
weft_document_cancel_load (WeftDocument *self)
{
  g_return_if_fail (WEFT_IS_DOCUMENT (self));

  g_cancellable_cancel (self->load_cancellable);
  g_cancellable_cancel (self->sort_cancellable);
}

/* Whether the text is going in slice by slice (a load, a large
 * replacement), during which the user's edits are refused. */
gboolean
weft_document_get_read_only (WeftDocument *self)
{
  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), FALSE);

  return self->loading || self->applying;
}

/* How many lines the text being loaded will have, once it is all in; 0
 * when no load is going on or the file is still being read. */
size_t
weft_document_get_load_lines (WeftDocument *self)
{
  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), 0);

  return self->load_lines;
}

gboolean
weft_document_get_busy (WeftDocument *self)
{
  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), FALSE);

  return self->busy;
}

/* An untitled document nobody has typed into: opening a file may reuse its tab. */
gboolean
weft_document_is_untouched (WeftDocument *self)
{
  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), FALSE);

  return self->file == NULL && !self->ever_changed && !self->busy;
}

static char *
dup_local_path (GFile   *file,
                GError **error)
{
  char *path = g_file_get_path (file);

  if (path == NULL)
    {
      g_autofree char *uri = g_file_get_uri (file);

      g_set_error (error, WEFT_ERROR, WEFT_ERROR_NOT_FOUND,
                   _("“%s” is not a local file; Weft opens and saves local files only"), uri);
    }
  return path;
}

static void
weft_document_guess_language (WeftDocument *self,
                              const char   *content_type)
{
  GtkSourceLanguageManager *manager = gtk_source_language_manager_get_default ();
  g_autofree char *basename = NULL;
  GtkSourceLanguage *language;

  g_assert (WEFT_IS_DOCUMENT (self));

  if (self->file != NULL)
    basename = g_file_get_basename (self->file);

  language = gtk_source_language_manager_guess_language (manager, basename, content_type);
  gtk_source_buffer_set_language (self->buffer, language);
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  LoadData *data = task_data;
  GError *error = NULL;
  g_autofree char *basename = NULL;

  /* Before reading: a change made while we read is then noticed later. */
  data->identity = file_identity (data->as_path);
  if (!weft_file_read_utf8 (data->path, &data->text, &data->len, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  data->mirror = weft_text_new_from_utf8 (data->text, data->len);

  /* Sniffing is thread-safe; the language manager is not, so the language
   * itself is picked on the main thread. */
  if (data->content_type == NULL)
    {
      basename = g_path_get_basename (data->path);
      data->content_type = g_content_type_guess (basename, (const guchar *) data->text,
                                                 MIN (data->len, 4096), NULL);
    }
  g_task_return_boolean (task, TRUE);
}

/* How far the text going in (a load, or a large replacement) has got. */
static void
weft_document_set_progress (WeftDocument *self,
                            double        progress)
{
  if (self->load_progress != progress)
    {
      self->load_progress = progress;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOAD_PROGRESS]);
    }
}

static void
weft_document_set_loading (WeftDocument *self,
                           gboolean      loading,
                           double        progress)
{
  g_assert (WEFT_IS_DOCUMENT (self));

  weft_document_set_progress (self, progress);
  if (self->loading != !!loading)
    {
      self->loading = !!loading;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODIFIED]);
    }
}

/* Where the next slice ends: at most LOAD_SLICE_BYTES on, after a newline
 * when there is one (so lines arrive whole), never inside a UTF-8 sequence. */
static size_t
slice_end (const char *text,
           size_t      len,
           size_t      from)
{
  size_t end = from + LOAD_SLICE_BYTES;
  const char *newline;

  if (end >= len)
    return len;
  newline = g_strrstr_len (text + from, (gssize) (end - from), "\n");
  if (newline != NULL)
    return (size_t) (newline - text) + 1;
  while (end > from && ((guchar) text[end] & 0xC0) == 0x80)
    end--;
  return end;
}

/* Inserts text[from, end) at @iter. GTK 4.8's accessibility code reads the
 * text of every insert-text as a NUL-terminated string, ignoring its
 * length, and sends it over D-Bus: an unterminated slice of a large text
 * would send (and validate) the whole rest of it each time, which is
 * quadratic and took a 10 MB load from 1.3 s to over 30 s. So the slice
 * ends in a NUL for the length of the call; @text must have a byte to spare
 * at @end (its terminator, at the very end). */
static void
insert_slice (GtkTextBuffer *buffer,
              GtkTextIter   *iter,
              char          *text,
              size_t         from,
              size_t         end)
{
  char saved = text[end];

  text[end] = '\0';
  weft_slice_insert (buffer, iter, text + from, (int) (end - from));
  text[end] = saved;
}

static void
on_disk_checked (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  WeftDocument *self = WEFT_DOCUMENT (object);
  g_autofree char *identity = g_task_propagate_pointer (G_TASK (result), NULL);

  /* Our own load or save is under way: it records the identity itself. */
  if (self->busy || self->disk_identity == NULL)
    return;
  if (g_strcmp0 (identity, self->disk_identity) == 0)
    return;
  /* Already said, and nothing new since. */
  if (self->disk_changed && g_strcmp0 (identity, self->seen_identity) == 0)
    return;

  g_free (self->seen_identity);
  self->seen_identity = g_steal_pointer (&identity);
  self->disk_changed = TRUE;
  g_signal_emit (self, signals[DISK_CHANGED], 0);
}

static void
check_disk_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  g_task_return_pointer (task, file_identity (task_data), g_free);
}

/* Several events come per change (a rename-over is a delete and a create):
 * look once they have settled, off the main thread. */
static gboolean
check_disk_now (gpointer user_data)
{
  WeftDocument *self = user_data;
  g_autoptr(GTask) task = NULL;

  self->disk_check_source = 0;
  if (self->file == NULL)
    return G_SOURCE_REMOVE;
  task = g_task_new (self, NULL, on_disk_checked, NULL);
  g_task_set_task_data (task, g_file_get_path (self->file), g_free);
  g_task_run_in_thread (task, check_disk_thread);
  return G_SOURCE_REMOVE;
}

static void
on_file_monitor_event (WeftDocument      *self,
                       GFile             *file,
                       GFile             *other,
                       GFileMonitorEvent  event,
                       GFileMonitor      *monitor)
{
  if (event == G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED || event == G_FILE_MONITOR_EVENT_PRE_UNMOUNT)
    return;
  g_clear_handle_id (&self->disk_check_source, g_source_remove);
  self->disk_check_source = weft_watchdog_timeout_add (150, "checking the file on disk", check_disk_now, self, NULL);
}

/* After reading or writing the file ourselves: this is what it now is. */
static void
weft_document_watch_file (WeftDocument *self,
                          char         *identity)
{
  g_assert (WEFT_IS_DOCUMENT (self));

  g_free (self->disk_identity);
  self->disk_identity = identity;
  g_clear_pointer (&self->seen_identity, g_free);
  self->disk_changed = FALSE;

  if (self->monitor != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->monitor, self);
      g_file_monitor_cancel (self->monitor);
      g_clear_object (&self->monitor);
    }
  if (self->file != NULL)
    {
      self->monitor = g_file_monitor_file (self->file, G_FILE_MONITOR_NONE, NULL, NULL);
      if (self->monitor != NULL)
        g_signal_connect_swapped (self->monitor, "changed", G_CALLBACK (on_file_monitor_event), self);
    }
}

gboolean
weft_document_get_disk_changed (WeftDocument *self)
{
  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), FALSE);

  return self->disk_changed;
}

gboolean
weft_document_get_disk_deleted (WeftDocument *self)
{
  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), FALSE);

  return self->disk_changed && self->seen_identity == NULL;
}

/* The user keeps their text over the other program's: no more warnings
 * about that change, and the text now differs from the file. */
void
weft_document_keep_mine (WeftDocument *self)
{
  g_return_if_fail (WEFT_IS_DOCUMENT (self));

  if (!self->disk_changed)
    return;
  self->disk_changed = FALSE;
  g_free (self->disk_identity);
  /* After a deletion there is nothing to compare with until the next save. */
  self->disk_identity = g_strdup (self->seen_identity);
  gtk_text_buffer_set_modified (GTK_TEXT_BUFFER (self->buffer), TRUE);
  g_signal_emit (self, signals[DISK_CHANGED], 0);
}

static void
weft_document_finish_load (WeftDocument *self,
                           GTask        *task,
                           GError       *error)
{
  LoadData *data = g_task_get_task_data (task);
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (self->buffer);

  g_assert (WEFT_IS_DOCUMENT (self));

  gtk_text_buffer_end_irreversible_action (buffer);
  self->load_lines = 0;

  if (error != NULL)
    {
      /* Half a file must never be mistaken for the file: take it all out. */
      GtkTextIter start, end;

      gtk_text_buffer_begin_irreversible_action (buffer);
      gtk_text_buffer_get_bounds (buffer, &start, &end);
      weft_slice_delete (buffer, &start, &end);
      gtk_text_buffer_end_irreversible_action (buffer);
      weft_text_free (self->mirror);
      self->mirror = weft_text_new ();
      /* Nor may a save write that empty buffer over the file. */
      weft_document_set_file (self, data->previous_file);
      /* A failed reload leaves the text it replaced one undo away. */
      weft_document_restart_history (self, data->replaced, data->replaced_state, TRUE);
    }
  else
    {
      weft_text_free (self->mirror);
      self->mirror = g_steal_pointer (&data->mirror);
      weft_document_restart_history (self, data->replaced, data->replaced_state, !data->as_modified);
      weft_document_set_file (self, data->as_file);
      weft_document_watch_file (self, g_steal_pointer (&data->identity));
      g_signal_emit (self, signals[DISK_CHANGED], 0);
    }

  gtk_text_buffer_set_modified (buffer, error == NULL && data->as_modified);
  g_clear_object (&self->load_cancellable);
  weft_document_set_loading (self, FALSE, error == NULL ? 1.0 : 0.0);
  weft_document_set_busy (self, FALSE);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* Inserts slices until the time budget is spent; returns TRUE once the
 * load is over (and the task returned), whether complete or cancelled. */
static gboolean
insert_slices_step (GTask *task)
{
  WeftDocument *self = g_task_get_source_object (task);
  LoadData *data = g_task_get_task_data (task);
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (self->buffer);
  WeftSliceBudget budget;
  GError *error = NULL;

  if (g_cancellable_set_error_if_cancelled (g_task_get_cancellable (task), &error))
    {
      weft_document_finish_load (self, task, error);
      return TRUE;
    }

  weft_slice_budget_init (&budget);
  do
    {
      size_t end = slice_end (data->text, data->len, data->inserted);
      gboolean first = data->inserted == 0;
      GtkTextIter iter;

      gtk_text_buffer_get_end_iter (buffer, &iter);
      insert_slice (buffer, &iter, data->text, data->inserted, end);
      data->inserted = end;

      /* The cursor starts at the top; later slices go in below it. */
      if (first)
        {
          gtk_text_buffer_get_start_iter (buffer, &iter);
          gtk_text_buffer_select_range (buffer, &iter, &iter);
        }
    }
  while (data->inserted < data->len && weft_slice_budget_next (&budget));

  if (data->inserted < data->len)
    {
      weft_document_set_loading (self, TRUE, (double) data->inserted / (double) data->len);
      return FALSE;
    }

  weft_document_finish_load (self, task, NULL);
  return TRUE;
}

static gboolean
insert_slices (gpointer user_data)
{
  GTask *task = user_data;
  LoadData *data = g_task_get_task_data (task);

  if (!insert_slices_step (task))
    return G_SOURCE_CONTINUE;
  data->slice_source = 0;
  return G_SOURCE_REMOVE;
}

/* Empties the buffer and starts loading into it: the file's language
 * first, so the first screenful is already coloured. */
static void
weft_document_prepare_load (WeftDocument *self,
                            LoadData     *data)
{
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (self->buffer);
  GtkTextIter start, end;

  weft_document_set_file (self, data->as_file);
  weft_document_guess_language (self, data->content_type);

  /* Loading replaces whatever the (untouched) buffer held, as one action
   * nobody can undo; the mirror follows once, at the end. */
  if (gtk_text_buffer_get_char_count (buffer) > 0)
    {
      data->replaced_state = weft_document_settle (self);
      data->replaced = weft_text_snapshot (self->mirror);
    }
  weft_document_set_loading (self, TRUE, 0.0);
  gtk_text_buffer_begin_irreversible_action (buffer);
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  weft_slice_delete (buffer, &start, &end);
  data->prepared = TRUE;
}

static void
on_file_read (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  WeftDocument *self = WEFT_DOCUMENT (object);
  g_autoptr(GTask) task = user_data;
  LoadData *data = g_task_get_task_data (task);
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (self->buffer);
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (data->prepared)
        {
          /* The head is in: take it out again. */
          weft_document_finish_load (self, task, error);
          return;
        }
      g_clear_object (&self->load_cancellable);
      weft_document_set_busy (self, FALSE);
      g_task_return_error (task, error);
      return;
    }

  weft_watchdog_work_begin ();
  self->load_lines = weft_text_get_n_lines (data->mirror);
  if (!data->prepared)
    weft_document_prepare_load (self, data);
  else if (data->len < data->inserted || memcmp (data->text, data->head, data->inserted) != 0)
    {
      /* The file changed between the two reads: start again from the top. */
      GtkTextIter start, end;

      gtk_text_buffer_get_bounds (buffer, &start, &end);
      weft_slice_delete (buffer, &start, &end);
      data->inserted = 0;
    }

  /* The first slice now, so the first screenful shows at once; the rest
   * when the main loop is idle. */
  if (!insert_slices_step (task))
    data->slice_source = weft_watchdog_idle_add (LOAD_PRIORITY, "loading a file", insert_slices,
                                                 g_object_ref (task), g_object_unref);
  weft_watchdog_work_end ("loading a file");
}

/* Reads the first slice of the file, so it can show while the whole is
 * read, checked and counted (seconds for a million lines on a busy
 * machine). Anything unusual is left for the whole read to report. */
static void
head_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  LoadData *data = task_data;
  g_autofree char *basename = NULL;
  struct stat st;
  char *head;
  ssize_t n = 0;
  int fd;

  if (stat (data->path, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  fd = open (data->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  head = g_malloc (LOAD_SLICE_BYTES + 1);
  while (n < LOAD_SLICE_BYTES)
    {
      ssize_t got = read (fd, head + n, (size_t) (LOAD_SLICE_BYTES - n));

      if (got <= 0)
        break;
      n += got;
    }
  close (fd);

  /* Whole lines only, unless this is all there is. */
  if (n == LOAD_SLICE_BYTES)
    {
      const char *newline = g_strrstr_len (head, n, "\n");

      n = newline != NULL ? newline - head + 1 : 0;
    }
  if (n > 0 && weft_utf8_validate (head, (size_t) n, NULL))
    {
      head[n] = '\0';
      data->head = head;
      data->head_len = (size_t) n;
      basename = g_path_get_basename (data->path);
      data->content_type = g_content_type_guess (basename, (const guchar *) head, MIN ((size_t) n, 4096), NULL);
    }
  else
    g_free (head);
  g_task_return_boolean (task, TRUE);
}

/* Shows the file's first lines (when they were read) and reads the whole. */
static void
show_head (GTask *task)
{
  WeftDocument *self = g_task_get_source_object (task);
  LoadData *data = g_task_get_task_data (task);
  g_autoptr(GTask) read_task = NULL;

  if (data->head != NULL && !g_cancellable_is_cancelled (self->load_cancellable))
    {
      GtkTextBuffer *buffer = GTK_TEXT_BUFFER (self->buffer);
      GtkTextIter iter;

      weft_watchdog_work_begin ();
      weft_document_prepare_load (self, data);
      gtk_text_buffer_get_start_iter (buffer, &iter);
      insert_slice (buffer, &iter, data->head, 0, data->head_len);
      data->inserted = data->head_len;
      gtk_text_buffer_get_start_iter (buffer, &iter);
      gtk_text_buffer_select_range (buffer, &iter, &iter);
      weft_watchdog_work_end ("showing a file's first lines");
    }

  read_task = g_task_new (self, self->load_cancellable, on_file_read, g_object_ref (task));
  g_task_set_task_data (read_task, data, NULL);
  g_task_run_in_thread (read_task, load_thread);
}

/* Whether the main loop has reached idle priority since the first load
 * began; until it has, no text goes in. GTK 4.8 registers a window's
 * accessible objects with the AT-SPI registry from an idle callback
 * (G_PRIORITY_DEFAULT_IDLE), and at that moment sends the whole text of
 * every text view over D-Bus in one message: 10 MB stalled the window for
 * 60-150 ms. Load slices and GtkTextView's line validation run at higher
 * priorities, and keep the main loop busy from the first screenful until
 * GTK has measured every line: for a large file opened at start-up, the
 * registration came after the load, 10 to 90 s later, with the whole text.
 * Main thread only. */
static gboolean main_loop_went_idle;

static gboolean
show_head_after_idle (gpointer user_data)
{
  main_loop_went_idle = TRUE;
  show_head (user_data);
  return G_SOURCE_REMOVE;
}

static void
on_head_read (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;

  g_task_propagate_boolean (G_TASK (result), NULL);
  /* Before any text goes in, until the main loop has once gone idle (see
   * main_loop_went_idle): then it has nothing to measure yet. */
  if (!main_loop_went_idle)
    weft_watchdog_idle_add (G_PRIORITY_DEFAULT_IDLE + 1, "showing a file's first lines", show_head_after_idle,
                            g_steal_pointer (&task), g_object_unref);
  else
    show_head (task);
}

static void
weft_document_start_load (WeftDocument        *self,
                          GFile               *file,
                          GFile               *as_file,
                          gboolean             as_modified,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) read_task = NULL;
  GError *error = NULL;
  LoadData *data;

  if (self->busy)
    {
      g_task_report_new_error (self, callback, user_data, weft_document_load_async,
                               WEFT_ERROR, WEFT_ERROR_FAILED,
                               _("The document is busy; try again when it has finished"));
      return;
    }

  data = g_new0 (LoadData, 1);
  data->file = g_object_ref (file);
  data->as_file = as_file != NULL ? g_object_ref (as_file) : NULL;
  data->previous_file = self->file != NULL ? g_object_ref (self->file) : NULL;
  data->as_modified = as_modified;
  data->as_path = as_file != NULL ? g_file_get_path (as_file) : NULL;
  data->path = dup_local_path (file, &error);
  if (data->path == NULL)
    {
      load_data_free (data);
      g_task_report_error (self, callback, user_data, weft_document_load_async, error);
      return;
    }

  /* The document's own cancellable, so that closing the tab or pressing
   * Escape stops the load; the caller's cancels it too. */
  g_clear_object (&self->load_cancellable);
  self->load_cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    g_signal_connect_object (cancellable, "cancelled", G_CALLBACK (g_cancellable_cancel),
                             self->load_cancellable, G_CONNECT_SWAPPED);

  task = g_task_new (self, self->load_cancellable, callback, user_data);
  g_task_set_source_tag (task, weft_document_load_async);
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);

  read_task = g_task_new (self, self->load_cancellable, on_head_read, g_object_ref (task));
  g_task_set_task_data (read_task, data, NULL);
  weft_document_set_busy (self, TRUE);
  g_task_run_in_thread (read_task, head_thread);
}

void
weft_document_load_async (WeftDocument        *self,
                          GFile               *file,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_return_if_fail (WEFT_IS_DOCUMENT (self));
  g_return_if_fail (G_IS_FILE (file));

  weft_document_start_load (self, file, file, FALSE, cancellable, callback, user_data);
}

/* Loads the text of @draft, an autosaved copy of unsaved changes, into a
 * document whose file is @file (NULL: untitled): the changes come back as
 * unsaved changes. Finish with weft_document_load_finish(). */
void
weft_document_load_draft_async (WeftDocument        *self,
                                GFile               *draft,
                                GFile               *file,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (WEFT_IS_DOCUMENT (self));
  g_return_if_fail (G_IS_FILE (draft));
  g_return_if_fail (file == NULL || G_IS_FILE (file));

  weft_document_start_load (self, draft, file, TRUE, cancellable, callback, user_data);
}

gboolean
weft_document_load_finish (WeftDocument  *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
save_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  SaveData *data = task_data;
  GError *error = NULL;
  WeftChunkIter iter;

  weft_chunk_iter_init (&iter, data->snapshot, 0, SIZE_MAX);
  if (weft_file_write_atomic_chunks (data->path, (WeftFileChunkFunc) weft_chunk_iter_next, &iter, &error))
    {
      data->identity = file_identity (data->path);
      g_task_return_boolean (task, TRUE);
    }
  else
    g_task_return_error (task, error);
}

void
weft_document_save_async (WeftDocument        *self,
                          GFile               *file,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  SaveData *data;

  g_return_if_fail (WEFT_IS_DOCUMENT (self));
  g_return_if_fail (file == NULL || G_IS_FILE (file));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, weft_document_save_async);

  if (file == NULL)
    file = self->file;
  if (file == NULL)
    {
      g_task_return_new_error (task, WEFT_ERROR, WEFT_ERROR_NOT_FOUND,
                               _("The document has no file yet; use Save As"));
      return;
    }
  if (self->busy)
    {
      g_task_return_new_error (task, WEFT_ERROR, WEFT_ERROR_FAILED,
                               _("The document is busy; try again when it has finished"));
      return;
    }

  data = g_new0 (SaveData, 1);
  data->file = g_object_ref (file);
  data->path = dup_local_path (file, &error);
  if (data->path == NULL)
    {
      save_data_free (data);
      g_task_return_error (task, error);
      return;
    }

  /* O(1) here; the writing thread walks the snapshot's pieces. */
  data->snapshot = weft_text_snapshot (self->mirror);
  data->change_count = self->change_count;

  g_task_set_task_data (task, data, (GDestroyNotify) save_data_free);
  weft_document_set_busy (self, TRUE);
  g_task_run_in_thread (task, save_thread);
}

gboolean
weft_document_save_finish (WeftDocument  *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  GTask *task = G_TASK (result);
  SaveData *data = g_task_get_task_data (task);
  gboolean was_untitled;

  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (data != NULL)
    weft_document_set_busy (self, FALSE);

  if (!g_task_propagate_boolean (task, error))
    return FALSE;

  was_untitled = self->file == NULL;
  weft_document_set_file (self, data->file);
  weft_document_watch_file (self, g_steal_pointer (&data->identity));
  g_signal_emit (self, signals[DISK_CHANGED], 0);
  if (data->change_count == self->change_count)
    {
      gtk_text_buffer_set_modified (GTK_TEXT_BUFFER (self->buffer), FALSE);
      self->saved_version = weft_snapshot_get_version (data->snapshot);
      self->saved_state = self->saved_version == weft_snapshot_get_version (self->boundary) ? self->boundary_state : 0;
    }
  if (was_untitled)
    weft_document_guess_language (self, NULL);
  return TRUE;
}

/* Sorting lines */

typedef struct
{
  WeftSnapshot    *snapshot;
  WeftSortOptions  options;
  char            *locale;
  size_t           start_byte, end_byte;   /* the lines sorted, in the snapshot */
  int              start_char, end_char;
  char            *sorted;                 /* NUL-terminated at sorted_len */
  size_t           sorted_len;
  /* Sorting, on the application's backend (main thread): */
  WeftSortTask    *backend_task;           /* until its callback */
  gulong           backend_cancel_id;
  GBytes         **pieces;                 /* the sorted text, until assembled */
  guint            n_pieces;
  /* Applying, on the main thread: */
  WeftReplace     *replace;
  guint            before_state;           /* of the history, for undo */
} SortData;

static void
sort_data_free (SortData *data)
{
  g_clear_pointer (&data->replace, weft_replace_free);
  g_clear_pointer (&data->snapshot, weft_snapshot_unref);
  g_free (data->locale);
  weft_free_aside (data->sorted, data->sorted_len);
  for (guint i = 0; i < data->n_pieces; i++)
    g_bytes_unref (data->pieces[i]);
  g_free (data->pieces);
  g_free (data);
}

/* Lays the sorted pieces end to end for the apply, off the main thread;
 * dropping them here keeps their unmapping off it too. */
static void
assemble_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  SortData *data = task_data;
  size_t off = 0;

  if (g_task_return_error_if_cancelled (task))
    return;
  data->sorted = g_malloc (data->sorted_len + 1);
  for (guint i = 0; i < data->n_pieces; i++)
    {
      gsize n;
      const void *piece = g_bytes_get_data (data->pieces[i], &n);

      memcpy (data->sorted + off, piece, n);
      off += n;
      g_bytes_unref (data->pieces[i]);
    }
  g_clear_pointer (&data->pieces, g_free);
  data->n_pieces = 0;
  data->sorted[data->sorted_len] = '\0';
  g_task_return_boolean (task, TRUE);
}

static void
cancel_backend_sort (GCancellable *cancellable,
                     SortData     *data)
{
  if (data->backend_task != NULL)
    weft_sort_task_cancel (data->backend_task);
}

/* The backend's jobs are done (main thread). */
static void
on_backend_sorted (const WeftSortOutput *output,
                   const GError         *error,
                   gpointer              user_data)
{
  g_autoptr(GTask) sort_task = user_data;
  SortData *data = g_task_get_task_data (sort_task);

  data->backend_task = NULL;
  g_cancellable_disconnect (g_task_get_cancellable (sort_task), data->backend_cancel_id);
  data->backend_cancel_id = 0;
  if (error != NULL)
    {
      g_task_return_error (sort_task, g_error_copy (error));
      return;
    }

  data->n_pieces = output->n_pieces;
  data->pieces = g_new (GBytes *, MAX (1, output->n_pieces));
  for (guint i = 0; i < output->n_pieces; i++)
    data->pieces[i] = g_bytes_ref (output->pieces[i]);
  data->sorted_len = output->length;
  g_task_run_in_thread (sort_task, assemble_thread);
}

static void
weft_document_set_applying (WeftDocument *self,
                            gboolean      applying)
{
  if (self->applying != !!applying)
    {
      self->applying = !!applying;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_APPLYING]);
    }
}

static void
on_sort_progress (GTask  *task,
                  double  fraction)
{
  weft_document_set_progress (g_task_get_source_object (task), fraction);
}

/* The sorted lines are in: the whole is one step of the document's history,
 * which undoes it in slices too (not the buffer's own undo, which would put
 * a million lines back in one blocking call). */
static void
on_sort_applied (GTask *task)
{
  WeftDocument *self = g_task_get_source_object (task);
  SortData *data = g_task_get_task_data (task);

  gtk_text_buffer_end_irreversible_action (GTK_TEXT_BUFFER (self->buffer));
  weft_document_end_step (self, data->snapshot, data->before_state, (size_t) data->start_char,
                          (size_t) (data->end_char - data->start_char));
  weft_document_set_applying (self, FALSE);
  weft_document_set_busy (self, FALSE);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
on_sorted (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  WeftDocument *self = WEFT_DOCUMENT (object);
  g_autoptr(GTask) task = user_data;
  SortData *data = g_task_get_task_data (task);
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (self->buffer);
  GError *error = NULL;

  g_clear_object (&self->sort_cancellable);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      weft_document_set_busy (self, FALSE);
      g_task_return_error (task, error);
      return;
    }

  /* Never at wrong offsets: the text must be the one that was sorted. */
  if (weft_text_get_version (self->mirror) != weft_snapshot_get_version (data->snapshot))
    {
      weft_document_set_busy (self, FALSE);
      g_task_return_new_error (task, WEFT_ERROR, WEFT_ERROR_FAILED,
                               _("The text changed while its lines were being sorted; nothing was replaced. "
                                 "Sort again to include the changes."));
      return;
    }

  weft_watchdog_work_begin ();
  weft_document_set_progress (self, 0.0);
  weft_document_set_applying (self, TRUE);
  data->before_state = weft_document_settle (self);
  gtk_text_buffer_begin_irreversible_action (buffer);
  data->replace = weft_replace_new_from_text (buffer, (size_t) data->start_char,
                                              (size_t) (data->end_char - data->start_char),
                                              g_steal_pointer (&data->sorted), data->sorted_len);
  weft_replace_start (data->replace, (WeftReplaceProgress) on_sort_progress, (WeftReplaceDone) on_sort_applied,
                      g_object_ref (task));
  weft_watchdog_work_end ("starting to apply a sort");
}

/* Sorts the lines from the one holding @start_char to the one holding
 * @end_char (a selection's bounds; a selection ending at the start of a
 * line leaves that line out). The sort runs on a snapshot off the main
 * thread; the result replaces the lines as one undoable action, inserted
 * in slices while the view is read-only. Cancelling works until the result
 * is being applied. */
void
weft_document_sort_lines_async (WeftDocument          *self,
                                int                    start_char,
                                int                    end_char,
                                const WeftSortOptions *options,
                                GCancellable          *cancellable,
                                GAsyncReadyCallback    callback,
                                gpointer               user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) sort_task = NULL;
  g_autoptr(WeftJobInput) input = NULL;
  GApplication *app = g_application_get_default ();
  WeftBackend *backend;
  SortData *data;
  size_t first_line, last_line, n_lines;

  g_return_if_fail (WEFT_IS_DOCUMENT (self));
  g_return_if_fail (options != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, weft_document_sort_lines_async);
  if (self->busy)
    {
      g_task_return_new_error (task, WEFT_ERROR, WEFT_ERROR_FAILED,
                               _("The document is busy; try again when it has finished"));
      return;
    }

  data = g_new0 (SortData, 1);
  data->snapshot = weft_text_snapshot (self->mirror);
  data->options = *options;
  data->locale = g_strdup (options->locale);
  data->options.locale = data->locale;

  n_lines = weft_snapshot_get_n_lines (data->snapshot);
  start_char = CLAMP (start_char, 0, (int) weft_snapshot_get_n_chars (data->snapshot));
  end_char = CLAMP (end_char, start_char, (int) weft_snapshot_get_n_chars (data->snapshot));
  first_line = weft_snapshot_char_to_line (data->snapshot, (size_t) start_char);
  last_line = weft_snapshot_char_to_line (data->snapshot, (size_t) end_char);
  if (last_line > first_line && (size_t) end_char == weft_snapshot_line_to_char (data->snapshot, last_line))
    last_line--;

  data->start_byte = weft_snapshot_line_to_byte (data->snapshot, first_line);
  data->start_char = (int) weft_snapshot_line_to_char (data->snapshot, first_line);
  if (last_line + 1 < n_lines)
    {
      data->end_byte = weft_snapshot_line_to_byte (data->snapshot, last_line + 1);
      data->end_char = (int) weft_snapshot_line_to_char (data->snapshot, last_line + 1);
    }
  else
    {
      data->end_byte = weft_snapshot_get_n_bytes (data->snapshot);
      data->end_char = (int) weft_snapshot_get_n_chars (data->snapshot);
    }

  g_task_set_task_data (task, data, (GDestroyNotify) sort_data_free);
  weft_document_set_busy (self, TRUE);

  g_clear_object (&self->sort_cancellable);
  self->sort_cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    g_signal_connect_object (cancellable, "cancelled", G_CALLBACK (g_cancellable_cancel),
                             self->sort_cancellable, G_CONNECT_SWAPPED);
  sort_task = g_task_new (self, self->sort_cancellable, on_sorted, g_object_ref (task));
  g_task_set_task_data (sort_task, data, NULL);

  /* The sort runs as jobs on the application's workers, threads or
   * processes as the user chose, on the snapshot's bytes of those lines. */
  backend = WEFT_IS_APPLICATION (app) ? weft_application_get_backend (WEFT_APPLICATION (app)) : NULL;
  if (backend == NULL)
    {
      g_task_return_new_error (sort_task, WEFT_ERROR, WEFT_ERROR_FAILED,
                               _("Lines cannot be sorted: no background workers are running"));
      return;
    }
  input = weft_job_input_new_snapshot_range (data->snapshot, data->start_byte,
                                             data->end_byte - data->start_byte);
  data->backend_task = weft_sort_task_start (backend, input, &data->options, 0, 0,
                                             on_backend_sorted, g_object_ref (sort_task));
  /* At once if it is cancelled already. */
  data->backend_cancel_id = g_cancellable_connect (self->sort_cancellable, G_CALLBACK (cancel_backend_sort),
                                                   data, NULL);
}

gboolean
weft_document_sort_lines_finish (WeftDocument  *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
weft_document_get_applying (WeftDocument *self)
{
  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), FALSE);

  return self->applying;
}

/* Undo and redo */

static void
on_step_done (gpointer user_data,
              guint    state)
{
  WeftDocument *self = user_data;

  weft_document_set_boundary (self, state);
  gtk_text_buffer_set_modified (GTK_TEXT_BUFFER (self->buffer), state != self->saved_state);
  weft_document_set_applying (self, FALSE);
  weft_document_set_busy (self, FALSE);
}

/* Ctrl+Z: the buffer's own undo while it has edits to undo (those since the
 * last large replacement), then the document's history, which puts large
 * replacements back in slices while the view is read-only. FALSE when
 * there is nothing to undo or the document is busy. */
gboolean
weft_document_undo (WeftDocument *self)
{
  GtkTextBuffer *buffer;

  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), FALSE);

  buffer = GTK_TEXT_BUFFER (self->buffer);
  if (self->busy)
    return FALSE;
  if (gtk_text_buffer_get_can_undo (buffer))
    {
      gtk_text_buffer_undo (buffer);
      return TRUE;
    }
  if (!weft_history_can_undo (self->history))
    return FALSE;

  /* Edits the buffer no longer keeps (more than its limit) become a step
   * of their own, undone first. */
  weft_document_settle (self);
  return weft_document_step (self, FALSE);
}

gboolean
weft_document_redo (WeftDocument *self)
{
  GtkTextBuffer *buffer;

  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), FALSE);

  buffer = GTK_TEXT_BUFFER (self->buffer);
  if (self->busy)
    return FALSE;
  if (gtk_text_buffer_get_can_redo (buffer))
    {
      gtk_text_buffer_redo (buffer);
      return TRUE;
    }
  /* Any edit since the last step emptied the history's redo list, so the
   * text is the one the step to redo starts from. */
  return weft_document_step (self, TRUE);
}

gboolean
weft_document_get_can_undo (WeftDocument *self)
{
  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), FALSE);

  return gtk_text_buffer_get_can_undo (GTK_TEXT_BUFFER (self->buffer)) || weft_history_can_undo (self->history);
}

gboolean
weft_document_get_can_redo (WeftDocument *self)
{
  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), FALSE);

  return gtk_text_buffer_get_can_redo (GTK_TEXT_BUFFER (self->buffer)) || weft_history_can_redo (self->history);
}
