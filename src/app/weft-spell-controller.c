/* weft-spell-controller.c: background spell-checking of one page's document, its underlines and its context menu. */
#include "config.h"

#include <glib/gi18n.h>

#include <errno.h>

#include "weft-application.h"
#include "weft-spell-controller.h"
#include "weft-misspellings.h"
#include "weft-spell-pass.h"
#include "weft-slice.h"

/* Edited lines are re-checked once typing pauses this long. */
#define DEBOUNCE_MS       400
/* The main-thread time after which one dispatch of applying results stops.
 * It checks the clock between steps, and leaves half a millisecond of the
 * 4 ms a dispatch should take for the step that crosses it; one step (a
 * span with very many words) can take longer, so 4 ms is aimed at, not
 * promised. */
#define SLICE_BUDGET_US   3500
/* Results older than this many edits are dropped and redone rather than
 * shifted through every edit. */
#define MAX_LOGGED_EDITS  4096
/* Results merged at a time: 2,048 words take 0.1-0.2 ms here. */
#define MERGE_BATCH       2048
/* Underlines are drawn only this many chars either side of what the view
 * shows: tagging a range makes the view lay its lines out again, and
 * tagging a whole large document would have it lay out all of it. Drawing
 * runs above GTK's measuring of lines, so it keeps up with scrolling, and
 * a few screens ahead are enough. */
#define NEAR_VIEW_CHARS   (32 * 1024)
/* How long the view's text must stay put before words are underlined
 * where it now is. A jump to the end of the text scrolls there in frames
 * (GTK animates it over 200 ms): underlining near every frame's position
 * had the view lay out again up to a thousand lines per frame, never to
 * be shown, which on 50,000 misspelled lines was 0.25 s more of the main
 * thread per jump, more than the jump itself. */
#define SCROLL_SETTLE_MS  100

/* One edit of the buffer, in chars, as the buffer's signals report it. */
typedef struct
{
  int pos;
  int n_deleted;
  int n_inserted;
} Edit;

typedef struct
{
  int start, end;   /* chars, current buffer coordinates */
} Span;

typedef struct _PassInfo PassInfo;

/* Results of one job waiting to be merged into the found words. */
typedef struct
{
  PassInfo *info;
  guint64   next_byte, end_byte;   /* the part of the span checked not merged
                                    * yet, in the snapshot */
  GArray   *ranges;                /* WeftSpellRange, snapshot bytes */
  guint     next;                  /* the first range not merged yet */
} Pending;

/* A pass in flight, and what its results need to be placed: the snapshot
 * and how many edits the buffer had seen when it was taken. Reference
 * counted, since its Pending items outlive the pass; main thread only. */
struct _PassInfo
{
  int                  ref_count;
  GWeakRef             controller;
  WeftSpellPass       *pass;       /* NULL once done */
  WeftSnapshot        *snap;
  guint64              seq;
  int                  start_char, end_char;  /* snapshot chars */
};

struct _WeftSpellController
{
  GObject          parent_instance;

  WeftDocument    *document;   /* strong; the page holds both */
  GtkSourceView   *view;       /* weak: it owns us through the page */
  GtkTextBuffer   *buffer;
  GtkTextTag      *tag;
  /* FALSE only while the tag is on no text: then turning checking off need
   * not walk the whole buffer to take it off (20-30 ms for 10 MB). */
  gboolean         maybe_underlined;
  GSettings       *settings;
  char            *lang;       /* NULL: checking off or no dictionary */

  /* Edits since the oldest pass still in flight: log_base is the number of
   * the first one minus one; seq counts every edit ever. */
  GArray          *edits;      /* Edit */
  guint64          log_base;
  guint64          seq;

  GPtrArray       *passes;     /* PassInfo, in flight */
  GQueue           pending;    /* Pending, in arrival order */
  GArray          *dirty;      /* Span: edited since last checked */
  /* Every misspelled word known, in text order, kept in step with edits;
   * only those near the view are underlined, the rest as it scrolls there. */
  WeftMisspellings *found;
  GtkAdjustment   *vadjustment;  /* weak: the view's, watched for scrolling */

  guint            debounce_source;
  guint            work_source;
  /* Scrolling: the first char the view showed when last looked at, when
   * that changed, and the wait for it to stay put (SCROLL_SETTLE_MS). */
  int              view_top;
  gint64           view_moved_at;
  guint            settle_source;

  int              n_misspelled;
  gboolean         counting;

  /* The context menu. */
  GMenu           *menu;
  GMenu           *suggestions_section;
  GMenu           *word_section;
  GSimpleActionGroup *actions;
  GtkTextMark     *word_start;
  GtkTextMark     *word_end;
  char            *word;
  guint64          suggest_job;

  char            *error;
};

G_DEFINE_FINAL_TYPE (WeftSpellController, weft_spell_controller, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_N_MISSPELLED,
  PROP_BUSY,
  PROP_COUNTING,
  PROP_ERROR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void weft_spell_controller_restart (WeftSpellController *self);
static void schedule_work (WeftSpellController *self);
static void submit_dirty (WeftSpellController *self);

/* ----------------------------------------------------------------------- */
/* Words the user accepted: main thread only, shared by every controller.  */

static GHashTable *personal_words;  /* lang -> GPtrArray of words, loaded on demand */
static GHashTable *ignored_words;   /* word -> word, this session */
static GList      *controllers;     /* every live controller */

static char *
personal_path (const char *lang)
{
  g_autofree char *name = g_strconcat (lang, ".txt", NULL);

  return g_build_filename (g_get_user_config_dir (), "weft", "dictionaries", name, NULL);
}

static GPtrArray *
get_personal (const char *lang)
{
  GPtrArray *words;
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;

  if (personal_words == NULL)
    personal_words = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            (GDestroyNotify) g_ptr_array_unref);
  words = g_hash_table_lookup (personal_words, lang);
  if (words != NULL)
    return words;

  words = g_ptr_array_new_with_free_func (g_free);
  path = personal_path (lang);
  if (g_file_get_contents (path, &contents, NULL, NULL))
    {
      g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);

      for (size_t i = 0; lines[i] != NULL; i++)
        if (lines[i][0] != '\0' && g_utf8_validate (lines[i], -1, NULL))
          g_ptr_array_add (words, g_strdup (lines[i]));
    }
  g_hash_table_insert (personal_words, g_strdup (lang), words);
  return words;
}

char **
weft_spell_dup_personal_words (const char *lang)
{
  GPtrArray *words;
  GPtrArray *copy = g_ptr_array_new ();

  g_return_val_if_fail (lang != NULL, NULL);

  words = get_personal (lang);
  for (guint i = 0; i < words->len; i++)
    g_ptr_array_add (copy, g_strdup (words->pdata[i]));
  g_ptr_array_add (copy, NULL);
  return (char **) g_ptr_array_free (copy, FALSE);
}

