/* weft-document.c: one open text document — its buffer, its file, loading and saving. */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "weft-document.h"
#include "weft-error.h"
#include "weft-file.h"

struct _WeftDocument
{
  GObject          parent_instance;

  GtkSourceBuffer *buffer;
  GFile           *file;
  char            *title;
  guint            untitled_number;
  /* Bumped on every change of the buffer, so that a save which finishes
   * after further typing does not mark those edits as saved. */
  guint64          change_count;
  guint            busy : 1;
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
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Main thread only: the next number for "Untitled Document N". */
static guint next_untitled_number = 1;

/* What a load produces off the main thread. */
typedef struct
{
  char  *path;
  char  *text;
  size_t len;
  char  *content_type;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_free (data->path);
  g_free (data->text);
  g_free (data->content_type);
  g_free (data);
}

/* What a save hands to its thread: the bytes are a copy the thread owns. */
typedef struct
{
  GFile  *file;
  char   *path;
  char   *text;
  size_t  len;
  guint64 change_count;
} SaveData;

static void
save_data_free (SaveData *data)
{
  g_clear_object (&data->file);
  g_free (data->path);
  g_free (data->text);
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
}

static void
on_modified_changed (WeftDocument  *self,
                     GtkTextBuffer *buffer)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODIFIED]);
}

/* GtkSourceView does not follow libadwaita's light/dark switch by itself. */
static void
weft_document_update_style_scheme (WeftDocument *self)
{
  AdwStyleManager *style_manager = adw_style_manager_get_default ();
  GtkSourceStyleSchemeManager *schemes = gtk_source_style_scheme_manager_get_default ();
  const char *id = adw_style_manager_get_dark (style_manager) ? "Adwaita-dark" : "Adwaita";

  gtk_source_buffer_set_style_scheme (self->buffer,
                                      gtk_source_style_scheme_manager_get_scheme (schemes, id));
}

static void
weft_document_dispose (GObject *object)
{
  WeftDocument *self = WEFT_DOCUMENT (object);

  if (self->buffer != NULL)
    g_signal_handlers_disconnect_by_data (self->buffer, self);
  g_clear_object (&self->buffer);
  g_clear_object (&self->file);

  G_OBJECT_CLASS (weft_document_parent_class)->dispose (object);
}

static void
weft_document_finalize (GObject *object)
{
  WeftDocument *self = WEFT_DOCUMENT (object);

  g_clear_pointer (&self->title, g_free);

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

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
weft_document_init (WeftDocument *self)
{
  self->buffer = gtk_source_buffer_new (NULL);
  gtk_source_buffer_set_highlight_syntax (self->buffer, TRUE);
  self->untitled_number = next_untitled_number++;

  g_signal_connect_object (self->buffer, "changed",
                           G_CALLBACK (on_buffer_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->buffer, "modified-changed",
                           G_CALLBACK (on_modified_changed), self, G_CONNECT_SWAPPED);

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

  return gtk_text_buffer_get_modified (GTK_TEXT_BUFFER (self->buffer));
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
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  LoadData *data = task_data;
  GError *error = NULL;
  g_autofree char *basename = NULL;

  if (!weft_file_read_utf8 (data->path, &data->text, &data->len, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  /* Sniffing is thread-safe; the language manager is not, so the language
   * itself is picked on the main thread. */
  basename = g_path_get_basename (data->path);
  data->content_type = g_content_type_guess (basename, (const guchar *) data->text,
                                             MIN (data->len, 4096), NULL);
  g_task_return_boolean (task, TRUE);
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

void
weft_document_load_async (WeftDocument        *self,
                          GFile               *file,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  LoadData *data;

  g_return_if_fail (WEFT_IS_DOCUMENT (self));
  g_return_if_fail (G_IS_FILE (file));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, weft_document_load_async);

  if (self->busy)
    {
      g_task_return_new_error (task, WEFT_ERROR, WEFT_ERROR_FAILED,
                               _("The document is busy; try again when it has finished"));
      return;
    }

  data = g_new0 (LoadData, 1);
  data->path = dup_local_path (file, &error);
  if (data->path == NULL)
    {
      load_data_free (data);
      g_task_return_error (task, error);
      return;
    }

  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);
  g_object_set_data_full (G_OBJECT (task), "file", g_object_ref (file), g_object_unref);
  weft_document_set_busy (self, TRUE);
  g_task_run_in_thread (task, load_thread);
}

gboolean
weft_document_load_finish (WeftDocument  *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  GTask *task = G_TASK (result);
  LoadData *data = g_task_get_task_data (task);
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (self->buffer);
  GtkTextIter start;

  g_return_val_if_fail (WEFT_IS_DOCUMENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  /* Tasks refused up front never set the document busy. */
  if (data != NULL)
    weft_document_set_busy (self, FALSE);

  if (!g_task_propagate_boolean (task, error))
    return FALSE;

  weft_document_set_file (self, g_object_get_data (G_OBJECT (task), "file"));

  /* Loading is not an edit the user could want to undo. */
  gtk_text_buffer_begin_irreversible_action (buffer);
  gtk_text_buffer_set_text (buffer, data->text, (int) data->len);
  gtk_text_buffer_end_irreversible_action (buffer);
  gtk_text_buffer_get_start_iter (buffer, &start);
  gtk_text_buffer_select_range (buffer, &start, &start);
  gtk_text_buffer_set_modified (buffer, FALSE);

  weft_document_guess_language (self, data->content_type);
  return TRUE;
}

static void
save_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  SaveData *data = task_data;
  GError *error = NULL;

  if (weft_file_write_atomic (data->path, data->text, data->len, &error))
    g_task_return_boolean (task, TRUE);
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
  GtkTextIter start, end;
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

  gtk_text_buffer_get_bounds (GTK_TEXT_BUFFER (self->buffer), &start, &end);
  data->text = gtk_text_buffer_get_text (GTK_TEXT_BUFFER (self->buffer), &start, &end, TRUE);
  data->len = strlen (data->text);
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
  if (data->change_count == self->change_count)
    gtk_text_buffer_set_modified (GTK_TEXT_BUFFER (self->buffer), FALSE);
  if (was_untitled)
    weft_document_guess_language (self, NULL);
  return TRUE;
}