static gboolean
save_personal (const char  *lang,
               GPtrArray   *words,
               GError     **error)
{
  g_autofree char *path = personal_path (lang);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr (GString) contents = g_string_new (NULL);

  for (guint i = 0; i < words->len; i++)
    g_string_append_printf (contents, "%s\n", (const char *) words->pdata[i]);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int errsv = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errsv), "%s: %s", dir, g_strerror (errsv));
      return FALSE;
    }
  return g_file_set_contents_full (path, contents->str, (gssize) contents->len,
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

/* The words every job of @lang carries. */
static char **
dup_session_words (const char *lang)
{
  GPtrArray *personal = get_personal (lang);
  GPtrArray *all = g_ptr_array_new ();

  for (guint i = 0; i < personal->len; i++)
    g_ptr_array_add (all, g_strdup (personal->pdata[i]));
  if (ignored_words != NULL)
    {
      GHashTableIter iter;
      gpointer key;

      g_hash_table_iter_init (&iter, ignored_words);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        g_ptr_array_add (all, g_strdup (key));
    }
  g_ptr_array_add (all, NULL);
  return (char **) g_ptr_array_free (all, FALSE);
}

static void
words_changed (void)
{
  for (GList *l = controllers; l != NULL; l = l->next)
    weft_spell_controller_restart (l->data);
}

/* ----------------------------------------------------------------------- */
/* Edits and offsets                                                       */

static const Edit *
edit_at (WeftSpellController *self,
         guint64              seq)
{
  return &g_array_index (self->edits, Edit, seq - self->log_base - 1);
}

/* Where snapshot char @pos (taken after @seq edits) is now. An insertion at
 * @pos goes after it unless @left. */
static int
map_pos (WeftSpellController *self,
         guint64              seq,
         int                  pos,
         gboolean             left)
{
  for (guint64 s = seq + 1; s <= self->seq; s++)
    {
      const Edit *e = edit_at (self, s);

      if (e->n_deleted > 0)
        {
          if (pos >= e->pos + e->n_deleted)
            pos -= e->n_deleted;
          else if (pos > e->pos)
            pos = e->pos;
        }
      if (e->n_inserted > 0 && (pos > e->pos || (pos == e->pos && !left)))
        pos += e->n_inserted;
    }
  return pos;
}

/* The word at snapshot chars [start, end) now, or FALSE when an edit since
 * touched it (inside, or right at either end, which may have made it
 * another word): its line is then dirty and will be checked again. */
static gboolean
map_word (WeftSpellController *self,
          guint64              seq,
          int                 *start,
          int                 *end)
{
  int s = *start, e = *end;

  for (guint64 q = seq + 1; q <= self->seq; q++)
    {
      const Edit *ed = edit_at (self, q);

      if (ed->pos <= e && ed->pos + ed->n_deleted >= s)
        return FALSE;
      if (ed->pos < s)
        {
          s += ed->n_inserted - ed->n_deleted;
          e += ed->n_inserted - ed->n_deleted;
        }
    }
  *start = s;
  *end = e;
  return TRUE;
}

static gboolean
on_debounce (gpointer user_data)
{
  WeftSpellController *self = user_data;

  self->debounce_source = 0;
  submit_dirty (self);
  return G_SOURCE_REMOVE;
}

/* More edited spans than this are merged into one: each edit moves every
 * span, so their number must stay small. */
#define MAX_DIRTY_SPANS 32

static void
add_dirty (WeftSpellController *self,
           int                  start,
           int                  end)
{
  Span span = { start, end };

  if (self->dirty->len >= MAX_DIRTY_SPANS)
    {
      for (guint i = 0; i < self->dirty->len; i++)
        {
          span.start = MIN (span.start, g_array_index (self->dirty, Span, i).start);
          span.end = MAX (span.end, g_array_index (self->dirty, Span, i).end);
        }
      g_array_set_size (self->dirty, 0);
    }
  g_array_append_val (self->dirty, span);
  if (self->lang == NULL)
    return;
  g_clear_handle_id (&self->debounce_source, g_source_remove);
  self->debounce_source = weft_watchdog_timeout_add (DEBOUNCE_MS, "spell-checking edits", on_debounce, self, NULL);
}

static void
record_edit (WeftSpellController *self,
             int                  pos,
             int                  n_deleted,
             int                  n_inserted)
{
  Edit edit = { pos, n_deleted, n_inserted };

  if (self->passes->len == 0 && g_queue_is_empty (&self->pending))
    {
      /* Nothing needs the history. */
      g_array_set_size (self->edits, 0);
      self->log_base = self->seq;
    }
  g_array_append_val (self->edits, edit);
  self->seq++;

  /* Dirty spans follow the edit, growing over text inserted at their ends. */
  for (guint i = 0; i < self->dirty->len; i++)
    {
      Span *d = &g_array_index (self->dirty, Span, i);

      if (n_deleted > 0)
        {
          if (d->start >= pos + n_deleted)
            d->start -= n_deleted;
          else if (d->start > pos)
            d->start = pos;
          if (d->end >= pos + n_deleted)
            d->end -= n_deleted;
          else if (d->end > pos)
            d->end = pos;
        }
      if (n_inserted > 0)
        {
          if (d->start > pos)
            d->start += n_inserted;
          if (d->end >= pos)
            d->end += n_inserted;
        }
    }

  weft_misspellings_edit (self->found, pos, n_deleted, n_inserted);

  if (self->edits->len > MAX_LOGGED_EDITS)
    weft_spell_controller_restart (self);
  else
    add_dirty (self, pos, pos + n_inserted);
}

/* A load or a large replacement (sorted lines) goes in as many slices:
 * rather than follow each, the text is checked afresh once it is in. */
static gboolean
bulk_edit (WeftSpellController *self)
{
  return weft_document_get_loading (self->document) || weft_document_get_applying (self->document);
}

static gboolean
tracking (WeftSpellController *self)
{
  return self->lang != NULL && !bulk_edit (self);
}

static void
on_insert_text (WeftSpellController *self,
                GtkTextIter         *location,
                const char          *text,
                int                  len,
                GtkTextBuffer       *buffer)
{
  int n_chars;

  if (!tracking (self))
    return;
  n_chars = (int) g_utf8_strlen (text, len);
  record_edit (self, gtk_text_iter_get_offset (location) - n_chars, 0, n_chars);
}

static void
on_insert_object (WeftSpellController *self,
                  GtkTextIter         *location,
                  gpointer             object,
                  GtkTextBuffer       *buffer)
{
  if (!tracking (self))
    return;
  record_edit (self, gtk_text_iter_get_offset (location) - 1, 0, 1);
}

static void
on_delete_range (WeftSpellController *self,
                 GtkTextIter         *start,
                 GtkTextIter         *end,
                 GtkTextBuffer       *buffer)
{
  int a, b;

  if (!tracking (self))
    return;
  a = gtk_text_iter_get_offset (start);
  b = gtk_text_iter_get_offset (end);
  record_edit (self, MIN (a, b), ABS (b - a), 0);
}

/* ----------------------------------------------------------------------- */
/* Passes                                                                  */

static PassInfo *
pass_info_ref (PassInfo *info)
{
  info->ref_count++;
  return info;
}

static void
pass_info_unref (PassInfo *info)
{
  if (--info->ref_count > 0)
    return;
  g_weak_ref_clear (&info->controller);
  weft_snapshot_unref (info->snap);
  g_free (info);
}

static void
pending_free (Pending *p)
{
  pass_info_unref (p->info);
  g_array_unref (p->ranges);
  g_free (p);
}

static void
set_error (WeftSpellController *self,
           const char          *message)
{
  if (g_strcmp0 (self->error, message) == 0)
    return;
  g_free (self->error);
  self->error = g_strdup (message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR]);
}

static void
notify_busy (WeftSpellController *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
on_chunk_done (WeftSpellPass              *pass,
               guint64                     checked_start,
               const WeftSpellCheckResult *result,
               gpointer                    user_data)
{
  PassInfo *info = user_data;
  g_autoptr (WeftSpellController) self = g_weak_ref_get (&info->controller);
  Pending *p;

  if (self == NULL)
    return;

  p = g_new0 (Pending, 1);
  p->info = pass_info_ref (info);
  p->end_byte = result->checked_end_byte;
  p->ranges = g_array_ref (result->misspelled);
  p->next_byte = checked_start;
  g_queue_push_tail (&self->pending, p);
  schedule_work (self);
}

static void
on_pass_done (WeftSpellPass *pass,
              const GError  *error,
              gpointer       user_data)
{
  PassInfo *info = user_data;
  g_autoptr (WeftSpellController) self = g_weak_ref_get (&info->controller);

  info->pass = NULL;
  if (self != NULL)
    {
      g_ptr_array_remove (self->passes, info);
      if (error != NULL && !g_error_matches (error, WEFT_ERROR, WEFT_ERROR_CANCELLED))
        set_error (self, error->message);
      else if (error == NULL)
        set_error (self, NULL);
      schedule_work (self);
      /* Dirty lines that waited for this pass can go now. */
      if (self->dirty->len > 0 && self->debounce_source == 0)
        self->debounce_source = weft_watchdog_timeout_add (DEBOUNCE_MS, "spell-checking edits", on_debounce, self, NULL);
      notify_busy (self);
    }
  pass_info_unref (info);
}

static WeftBackend *
get_backend (void)
{
  GApplication *app = g_application_get_default ();

  return WEFT_IS_APPLICATION (app) ? weft_application_get_backend (WEFT_APPLICATION (app)) : NULL;
}

/* Checks snapshot chars [start_char, end_char) (widened to lines). */
static void
start_pass (WeftSpellController *self,
            WeftSnapshot        *snap,
            int                  start_char,
            int                  end_char)
{
  WeftBackend *backend = get_backend ();
  g_auto (GStrv) session = NULL;
  WeftSpellPassOptions options = { 0 };
  PassInfo *info;
  size_t start_byte, end_byte;

  if (backend == NULL || self->lang == NULL)
    return;

  session = dup_session_words (self->lang);
  options.lang = self->lang;
  options.session_words = (const char * const *) session;
  options.owner = GPOINTER_TO_SIZE (self);

  info = g_new0 (PassInfo, 1);
  info->ref_count = 1;
  g_weak_ref_init (&info->controller, self);
  info->snap = weft_snapshot_ref (snap);
  info->seq = self->seq;
  /* One reference for the list, one for the pass's callbacks. */
  g_ptr_array_add (self->passes, pass_info_ref (info));

  info->pass = weft_spell_pass_start (backend, snap,
                                      weft_snapshot_char_to_byte (snap, (size_t) start_char),
                                      weft_snapshot_char_to_byte (snap, (size_t) end_char),
                                      &options, on_chunk_done, on_pass_done, info);
  weft_spell_pass_get_span (info->pass, &start_byte, &end_byte);
  info->start_char = (int) weft_snapshot_byte_to_char (snap, start_byte);
  info->end_char = (int) weft_snapshot_byte_to_char (snap, end_byte);
  notify_busy (self);
}

static int
compare_spans (gconstpointer a,
               gconstpointer b)
{
  return ((const Span *) a)->start - ((const Span *) b)->start;
}

/* Submits the edited lines, except those a pass still in flight covers: they
 * wait for it, so that an older result never lands after a newer one. */
static void
submit_dirty (WeftSpellController *self)
{
  g_autoptr (WeftSnapshot) snap = NULL;
  g_autoptr (GArray) waiting = g_array_new (FALSE, FALSE, sizeof (Span));
  Span merged = { -1, -1 };

  if (self->lang == NULL || bulk_edit (self))
    return;

  snap = weft_document_dup_snapshot (self->document);
  g_array_sort (self->dirty, compare_spans);
  for (guint i = 0; i <= self->dirty->len; i++)
    {
      Span *d = i < self->dirty->len ? &g_array_index (self->dirty, Span, i) : NULL;
      gboolean busy = FALSE;

      if (d != NULL && merged.start >= 0 && d->start <= merged.end + 1)
        {
          merged.end = MAX (merged.end, d->end);
          continue;
        }
      if (merged.start >= 0)
        {
          for (guint j = 0; j < self->passes->len && !busy; j++)
            {
              PassInfo *info = self->passes->pdata[j];
              int s = map_pos (self, info->seq, info->start_char, TRUE);
              int e = map_pos (self, info->seq, info->end_char, FALSE);

              busy = merged.start <= e && merged.end >= s;
            }
          if (busy)
            g_array_append_val (waiting, merged);
          else
            start_pass (self, snap, merged.start, MAX (merged.end, merged.start));
        }
      if (d != NULL)
        merged = *d;
    }
  g_array_set_size (self->dirty, 0);
  g_array_append_vals (self->dirty, waiting->data, waiting->len);
}

/* ----------------------------------------------------------------------- */
/* Drawing, a slice at a time                                              */

static void
set_counting (WeftSpellController *self,
              gboolean             counting)
{
  if (self->counting == counting)
    return;
  self->counting = counting;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COUNTING]);
}

static void
set_n_misspelled (WeftSpellController *self,
                  int                  n)
{
  if (self->n_misspelled == n)
    return;
  self->n_misspelled = n;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_MISSPELLED]);
}

/* Where the found words are underlined: the chars the view shows, widened
 * by NEAR_VIEW_CHARS either side. */
static void
get_near_view (WeftSpellController *self,
               int                 *lo,
               int                 *hi)
{
  GdkRectangle rect;
  GtkTextIter top, bottom;

  if (self->view == NULL)
    {
      *lo = 0;
      *hi = NEAR_VIEW_CHARS;
      return;
    }
  gtk_text_view_get_visible_rect (GTK_TEXT_VIEW (self->view), &rect);
  gtk_text_view_get_line_at_y (GTK_TEXT_VIEW (self->view), &top, rect.y, NULL);
  gtk_text_view_get_line_at_y (GTK_TEXT_VIEW (self->view), &bottom, rect.y + rect.height, NULL);
  if (!gtk_text_iter_ends_line (&bottom))
    gtk_text_iter_forward_to_line_end (&bottom);
  *lo = MAX (0, gtk_text_iter_get_offset (&top) - NEAR_VIEW_CHARS);
  *hi = gtk_text_iter_get_offset (&bottom) + NEAR_VIEW_CHARS;
}

static void
draw_found (WeftSpellController       *self,
            const WeftMisspellingIter *iter)
{
  WeftMisspelling f = weft_misspellings_get (self->found, iter);
  GtkTextIter a, b;

  gtk_text_buffer_get_iter_at_offset (self->buffer, &a, f.start);
  gtk_text_buffer_get_iter_at_offset (self->buffer, &b, f.end);
  gtk_text_buffer_apply_tag (self->buffer, self->tag, &a, &b);
  weft_misspellings_set_drawn (self->found, iter);
  self->maybe_underlined = TRUE;
}

/* Replaces the found words of the next part of one job's span with its
 * results: at most MERGE_BATCH words, so that a dispatch stays short even
 * when a job's span holds hundreds of thousands of unknown words (a job
 * covers up to an eighth of a worker's share of the text). TRUE when the
 * whole span is in. */
static gboolean
merge_batch (WeftSpellController *self,
             Pending             *p)
{
  PassInfo *info = p->info;
  guint n_words = MIN (MERGE_BATCH, p->ranges->len - p->next);
  gboolean last_batch = p->next + n_words == p->ranges->len;
  g_autofree WeftMisspelling *words = g_new (WeftMisspelling, n_words);
  guint n_kept = 0;
  guint n_offs = 2 + 2 * n_words;
  g_autofree size_t *offs = g_new (size_t, n_offs);
  g_autofree size_t *chars = g_new (size_t, n_offs);
  GtkTextIter a, b;
  int s, e, clear_end;
  gboolean drawn;

  /* This part of the span runs from where the last one ended to the start
   * of the next part's first word: the parts tile the span, and a word
   * never straddles two. Its ends and each word's, in text order, are
   * converted in one walk. */
  offs[0] = p->next_byte;
  for (guint i = 0; i < n_words; i++)
    {
      const WeftSpellRange *r = &g_array_index (p->ranges, WeftSpellRange, p->next + i);

      offs[1 + 2 * i] = r->byte_off;
      offs[2 + 2 * i] = r->byte_off + r->byte_len;
    }
  offs[n_offs - 1] = last_batch ? p->end_byte
                                : g_array_index (p->ranges, WeftSpellRange, p->next + n_words).byte_off;
  weft_snapshot_bytes_to_chars (info->snap, offs, n_offs, chars);
  p->next += n_words;
  p->next_byte = offs[n_offs - 1];

  s = map_pos (self, info->seq, (int) chars[0], TRUE);
  e = map_pos (self, info->seq, (int) chars[n_offs - 1], FALSE);

  for (guint i = 0; i < n_words; i++)
    {
      WeftMisspelling f = { (int) chars[1 + 2 * i], (int) chars[2 + 2 * i], FALSE };

      if (map_word (self, info->seq, &f.start, &f.end))
        words[n_kept++] = f;
    }

  /* The old words of the part go, and their underlines with them. */
  weft_misspellings_replace (self->found, s, e, words, n_kept, &drawn, &clear_end);

  /* Removing a tag has the view lay out every line in the range again,
   * underlined or not: only where there is one (an underline can outlive
   * its word, which an edit made the text forget). */
  gtk_text_buffer_get_iter_at_offset (self->buffer, &a, s);
  gtk_text_buffer_get_iter_at_offset (self->buffer, &b, clear_end);
  if (drawn || gtk_text_iter_has_tag (&a, self->tag) ||
      (gtk_text_iter_forward_to_tag_toggle (&a, self->tag) && gtk_text_iter_compare (&a, &b) < 0))
    {
      gtk_text_buffer_get_iter_at_offset (self->buffer, &a, s);
      gtk_text_buffer_remove_tag (self->buffer, self->tag, &a, &b);
    }
  return last_batch;
}

/* Merges results until the budget is spent; TRUE when all are in. */
static gboolean
apply_some (WeftSpellController *self,
            gint64               deadline)
{
  Pending *p;

  while ((p = g_queue_peek_head (&self->pending)) != NULL)
    {
      /* When its edits are no longer known, the span is checked again. */
      if (p->info->seq < self->log_base || merge_batch (self, p))
        pending_free (g_queue_pop_head (&self->pending));
      if (g_get_monotonic_time () > deadline)
        return FALSE;
    }
  return TRUE;
}

/* Underlines the found words near the view until the budget is spent;
 * TRUE when all are. */
static gboolean
draw_near_view (WeftSpellController *self,
                gint64               deadline)
{
  WeftMisspellingIter iter;
  int lo, hi;
  guint n = 0;

  get_near_view (self, &lo, &hi);
  for (gboolean more = weft_misspellings_search (self->found, lo, &iter); more;
       more = weft_misspellings_next (self->found, &iter))
    {
      WeftMisspelling f = weft_misspellings_get (self->found, &iter);

      if (f.start >= hi)
        break;
      if (f.drawn)
        continue;
      draw_found (self, &iter);
      if ((++n & 7) == 0 && g_get_monotonic_time () > deadline)
        return FALSE;
    }
  return TRUE;
}

static gboolean
do_work (gpointer user_data)
{
  WeftSpellController *self = user_data;
  gint64 deadline = g_get_monotonic_time () + SLICE_BUDGET_US;

  /* Words merged already are drawn before more are merged, and those
   * merged now right after: underlines near the view do not wait for a
   * whole text's results. While the view scrolls, only merged: the end of
   * the wait schedules the drawing. */
  if (self->settle_source != 0)
    {
      if (!apply_some (self, deadline))
        return G_SOURCE_CONTINUE;
    }
  else if (!draw_near_view (self, deadline) || !apply_some (self, deadline) || !draw_near_view (self, deadline))
    return G_SOURCE_CONTINUE;
  self->work_source = 0;
  /* The count once every result is in, not while a load or a replacement
   * runs (a cancelled pass ends then, with none). */
  if (self->passes->len == 0 && self->lang != NULL && !bulk_edit (self))
    {
      set_n_misspelled (self, (int) weft_misspellings_get_size (self->found));
      set_counting (self, FALSE);
    }
  notify_busy (self);
  return G_SOURCE_REMOVE;
}

/* Above GtkTextView's background measuring of the lines of a text just
 * opened, at the priority of a load's slices: as a default idle, no word
 * was underlined until all of it was measured (13 s for 10 MB of prose).
 * Each dispatch stays within SLICE_BUDGET_US, since results go in
 * MERGE_BATCH words at a time, into a set where that costs the same
 * anywhere in the text (weft-misspellings.h). */
static void
schedule_work (WeftSpellController *self)
{
  if (self->work_source == 0)
    self->work_source = weft_watchdog_idle_add (WEFT_SLICE_PRIORITY, "underlining misspelled words",
                                                do_work, self, NULL);
}

/* ----------------------------------------------------------------------- */
/* Settings                                                                */

static void
cancel_all (WeftSpellController *self)
{
  for (guint i = 0; i < self->passes->len; i++)
    {
      PassInfo *info = self->passes->pdata[i];

      if (info->pass != NULL)
        weft_spell_pass_cancel (info->pass);
    }
  /* Their results, if any still come, are for a controller that stopped
   * listening: on_pass_done finds them gone from the list. */
  g_ptr_array_set_size (self->passes, 0);
  g_queue_clear_full (&self->pending, (GDestroyNotify) pending_free);
  g_array_set_size (self->dirty, 0);
  g_array_set_size (self->edits, 0);
  self->log_base = self->seq;
  g_clear_handle_id (&self->debounce_source, g_source_remove);
}

/* Forgets every result and checks the whole text again (new language, new
 * words, a new document, checking turned on or off). */
static void
weft_spell_controller_restart (WeftSpellController *self)
{
  g_autofree char *lang = NULL;
  g_autoptr (WeftSnapshot) snap = NULL;

  cancel_all (self);

  if (g_settings_get_boolean (self->settings, "spell-check"))
    lang = weft_spell_dup_language_setting (self->settings);
  g_free (self->lang);
  self->lang = g_steal_pointer (&lang);

  if (self->lang == NULL)
    {
      GtkTextIter start, end;

      if (self->maybe_underlined)
        {
          gtk_text_buffer_get_bounds (self->buffer, &start, &end);
          gtk_text_buffer_remove_tag (self->buffer, self->tag, &start, &end);
          self->maybe_underlined = FALSE;
        }
      weft_misspellings_clear (self->found);
      g_clear_handle_id (&self->work_source, g_source_remove);
      set_n_misspelled (self, -1);
      set_counting (self, FALSE);
      set_error (self, NULL);
      notify_busy (self);
      return;
    }
  set_counting (self, TRUE);
  if (bulk_edit (self))
    return;

  snap = weft_document_dup_snapshot (self->document);
  /* A full pass: it clears every old underline as its results land. */
  start_pass (self, snap, 0, (int) weft_snapshot_get_n_chars (snap));
  if (self->passes->len == 0)
    schedule_work (self);   /* none started: count what there is */
}

char *
weft_spell_dup_language_setting (GSettings *settings)
{
  g_autofree char *lang = g_settings_get_string (settings, "spell-language");

  if (lang[0] != '\0')
    return g_steal_pointer (&lang);
  return weft_spell_dup_default_language ();
}

static void
on_bulk_edit_changed (WeftSpellController *self)
{
  if (bulk_edit (self))
    {
      /* Edits are not followed while it lasts: the words found go, and
       * the underlines left are cleared as the next pass's results land. */
      cancel_all (self);
      weft_misspellings_clear (self->found);
      set_counting (self, self->lang != NULL);
    }
  else
    weft_spell_controller_restart (self);
}

/* ----------------------------------------------------------------------- */
/* The context menu                                                        */

static void
clear_word (WeftSpellController *self)
{
  g_clear_pointer (&self->word, g_free);
  g_menu_remove_all (self->suggestions_section);
  g_menu_remove_all (self->word_section);
  self->suggest_job = 0;
}

static void
on_suggestions (const WeftJobResult *result,
                gpointer             user_data)
{
  GWeakRef *ref = user_data;
  g_autoptr (WeftSpellController) self = g_weak_ref_get (ref);
  g_auto (GStrv) words = NULL;

  g_weak_ref_clear (ref);
  g_free (ref);
  if (self == NULL || self->suggest_job != result->job_id)
    return;

  g_menu_remove_all (self->suggestions_section);
  if (result->output != NULL)
    words = weft_spell_suggest_result_parse (result->output, NULL);
  if (words == NULL || words[0] == NULL)
    {
      g_autoptr (GMenuItem) item = g_menu_item_new (_("No Suggestions"), "spell.none");

      g_menu_append_item (self->suggestions_section, item);
      return;
    }
  for (size_t i = 0; words[i] != NULL; i++)
    {
      g_autoptr (GMenuItem) item = g_menu_item_new (words[i], NULL);

      g_menu_item_set_action_and_target (item, "spell.replace", "s", words[i]);
      g_menu_append_item (self->suggestions_section, item);
    }
}

/* Points the context menu at the underlined word around @iter, if any. */
static void
set_context (WeftSpellController *self,
             const GtkTextIter   *iter)
{
  GtkTextIter start = *iter, end = *iter;
  g_autofree char *word = NULL;
  WeftBackend *backend = get_backend ();

  if (!gtk_text_iter_has_tag (iter, self->tag) && !gtk_text_iter_ends_tag (iter, self->tag))
    {
      clear_word (self);
      return;
    }
  if (!gtk_text_iter_starts_tag (&start, self->tag))
    gtk_text_iter_backward_to_tag_toggle (&start, self->tag);
  if (!gtk_text_iter_ends_tag (&end, self->tag) || gtk_text_iter_equal (&end, &start))
    gtk_text_iter_forward_to_tag_toggle (&end, self->tag);
  word = gtk_text_iter_get_slice (&start, &end);
  gtk_text_buffer_move_mark (self->buffer, self->word_start, &start);
  gtk_text_buffer_move_mark (self->buffer, self->word_end, &end);
  if (g_strcmp0 (word, self->word) == 0)
    return;

  clear_word (self);
  self->word = g_steal_pointer (&word);
  g_menu_append (self->suggestions_section, _("Looking for Suggestions…"), "spell.none");
  g_menu_append (self->word_section, _("_Add to Dictionary"), "spell.add-word");
  g_menu_append (self->word_section, _("_Ignore All"), "spell.ignore-word");

  if (backend != NULL && self->lang != NULL)
    {
      g_autoptr (GBytes) options = weft_spell_suggest_options (self->lang, self->word,
                                                              WEFT_SPELL_MAX_SUGGESTIONS);
      WeftJobSpec spec = { .kind = WEFT_JOB_SPELL_SUGGEST, .options = options, .owner = GPOINTER_TO_SIZE (self) };
      GWeakRef *ref = g_new0 (GWeakRef, 1);

      g_weak_ref_init (ref, self);
      self->suggest_job = weft_backend_submit (backend, &spec, on_suggestions, ref);
    }
}

static void
on_secondary_pressed (WeftSpellController *self,
                      int                  n_press,
                      double               x,
                      double               y,
                      GtkGestureClick     *gesture)
{
  GtkTextView *view = GTK_TEXT_VIEW (gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (gesture)));
  GtkTextIter iter;
  int bx, by;

  gtk_text_view_window_to_buffer_coords (view, GTK_TEXT_WINDOW_WIDGET, (int) x, (int) y, &bx, &by);
  gtk_text_view_get_iter_at_location (view, &iter, bx, by);
  set_context (self, &iter);
}

static void
on_mark_set (WeftSpellController *self,
             const GtkTextIter   *location,
             GtkTextMark         *mark,
             GtkTextBuffer       *buffer)
{
  if (mark == gtk_text_buffer_get_insert (buffer))
    set_context (self, location);
}

/* The context word, if it is still there unchanged. */
static gboolean
get_word_bounds (WeftSpellController *self,
                 GtkTextIter         *start,
                 GtkTextIter         *end)
{
  g_autofree char *now = NULL;

  if (self->word == NULL)
    return FALSE;
  gtk_text_buffer_get_iter_at_mark (self->buffer, start, self->word_start);
  gtk_text_buffer_get_iter_at_mark (self->buffer, end, self->word_end);
  now = gtk_text_iter_get_slice (start, end);
  return g_strcmp0 (now, self->word) == 0;
}

static void
action_replace (GSimpleAction *action,
                GVariant      *param,
                gpointer       user_data)
{
  WeftSpellController *self = user_data;
  GtkTextIter start, end;
  const char *with = g_variant_get_string (param, NULL);

  if (!get_word_bounds (self, &start, &end))
    return;
  gtk_text_buffer_begin_user_action (self->buffer);
  gtk_text_buffer_delete (self->buffer, &start, &end);
  gtk_text_buffer_insert (self->buffer, &start, with, -1);
  gtk_text_buffer_end_user_action (self->buffer);
}

static void
accept_word (WeftSpellController *self,
             gboolean             persist)
{
  GtkTextIter start, end;
  g_autofree char *word = NULL;

  if (!get_word_bounds (self, &start, &end) || self->lang == NULL)
    return;
  word = g_strdup (self->word);
  gtk_text_buffer_remove_tag (self->buffer, self->tag, &start, &end);
  weft_misspellings_replace (self->found, gtk_text_iter_get_offset (&start), gtk_text_iter_get_offset (&end),
                             NULL, 0, NULL, NULL);

  if (persist)
    {
      GPtrArray *words = get_personal (self->lang);
      g_autoptr (GError) error = NULL;

      if (!g_ptr_array_find_with_equal_func (words, word, g_str_equal, NULL))
        g_ptr_array_add (words, g_strdup (word));
      if (!save_personal (self->lang, words, &error))
        {
          g_autofree char *message =
            g_strdup_printf (_("The word was added for this session only: the personal dictionary could not be saved (%s)"),
                             error->message);
          set_error (self, message);
        }
    }
  else
    {
      if (ignored_words == NULL)
        ignored_words = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_hash_table_add (ignored_words, g_strdup (word));
    }
  clear_word (self);
  words_changed ();
}

static void
action_add_word (GSimpleAction *action,
                 GVariant      *param,
                 gpointer       user_data)
{
  accept_word (user_data, TRUE);
}

static void
action_ignore_word (GSimpleAction *action,
                    GVariant      *param,
                    gpointer       user_data)
{
  accept_word (user_data, FALSE);
}

static const GActionEntry spell_entries[] = {
  { "replace", action_replace, "s" },
  { "add-word", action_add_word },
  { "ignore-word", action_ignore_word },
};

/* ----------------------------------------------------------------------- */
/* Public                                                                  */

int
weft_spell_controller_get_n_misspelled (WeftSpellController *self)
{
  g_return_val_if_fail (WEFT_IS_SPELL_CONTROLLER (self), -1);

  return self->n_misspelled;
}

gboolean
weft_spell_controller_get_busy (WeftSpellController *self)
{
  g_return_val_if_fail (WEFT_IS_SPELL_CONTROLLER (self), FALSE);

  return self->passes->len > 0 || self->work_source != 0 || self->dirty->len > 0;
}

gboolean
weft_spell_controller_get_counting (WeftSpellController *self)
{
  g_return_val_if_fail (WEFT_IS_SPELL_CONTROLLER (self), FALSE);

  return self->counting;
}

const char *
weft_spell_controller_get_language (WeftSpellController *self)
{
  g_return_val_if_fail (WEFT_IS_SPELL_CONTROLLER (self), NULL);

  return self->lang;
}

const char *
weft_spell_controller_get_error (WeftSpellController *self)
{
  g_return_val_if_fail (WEFT_IS_SPELL_CONTROLLER (self), NULL);

  return self->error;
}

gboolean
weft_spell_controller_move (WeftSpellController *self,
                            gboolean             forward)
{
  GtkTextIter iter, end;
  GtkTextMark *insert;
  WeftMisspellingIter at;
  WeftMisspelling f;
  int pos;

  g_return_val_if_fail (WEFT_IS_SPELL_CONTROLLER (self), FALSE);

  if (weft_misspellings_get_size (self->found) == 0)
    return FALSE;
  insert = gtk_text_buffer_get_insert (self->buffer);
  gtk_text_buffer_get_iter_at_mark (self->buffer, &iter, insert);
  pos = gtk_text_iter_get_offset (&iter);
  if (forward)
    {
      /* A word the cursor is at but has not selected yet comes first;
       * after the last word, the first of the text. */
      gboolean more;

      for (more = weft_misspellings_search (self->found, pos, &at); more;
           more = weft_misspellings_next (self->found, &at))
        {
          f = weft_misspellings_get (self->found, &at);
          if (f.start > pos || (f.start == pos && !gtk_text_buffer_get_has_selection (self->buffer)))
            break;
        }
      if (!more)
        weft_misspellings_first (self->found, &at);
    }
  else
    {
      /* The last word that ends before the cursor (not the one it is in);
       * before the first word, the last of the text. */
      weft_misspellings_search (self->found, pos, &at);
      if (!weft_misspellings_prev (self->found, &at))
        weft_misspellings_last (self->found, &at);
    }

  f = weft_misspellings_get (self->found, &at);
  if (!f.drawn)
    draw_found (self, &at);
  gtk_text_buffer_get_iter_at_offset (self->buffer, &iter, f.start);
  gtk_text_buffer_get_iter_at_offset (self->buffer, &end, f.end);
  gtk_text_buffer_select_range (self->buffer, &iter, &end);
  if (self->view != NULL)
    gtk_text_view_scroll_to_mark (GTK_TEXT_VIEW (self->view), insert, 0.1, FALSE, 0, 0);
  return TRUE;
}

char *
weft_spell_controller_dup_word_at (WeftSpellController *self,
                                   int                  char_off)
{
  GtkTextIter iter;

  g_return_val_if_fail (WEFT_IS_SPELL_CONTROLLER (self), NULL);

  gtk_text_buffer_get_iter_at_offset (self->buffer, &iter, char_off);
  set_context (self, &iter);
  return g_strdup (self->word);
}

/* ----------------------------------------------------------------------- */
/* Scrolling                                                               */

static gboolean
on_settled (gpointer user_data)
{
  WeftSpellController *self = user_data;
  gint64 still_ms = (g_get_monotonic_time () - self->view_moved_at) / 1000;

  self->settle_source = 0;
  if (still_ms < SCROLL_SETTLE_MS)
    {
      self->settle_source = weft_watchdog_timeout_add ((guint) (SCROLL_SETTLE_MS - still_ms),
                                                       "waiting for scrolling to stop", on_settled, self, NULL);
      return G_SOURCE_REMOVE;
    }
  if (weft_misspellings_get_size (self->found) > 0)
    schedule_work (self);
  return G_SOURCE_REMOVE;
}

/* Only a change of the first char shown is scrolling, and not while GTK
 * measures lines: the adjustment then moves to keep the text shown in
 * place, and near the end of a text, shows the lines being measured for a
 * moment, until the page scrolls back to the cursor (weft-page.c). */
static void
on_scrolled (WeftSpellController *self)
{
  GdkRectangle rect;
  GtkTextIter top;
  int top_offset;

  if (self->view == NULL)
    return;
  gtk_text_view_get_visible_rect (GTK_TEXT_VIEW (self->view), &rect);
  gtk_text_view_get_line_at_y (GTK_TEXT_VIEW (self->view), &top, rect.y, NULL);
  top_offset = gtk_text_iter_get_offset (&top);
  if (top_offset != self->view_top && !weft_slice_in_gtk_measuring ())
    {
      self->view_top = top_offset;
      self->view_moved_at = g_get_monotonic_time ();
      if (self->settle_source == 0)
        self->settle_source = weft_watchdog_timeout_add (SCROLL_SETTLE_MS, "waiting for scrolling to stop",
                                                         on_settled, self, NULL);
      return;
    }
  if (self->settle_source == 0 && weft_misspellings_get_size (self->found) > 0)
    schedule_work (self);
}

static void
watch_vadjustment (WeftSpellController *self)
{
  GtkAdjustment *adj = self->view != NULL ? gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (self->view)) : NULL;

  if (adj == self->vadjustment)
    return;
  if (self->vadjustment != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->vadjustment, self);
      g_object_remove_weak_pointer (G_OBJECT (self->vadjustment), (gpointer *) &self->vadjustment);
    }
  self->vadjustment = adj;
  if (adj != NULL)
    {
      g_object_add_weak_pointer (G_OBJECT (adj), (gpointer *) &self->vadjustment);
      g_signal_connect_swapped (adj, "value-changed", G_CALLBACK (on_scrolled), self);
      g_signal_connect_swapped (adj, "changed", G_CALLBACK (on_scrolled), self);
    }
}

/* ----------------------------------------------------------------------- */
/* GObject                                                                 */

static void
weft_spell_controller_dispose (GObject *object)
{
  WeftSpellController *self = WEFT_SPELL_CONTROLLER (object);

  controllers = g_list_remove (controllers, self);
  if (self->passes != NULL)
    cancel_all (self);
  g_clear_handle_id (&self->work_source, g_source_remove);
  g_clear_handle_id (&self->settle_source, g_source_remove);
  if (self->vadjustment != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->vadjustment, self);
      g_object_remove_weak_pointer (G_OBJECT (self->vadjustment), (gpointer *) &self->vadjustment);
      self->vadjustment = NULL;
    }
  if (self->view != NULL)
    {
      gtk_text_view_set_extra_menu (GTK_TEXT_VIEW (self->view), NULL);
      gtk_widget_insert_action_group (GTK_WIDGET (self->view), "spell", NULL);
      g_object_remove_weak_pointer (G_OBJECT (self->view), (gpointer *) &self->view);
      self->view = NULL;
    }
  g_clear_object (&self->settings);
  g_clear_object (&self->actions);
  g_clear_object (&self->menu);
  g_clear_object (&self->suggestions_section);
  g_clear_object (&self->word_section);
  g_clear_object (&self->document);

  G_OBJECT_CLASS (weft_spell_controller_parent_class)->dispose (object);
}

static void
weft_spell_controller_finalize (GObject *object)
{
  WeftSpellController *self = WEFT_SPELL_CONTROLLER (object);

  g_clear_pointer (&self->passes, g_ptr_array_unref);
  g_clear_pointer (&self->edits, g_array_unref);
  g_clear_pointer (&self->dirty, g_array_unref);
  g_clear_pointer (&self->found, weft_misspellings_free);
  g_free (self->lang);
  g_free (self->word);
  g_free (self->error);

  G_OBJECT_CLASS (weft_spell_controller_parent_class)->finalize (object);
}

static void
weft_spell_controller_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  WeftSpellController *self = WEFT_SPELL_CONTROLLER (object);

  switch (prop_id)
    {
    case PROP_N_MISSPELLED:
      g_value_set_int (value, self->n_misspelled);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, weft_spell_controller_get_busy (self));
      break;
    case PROP_COUNTING:
      g_value_set_boolean (value, self->counting);
      break;
    case PROP_ERROR:
      g_value_set_string (value, self->error);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
weft_spell_controller_class_init (WeftSpellControllerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = weft_spell_controller_dispose;
  object_class->finalize = weft_spell_controller_finalize;
  object_class->get_property = weft_spell_controller_get_property;

  properties[PROP_N_MISSPELLED] =
    g_param_spec_int ("n-misspelled", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_COUNTING] =
    g_param_spec_boolean ("counting", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_ERROR] =
    g_param_spec_string ("error", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
weft_spell_controller_init (WeftSpellController *self)
{
  self->edits = g_array_new (FALSE, FALSE, sizeof (Edit));
  self->dirty = g_array_new (FALSE, FALSE, sizeof (Span));
  self->found = weft_misspellings_new ();
  self->passes = g_ptr_array_new_with_free_func ((GDestroyNotify) pass_info_unref);
  g_queue_init (&self->pending);
  self->n_misspelled = -1;
}

/* GTK 4.8 draws an error underline as a row of dots: one clipped circle,
 * repeated under each word. A GPU renderer draws that for nothing; the cairo
 * renderer (no GPU, or under Xvfb) rasterises every dot of every underline in
 * the view again at each frame. With a screenful of misspelled words that was
 * 2.5 ms of the 6 ms between a key and its paint, and it doubled the main
 * loop's p99 while typing. So where the window renders with cairo, misspelled
 * words get a plain line in the error red instead. */
static void
choose_underline (WeftSpellController *self)
{
  static const GdkRGBA error_red = { 0.878f, 0.106f, 0.141f, 1.0f };
  GtkNative *native = self->view != NULL ? gtk_widget_get_native (GTK_WIDGET (self->view)) : NULL;
  GskRenderer *renderer = native != NULL ? gtk_native_get_renderer (native) : NULL;
  PangoUnderline wanted = renderer != NULL && GSK_IS_CAIRO_RENDERER (renderer)
                          ? PANGO_UNDERLINE_SINGLE : PANGO_UNDERLINE_ERROR;
  PangoUnderline underline;

  /* Setting the tag, even to what it already is, redraws every underline:
   * a view realized again leaves it alone. */
  g_object_get (self->tag, "underline", &underline, NULL);
  if (underline == wanted)
    return;
  if (wanted == PANGO_UNDERLINE_SINGLE)
    g_object_set (self->tag, "underline", wanted, "underline-rgba", &error_red, NULL);
  else
    g_object_set (self->tag, "underline", wanted, "underline-rgba-set", FALSE, NULL);
}

WeftSpellController *
weft_spell_controller_new (WeftDocument  *document,
                           GtkSourceView *view)
{
  WeftSpellController *self;
  GtkTextTagTable *table;
  GtkGesture *gesture;
  GtkTextIter start;

  g_return_val_if_fail (WEFT_IS_DOCUMENT (document), NULL);
  g_return_val_if_fail (GTK_SOURCE_IS_VIEW (view), NULL);

  self = g_object_new (WEFT_TYPE_SPELL_CONTROLLER, NULL);
  self->document = g_object_ref (document);
  self->buffer = GTK_TEXT_BUFFER (weft_document_get_buffer (document));
  self->view = view;
  g_object_add_weak_pointer (G_OBJECT (view), (gpointer *) &self->view);
  self->settings = g_settings_new (APP_ID);

  table = gtk_text_buffer_get_tag_table (self->buffer);
  self->tag = gtk_text_tag_table_lookup (table, "weft-misspelled");
  /* An earlier controller of this buffer may have left underlines. */
  self->maybe_underlined = self->tag != NULL;
  if (self->tag == NULL)
    self->tag = gtk_text_buffer_create_tag (self->buffer, "weft-misspelled",
                                            "underline", PANGO_UNDERLINE_ERROR, NULL);
  g_signal_connect_object (view, "realize", G_CALLBACK (choose_underline), self, G_CONNECT_SWAPPED);
  if (gtk_widget_get_realized (GTK_WIDGET (view)))
    choose_underline (self);
  gtk_text_buffer_get_start_iter (self->buffer, &start);
  self->word_start = gtk_text_buffer_create_mark (self->buffer, NULL, &start, TRUE);
  self->word_end = gtk_text_buffer_create_mark (self->buffer, NULL, &start, FALSE);

  /* After the document's own handlers: its mirror, and so the snapshots we
   * take, already hold the edit when we log it. */
  g_signal_connect_object (self->buffer, "insert-text", G_CALLBACK (on_insert_text), self,
                           G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  g_signal_connect_object (self->buffer, "insert-paintable", G_CALLBACK (on_insert_object), self,
                           G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  g_signal_connect_object (self->buffer, "insert-child-anchor", G_CALLBACK (on_insert_object), self,
                           G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  g_signal_connect_object (self->buffer, "delete-range", G_CALLBACK (on_delete_range), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->buffer, "mark-set", G_CALLBACK (on_mark_set), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->document, "notify::loading", G_CALLBACK (on_bulk_edit_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->document, "notify::applying", G_CALLBACK (on_bulk_edit_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::spell-check",
                           G_CALLBACK (weft_spell_controller_restart), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::spell-language",
                           G_CALLBACK (weft_spell_controller_restart), self, G_CONNECT_SWAPPED);

  self->actions = g_simple_action_group_new ();
  g_action_map_add_action_entries (G_ACTION_MAP (self->actions), spell_entries,
                                   G_N_ELEMENTS (spell_entries), self);
  gtk_widget_insert_action_group (GTK_WIDGET (view), "spell", G_ACTION_GROUP (self->actions));

  self->menu = g_menu_new ();
  self->suggestions_section = g_menu_new ();
  self->word_section = g_menu_new ();
  g_menu_append_section (self->menu, NULL, G_MENU_MODEL (self->suggestions_section));
  g_menu_append_section (self->menu, NULL, G_MENU_MODEL (self->word_section));
  gtk_text_view_set_extra_menu (GTK_TEXT_VIEW (view), G_MENU_MODEL (self->menu));

  gesture = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_SECONDARY);
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (gesture), GTK_PHASE_CAPTURE);
  g_signal_connect_object (gesture, "pressed", G_CALLBACK (on_secondary_pressed), self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (view), GTK_EVENT_CONTROLLER (gesture));

  g_signal_connect_object (view, "notify::vadjustment", G_CALLBACK (watch_vadjustment), self,
                           G_CONNECT_SWAPPED);
  watch_vadjustment (self);

  controllers = g_list_prepend (controllers, self);
  weft_spell_controller_restart (self);
  return self;
}
