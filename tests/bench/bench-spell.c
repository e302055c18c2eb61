/* bench-spell.c: `weft-bench spell`, spell-check throughput of 1 and N threads beside hunspell -l on the same file. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "bench-common.h"
#include "bench-cores.h"
#include "weft-spell.h"
#include "weft-spell-pass.h"
#include "weft-text.h"

#define LANG_TAG        "en_US"
#define DIC_PATH        "/usr/share/hunspell/en_US.dic"
#define HUNSPELL        "hunspell"
#define DEFAULT_RUNS    15
#define HUNSPELL_EVERY  5
#define GENERATED_BYTES (10u << 20)

/* The design's bars: 2 workers >= 1.7 x 1 worker, and >= 1.5 x the
 * throughput of hunspell -l, with the same misspelled list. */
#define BAR_SPEEDUP       1.7
#define BAR_VS_HUNSPELL   1.5

/* ----------------------------------------------------------------------- */
/* Generated prose: the same generator as tests/unit/test-spell.cc, so the
 * bench's 10 MB hold what the unit test checks at 1 MB: dictionary words
 * with a Zipf-like frequency, 4 % typing slips, capitals, contractions and
 * possessives with both apostrophes, hyphenated pairs, numbers and
 * ordinals, a few foreign words, quotes, and the URLs, addresses and
 * absolute paths that both weft and hunspell -l skip. */

typedef struct
{
  guint64 state;
} Random;

static guint64
random_next (Random *rng)
{
  rng->state ^= rng->state >> 12;
  rng->state ^= rng->state << 25;
  rng->state ^= rng->state >> 27;
  return rng->state * 0x2545F4914F6CDD1DULL;
}

static size_t
random_below (Random *rng,
              size_t  n)
{
  return (size_t) (random_next (rng) % n);
}

/* The dictionary's stems that are plain prose words (letters, internal
 * apostrophes, no internal capitals), or NULL with @error set. */
static GPtrArray *
load_dictionary_words (GError **error)
{
  g_autofree char *contents = NULL;
  g_auto (GStrv) lines = NULL;
  GPtrArray *words;

  if (!g_file_get_contents (DIC_PATH, &contents, NULL, error))
    return NULL;

  words = g_ptr_array_new_with_free_func (g_free);
  lines = g_strsplit (contents, "\n", -1);
  for (size_t i = 1; lines[i] != NULL; i++)
    {
      char *word = lines[i];
      char *slash = strchr (word, '/');
      size_t len;
      gboolean ok;

      if (slash != NULL)
        *slash = '\0';
      len = strlen (word);
      ok = len > 0 && word[0] != '\'' && word[len - 1] != '\'';
      for (size_t j = 0; ok && j < len; j++)
        {
          unsigned char c = (unsigned char) word[j];

          if (c >= 0x80 || c == '\'')
            continue;
          if (!g_ascii_isalpha (c))
            ok = FALSE;
          else if (j > 0 && g_ascii_isupper (c) && g_ascii_islower (word[j - 1]))
            ok = FALSE;
        }
      if (ok)
        g_ptr_array_add (words, g_strdup (word));
    }

  return words;
}

/* Only such words get letters moved: a slip in "KKt" can make "KtK", which
 * the tokenizer skips as camelCase where hunspell -l reports it. */
static gboolean
is_plain_word (const char *w)
{
  if (!g_ascii_isalpha (*w))
    return FALSE;
  for (w++; *w != '\0'; w++)
    if (!g_ascii_islower (*w))
      return FALSE;
  return TRUE;
}

static void
append_misspelled (GString    *out,
                   const char *word,
                   Random     *rng)
{
  size_t len = strlen (word);
  char *w;
  size_t i;

  if (len < 3 || !is_plain_word (word))
    {
      g_string_append (out, word);
      g_string_append (out, "ness");
      return;
    }

  w = g_malloc (len + 2);
  memcpy (w, word, len + 1);
  i = 1 + random_below (rng, len - 2);
  switch (random_below (rng, 4))
    {
    case 0:
      {
        char t = w[i];
        w[i] = w[i + 1];
        w[i + 1] = t;
      }
      break;
    case 1:
      memmove (w + i, w + i + 1, len - i);
      break;
    case 2:
      memmove (w + i + 1, w + i, len - i + 1);
      break;
    default:
      w[i] = "aeiouy"[random_below (rng, 6)];
      break;
    }
  g_string_append (out, w);
  g_free (w);
}

/* Roughly Zipf: a rank whose bit length is uniform (so ranks 1, 2-3, 4-7, …
 * are equally likely as groups), over a fixed shuffle of the list, so that
 * common words repeat as in real prose. Integers only, to be the same on
 * every machine. */
static const char *
pick_word (GPtrArray *dict,
           Random    *rng)
{
  unsigned n_bits = g_bit_storage (dict->len);
  size_t rank;

  do
    {
      unsigned b = (unsigned) random_below (rng, n_bits);

      rank = ((size_t) 1 << b) - 1 + random_below (rng, (size_t) 1 << b);
    }
  while (rank >= dict->len);

  return dict->pdata[(rank * 2654435761u) % dict->len];
}

static char *
make_prose (GPtrArray *dict,
            size_t     target_bytes,
            guint64    seed,
            size_t    *out_len)
{
  static const char *const contractions[] = {
    "don't", "it's", "we’re", "they’ll", "can't", "I'm", "won’t", "isn't",
    "o'clock", "rock’n’roll", "you've", "she’d", "let's", "ma'am",
  };
  static const char *const foreign[] = {
    "naïve", "café", "Größe", "façade", "déjà", "señor", "Zürich", "smörgåsbord",
  };
  static const char *const addresses[] = {
    "http://www.exmple.com/teh/path", "https://example.org/index.html?tset",
    "user.name@exmaple.com", "/usr/share/doc/teh", "ftp://files.exampel.net/pub/",
    "mailto:someone@wherever.orgg",
  };
  Random rng = { seed | 1 };
  GString *text = g_string_sized_new (target_bytes + 1024);
  GString *t = g_string_new (NULL);
  size_t line_len = 0;
  size_t sentences_left = 3 + random_below (&rng, 6);

  while (text->len < target_bytes)
    {
      size_t n_words = 4 + random_below (&rng, 14);

      for (size_t i = 0; i < n_words; i++)
        {
          size_t kind = random_below (&rng, 100);
          const char *sep;

          g_string_truncate (t, 0);
          if (kind < 3)
            g_string_append (t, contractions[random_below (&rng, G_N_ELEMENTS (contractions))]);
          else if (kind < 5)
            g_string_append_printf (t, "%s%s", pick_word (dict, &rng),
                                    random_below (&rng, 100) < 50 ? "'s" : "’s");
          else if (kind < 8)
            {
              const char *a = pick_word (dict, &rng);
              g_string_append_printf (t, "%s-%s", a, pick_word (dict, &rng));
            }
          else if (kind < 10)
            {
              switch (random_below (&rng, 5))
                {
                case 0:
                  g_string_append_printf (t, "%zu", random_below (&rng, 100000));
                  break;
                case 1:
                  {
                    size_t a = random_below (&rng, 100);
                    g_string_append_printf (t, "%zu.%zu", a, random_below (&rng, 100));
                  }
                  break;
                case 2:
                  g_string_append_printf (t, "%zu,000", 1 + random_below (&rng, 9));
                  break;
                case 3:
                  {
                    size_t n = 1 + random_below (&rng, 200);
                    const char *suffix = "th";

                    if (n % 100 < 11 || n % 100 > 13)
                      suffix = n % 10 == 1 ? "st" : n % 10 == 2 ? "nd" : n % 10 == 3 ? "rd" : "th";
                    g_string_append_printf (t, "%zu%s", n, suffix);
                  }
                  break;
                default:
                  g_string_append_printf (t, "%zu%%", random_below (&rng, 1000));
                  break;
                }
            }
          else if (kind < 11)
            g_string_append (t, foreign[random_below (&rng, G_N_ELEMENTS (foreign))]);
          else if (kind < 12)
            g_string_append (t, addresses[random_below (&rng, G_N_ELEMENTS (addresses))]);
          else
            {
              const char *w = pick_word (dict, &rng);

              if (random_below (&rng, 100) < 4)
                append_misspelled (t, w, &rng);
              else
                g_string_append (t, w);
              if (random_below (&rng, 100) < 1)
                for (size_t j = 0; j < t->len; j++)
                  t->str[j] = g_ascii_toupper (t->str[j]);
            }

          if (i == 0 && g_ascii_islower (t->str[0]))
            t->str[0] = g_ascii_toupper (t->str[0]);

          switch (random_below (&rng, 40))
            {
            case 0: g_string_prepend (t, "\""); g_string_append (t, "\""); break;
            case 1: g_string_prepend (t, "“"); g_string_append (t, "”"); break;
            case 2: g_string_prepend (t, "'"); g_string_append (t, "'"); break;
            case 3: g_string_prepend (t, "("); g_string_append (t, ")"); break;
            default: break;
            }

          if (i + 1 == n_words)
            g_string_append_c (t, ".?!"[random_below (&rng, 3)]);
          else if (random_below (&rng, 100) < 8)
            g_string_append_c (t, ",;:"[random_below (&rng, 3)]);

          sep = random_below (&rng, 100) < 2 ? " — " : " ";
          if (line_len > 0 && line_len + 1 + t->len > 72)
            {
              g_string_append_c (text, '\n');
              line_len = 0;
            }
          else if (line_len > 0)
            {
              g_string_append (text, sep);
              line_len += strlen (sep);
            }
          g_string_append_len (text, t->str, (gssize) t->len);
          line_len += t->len;
        }

      if (--sentences_left == 0)
        {
          g_string_append (text, "\n\n");
          line_len = 0;
          sentences_left = 3 + random_below (&rng, 6);
        }
    }

  g_string_append_c (text, '\n');
  g_string_free (t, TRUE);
  *out_len = text->len;
  return g_string_free (text, FALSE);
}

char *
weft_bench_make_prose (size_t   target_bytes,
                       size_t  *out_len,
                       GError **error)
{
  g_autoptr (GPtrArray) dict = load_dictionary_words (error);

  if (dict == NULL)
    return NULL;
  return make_prose (dict, target_bytes, 0x5745465453504C4CULL, out_len);
}

/* ----------------------------------------------------------------------- */
/* The measurements */

static char *
ranges_to_lines (const char *text,
                 GArray     *ranges)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < ranges->len; i++)
    {
      const WeftSpellRange *r = &g_array_index (ranges, WeftSpellRange, i);

      g_string_append_len (out, text + r->byte_off, (gssize) r->byte_len);
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

/* CPU time (user + system) of this process's threads or of its waited-for
 * children, in ms: on a shared machine the wall-clock ratios depend on what
 * else runs, the CPU time a pass costs much less. */
static double
cpu_ms (int who)
{
  struct rusage ru;

  getrusage (who, &ru);
  return (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
         (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

typedef struct
{
  gboolean  done;
  GError   *error;
  GArray   *ranges;
  size_t    n_words;
} PassWait;

static void
on_pass_done (WeftSpellPass *pass,
              const GError  *error,
              gpointer       user_data)
{
  PassWait *wait = user_data;

  wait->done = TRUE;
  if (error != NULL)
    {
      wait->error = g_error_copy (error);
      return;
    }
  wait->ranges = g_array_ref (weft_spell_pass_get_misspelled (pass));
  wait->n_words = weft_spell_pass_get_n_words (pass);
}

/* One timed pass over the whole snapshot on @backend, whose workers have
 * their dictionaries loaded already, as an editor's do; the CPU time is the
 * workers' own, from the backend's stats. Returns the misspelled words,
 * one per line, or NULL with @error set. */
static char *
run_backend (WeftBackend   *backend,
             GMainContext  *ctx,
             WeftSnapshot  *snap,
             const char    *text,
             size_t        *n_words,
             double        *ms,
             double        *cpu,
             GError       **error)
{
  WeftSpellPassOptions options = { LANG_TAG, NULL, 0, 0, TRUE };
  WeftBackendStats before, after;
  PassWait wait = { 0 };
  gint64 t0;
  char *lines;

  weft_backend_get_stats (backend, &before);
  t0 = weft_bench_now_ns ();
  weft_spell_pass_start (backend, snap, 0, weft_snapshot_get_n_bytes (snap), &options, NULL,
                         on_pass_done, &wait);
  while (!wait.done)
    g_main_context_iteration (ctx, TRUE);
  *ms = weft_bench_elapsed_ms (t0, weft_bench_now_ns ());
  weft_backend_get_stats (backend, &after);
  *cpu = (double) ((after.cpu_user_us + after.cpu_sys_us) - (before.cpu_user_us + before.cpu_sys_us)) / 1e3;

  if (wait.error != NULL)
    {
      g_propagate_error (error, wait.error);
      return NULL;
    }
  *n_words = wait.n_words;
  lines = ranges_to_lines (text, wait.ranges);
  g_array_unref (wait.ranges);
  return lines;
}

/* hunspell -l over @path. -i UTF-8: hunspell otherwise decodes by the
 * locale; -p: a personal dictionary that cannot exist, so ~/.hunspell_en_US
 * stays out of the comparison. */
#define HUNSPELL_ARGV(path) \
  { HUNSPELL, "-i", "UTF-8", "-l", "-d", LANG_TAG, "-p", "/dev/null/no-personal-dictionary", (path), NULL }

/* One timed run of hunspell -l over @path; its standard output is read as
 * it comes, as any consumer of it would. */
static char *
run_hunspell (const char  *path,
              double      *ms,
              double      *cpu,
              GError     **error)
{
  const char *argv[] = HUNSPELL_ARGV (path);
  g_autofree char *err = NULL;
  char *out = NULL;
  int status = 0;
  double cpu0 = cpu_ms (RUSAGE_CHILDREN);
  gint64 t0 = weft_bench_now_ns ();

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                     &out, &err, &status, error))
    return NULL;
  *ms = weft_bench_elapsed_ms (t0, weft_bench_now_ns ());
  *cpu = cpu_ms (RUSAGE_CHILDREN) - cpu0;

  if (!g_spawn_check_wait_status (status, error))
    {
      g_prefix_error (error, "hunspell -l: %s: ", err);
      g_free (out);
      return NULL;
    }
  return out;
}

/* Where two lists of lines part, for a message. */
static char *
describe_difference (const char *ours,
                     const char *theirs)
{
  size_t line = 1;
  const char *a = ours;
  const char *b = theirs;

  while (*a != '\0' && *a == *b)
    {
      if (*a == '\n')
        line++;
      a++;
      b++;
    }
  return g_strdup_printf ("misspelled lists differ at word %zu: weft “%.40s”, hunspell “%.40s”",
                          line, a, b);
}

/* Removes @path and the files in it. */
static void
remove_dir (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      g_unlink (child);
    }
  g_dir_close (dir);
  g_rmdir (path);
}

static size_t
count_lines (const char *s)
{
  size_t n = 0;

  for (; *s != '\0'; s++)
    n += *s == '\n';
  return n;
}

/* Runs hunspell -l over each of @paths, one after the other (@at_once
 * FALSE) or all at once; the wall time in ms, or < 0 with @error set. */
static double
time_hunspells (char   **paths,
                unsigned n,
                gboolean at_once,
                GError **error)
{
  GSubprocess *procs[64] = { NULL };
  gint64 t0 = weft_bench_now_ns ();
  gboolean ok = TRUE;

  for (unsigned i = 0; i < n && ok; i++)
    {
      const char *argv[] = HUNSPELL_ARGV (paths[i]);

      procs[i] = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE, error);
      ok = procs[i] != NULL && (at_once || g_subprocess_wait_check (procs[i], NULL, error));
    }
  /* Every process started is waited for, even after a failure. */
  for (unsigned i = 0; i < n; i++)
    if (procs[i] != NULL)
      {
        if (at_once && !g_subprocess_wait_check (procs[i], NULL, ok ? error : NULL))
          ok = FALSE;
        g_object_unref (procs[i]);
      }
  return ok ? weft_bench_elapsed_ms (t0, weft_bench_now_ns ()) : -1;
}

/* What this machine gives @n processes that check spelling at the same
 * time, right now: hunspell -l over @n parts of the first PROBE_BYTES of
 * @text, one after the other and then all at once (median of three). The
 * arithmetic loop above shows what the cores give to work that stays in
 * their caches; this shows what they give to work like the checker's, which
 * reads a dictionary far larger than them. */
#define PROBE_BYTES (1024 * 1024)
static double
hunspell_parallel_capacity (const char *text,
                            size_t      len,
                            unsigned    n,
                            GError    **error)
{
  g_autofree char *dir = g_dir_make_tmp ("weft-bench-spell-XXXXXX", error);
  char *paths[64] = { NULL };
  double ratios[3];
  size_t start = 0;
  size_t total = MIN (len, PROBE_BYTES);
  double capacity = -1;

  n = MIN (n, G_N_ELEMENTS (paths));
  if (dir == NULL)
    return -1;
  for (unsigned i = 0; i < n; i++)
    {
      size_t end = i + 1 == n ? total : total * (i + 1) / n;

      while (end < total && text[end - 1] != '\n')
        end++;
      paths[i] = g_strdup_printf ("%s/part-%u.txt", dir, i);
      if (!g_file_set_contents (paths[i], text + start, (gssize) (end - start), error))
        goto out;
      start = end;
    }
  for (int r = 0; r < 3; r++)
    {
      double one_after_other = time_hunspells (paths, n, FALSE, error);
      double at_once = one_after_other < 0 ? -1 : time_hunspells (paths, n, TRUE, error);

      if (at_once <= 0)
        goto out;
      ratios[r] = one_after_other / at_once;
    }
  /* The median of the three. */
  capacity = MAX (MIN (ratios[0], ratios[1]), MIN (MAX (ratios[0], ratios[1]), ratios[2]));

out:
  for (unsigned i = 0; i < n; i++)
    if (paths[i] != NULL)
      {
        g_unlink (paths[i]);
        g_free (paths[i]);
      }
  g_rmdir (dir);
  return capacity;
}

typedef struct
{
  const char  *backend;
  unsigned     workers;
  WeftBackend *be;        /* NULL for hunspell */
  double      *samples;
  double     *cpu_samples;
  double     *capacity;    /* the cores probe around each sample */
  size_t      n_samples;
  double      median_ms;
  double      cpu_median_ms;
  WeftBenchFullMedian full;   /* over the samples taken with a core per thread */
  char       *last_output;
} Series;

int
weft_bench_spell (int    argc,
                  char **argv)
{
  g_auto (GStrv) remaining = NULL;
  g_autofree char *output = NULL;
  const GOptionEntry extra[] = {
    { "output", 0, 0, G_OPTION_ARG_FILENAME, &output,
      "Write the misspelled words, one per line in text order, to OUT", "OUT" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &remaining, NULL, "[FILE]" },
    G_OPTION_ENTRY_NULL
  };
  WeftBenchOptions opts;
  g_autoptr (GError) error = NULL;
  g_autofree char *tmpdir = NULL;
  g_autofree char *input_path = NULL;
  g_autofree char *text = NULL;
  g_autofree char *n_words_json = NULL;
  size_t len = 0;
  size_t n_words = 0;
  gboolean generated = FALSE;
  unsigned workers;
  int runs;
  Series series[5] = { 0 };
  size_t n_series = 0;
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (WeftText) mirror = NULL;
  g_autoptr (WeftSnapshot) snap = NULL;
  g_autofree char *worker_path = weft_bench_worker_path ();
  const char *kinds[2];
  size_t n_kinds = 0;
  gint64 load_t0;
  WeftBenchCores cores;
  int status = 0;

  if (!weft_bench_parse_options ("spell",
                                 "spell-check throughput beside hunspell -l (en_US)",
                                 argc, argv, extra, &opts, &error))
    {
      fprintf (stderr, "weft-bench spell: %s\n", error->message);
      weft_bench_options_clear (&opts);
      return 2;
    }

  if (remaining != NULL && remaining[0] != NULL && (remaining[1] != NULL || opts.input != NULL))
    {
      fprintf (stderr, "weft-bench spell: give one input FILE\n");
      weft_bench_options_clear (&opts);
      return 2;
    }
  if (opts.backend != NULL && strcmp (opts.backend, "threads") != 0 &&
      strcmp (opts.backend, "processes") != 0 && strcmp (opts.backend, "both") != 0)
    {
      fprintf (stderr, "weft-bench spell: --backend is threads, processes or both\n");
      weft_bench_options_clear (&opts);
      return 2;
    }

  workers = opts.workers > 0 ? (unsigned) opts.workers : g_get_num_processors ();
  runs = opts.runs > 0 ? opts.runs : DEFAULT_RUNS;

  /* As the editor and its workers do, before any thread starts. */
  weft_spell_process_init ();

  tmpdir = g_dir_make_tmp ("weft-bench-spell-XXXXXX", &error);
  if (tmpdir == NULL)
    {
      fprintf (stderr, "weft-bench spell: %s\n", error->message);
      weft_bench_options_clear (&opts);
      return 1;
    }

  if (remaining != NULL && remaining[0] != NULL)
    input_path = g_strdup (remaining[0]);
  else if (opts.input != NULL)
    input_path = g_strdup (opts.input);

  if (input_path != NULL)
    {
      if (!g_file_get_contents (input_path, &text, &len, &error))
        goto fail;
    }
  else
    {
      g_autoptr (GPtrArray) dict = load_dictionary_words (&error);

      if (dict == NULL)
        goto fail;
      text = make_prose (dict, GENERATED_BYTES, 0x5745465453504C4CULL, &len);
      input_path = g_build_filename (tmpdir, "prose.txt", NULL);
      generated = TRUE;
      if (!g_file_set_contents (input_path, text, (gssize) len, &error))
        goto fail;
    }

  if (opts.backend == NULL || strcmp (opts.backend, "processes") != 0)
    kinds[n_kinds++] = "threads";
  if (opts.backend != NULL && strcmp (opts.backend, "threads") != 0)
    kinds[n_kinds++] = "processes";

  mirror = weft_text_new_from_utf8 (text, len);
  snap = weft_text_snapshot (mirror);

  /* Every backend's workers load their dictionaries once, before the timed
   * runs (a first, untimed pass), as in the editor. */
  load_t0 = weft_bench_now_ns ();
  for (size_t k = 0; k < n_kinds; k++)
    for (unsigned w = 1; w <= workers; w = w == 1 && workers > 1 ? workers : workers + 1)
      {
        Series *se = &series[n_series++];
        size_t warm_words;
        double warm_ms, warm_cpu;
        char *warm;

        se->backend = kinds[k];
        se->workers = w;
        se->be = strcmp (kinds[k], "threads") == 0
                 ? weft_thread_backend_new (w, ctx)
                 : weft_process_backend_new_full (w, worker_path, LANG_TAG, ctx, &error);
        if (se->be == NULL)
          goto fail;
        warm = run_backend (se->be, ctx, snap, text, &warm_words, &warm_ms, &warm_cpu, &error);
        if (warm == NULL)
          goto fail;
        g_free (warm);
      }
  weft_bench_print_note (&opts, "spell: loading the %s dictionaries and a first pass took %.0f ms",
                         LANG_TAG, weft_bench_elapsed_ms (load_t0, weft_bench_now_ns ()));

  series[n_series++] = (Series) { "hunspell", 1 };
  for (size_t s = 0; s < n_series; s++)
    {
      series[s].samples = g_new0 (double, runs);
      series[s].cpu_samples = g_new0 (double, runs);
      series[s].capacity = g_new0 (double, runs);
    }

  /* Round-robin, run by run, so that whatever else the machine does weighs
   * on every series alike and the ratios stay meaningful. hunspell -l takes
   * ten times longer than a pass, so it runs every HUNSPELL_EVERY rounds
   * (and in the first): its ratio is far from the bar, while the 1-vs-N
   * ratio needs the samples to see through a busy machine. The cores probe
   * runs between samples (bench-cores.h). */
  weft_bench_cores_init (&cores, MIN (workers, g_get_num_processors ()));
  for (int run = 0; run < runs; run++)
    {
      for (size_t s = 0; s < n_series; s++)
        {
          Series *se = &series[s];
          char *out;

          if (strcmp (se->backend, "hunspell") == 0)
            {
              if (run % HUNSPELL_EVERY != 0)
                continue;
              out = run_hunspell (input_path, &se->samples[se->n_samples],
                                  &se->cpu_samples[se->n_samples], &error);
            }
          else
            out = run_backend (se->be, ctx, snap, text, &n_words,
                               &se->samples[se->n_samples], &se->cpu_samples[se->n_samples],
                               &error);
          if (out == NULL)
            goto fail;
          se->capacity[se->n_samples] = weft_bench_cores_after (&cores);
          se->n_samples++;
          g_free (se->last_output);
          se->last_output = out;
        }
    }

  weft_bench_print_header (&opts);
  n_words_json = g_strdup_printf ("\"words\": %zu", n_words);
  for (size_t s = 0; s < n_series; s++)
    {
      WeftBenchRow row = { "spell", series[s].backend, (int) series[s].workers, len };
      WeftBenchRow cpu_row = row;
      g_autofree char *extra_json = NULL;

      /* Before the samples are sorted, away from their probes. */
      series[s].full = weft_bench_full_median (&cores, series[s].samples, series[s].capacity,
                                               series[s].n_samples);
      weft_bench_row_set_samples (&row, series[s].samples, series[s].n_samples);
      weft_bench_row_set_samples (&cpu_row, series[s].cpu_samples, series[s].n_samples);
      series[s].median_ms = row.median_ms;
      series[s].cpu_median_ms = cpu_row.median_ms;
      extra_json = g_strdup_printf ("%s, \"words_per_s\": %.0f, \"cpu_median_ms\": %.9g, "
                                    "\"median_ms_all_cores\": %.9g, \"runs_all_cores\": %zu",
                                    n_words_json, (double) n_words / (row.median_ms / 1000.0),
                                    cpu_row.median_ms, series[s].full.median_ms, series[s].full.n);
      row.extra_json = extra_json;
      weft_bench_print_row (&opts, &row);
    }

  {
    Series *hun = &series[n_series - 1];
    gboolean same = TRUE;
    gboolean bars_met = TRUE;
    size_t per_kind = (n_series - 1) / n_kinds;
    Series *many = &series[per_kind - 1];

    for (size_t k = 0; k < n_kinds; k++)
      {
        Series *one = &series[k * per_kind];
        Series *k_many = &series[k * per_kind + per_kind - 1];
        double speedup = one->median_ms / k_many->median_ms;
        double full_speedup = weft_bench_full_ratio (&one->full, &k_many->full);
        double vs_hunspell = hun->median_ms / k_many->median_ms;

        weft_bench_print_note (&opts, "spell %s: %zu words; %u workers vs 1: %.2fx over all samples, "
                                      "%.2fx over those with a core per thread (%zu and %zu of %zu) "
                                      "(bar %.1fx); %u workers vs hunspell -l: %.2fx (bar %.1fx)",
                               one->backend, n_words, k_many->workers, speedup, full_speedup,
                               one->full.n, k_many->full.n, one->n_samples, BAR_SPEEDUP,
                               k_many->workers, vs_hunspell, BAR_VS_HUNSPELL);
        weft_bench_print_note (&opts, "spell %s: worker CPU per pass (median): 1 worker %.0f ms, "
                                      "%u workers %.0f ms; hunspell -l %.0f ms",
                               one->backend, one->cpu_median_ms, k_many->workers,
                               k_many->cpu_median_ms, hun->cpu_median_ms);
        if ((k_many->workers > 1 && full_speedup < BAR_SPEEDUP) || vs_hunspell < BAR_VS_HUNSPELL)
          bars_met = FALSE;
      }
    if (n_kinds == 2)
      {
        Series *processes = &series[2 * per_kind - 1];
        double ratio = processes->median_ms / many->median_ms;
        double full = weft_bench_full_ratio (&processes->full, &many->full);

        weft_bench_print_note (&opts, "spell: processes take %.2fx the time of threads with %u workers "
                                      "over all samples, %.2fx over those with a core per thread "
                                      "(%zu and %zu of %zu) (bar 1.25x)",
                               ratio, many->workers, full, processes->full.n, many->full.n,
                               many->n_samples);
        if (full <= 0 || full > 1.25)
          bars_met = FALSE;
      }
    if (many->workers > 1)
      {
        g_autoptr (GError) probe_error = NULL;
        double capacity = hunspell_parallel_capacity (text, len, many->workers, &probe_error);

        weft_bench_print_note (&opts, "spell: the machine gave a core to each of %u threads in %zu of "
                                      "%zu probes (bench-cores.h)",
                               cores.n_threads, cores.n_full, cores.n_probes);
        if (capacity > 0)
          weft_bench_print_note (&opts, "spell: for reference, %u hunspell -l at once over parts of "
                                        "the first MB run %.2fx as fast as one after the other",
                                 many->workers, capacity);
        else
          weft_bench_print_note (&opts, "spell: hunspell -l on parts of the text failed: %s",
                                 probe_error->message);
      }

    for (size_t s = 0; s + 1 < n_series; s++)
      if (strcmp (series[s].last_output, hun->last_output) != 0)
        {
          g_autofree char *why = describe_difference (series[s].last_output, hun->last_output);

          weft_bench_print_note (&opts, "spell %s, %u workers: %s", series[s].backend,
                                 series[s].workers, why);
          same = FALSE;
        }
    if (same)
      weft_bench_print_note (&opts, "spell: misspelled list identical to hunspell -l (%zu words)",
                             count_lines (hun->last_output));

    if (output != NULL &&
        !g_file_set_contents (output, many->last_output, -1, &error))
      goto fail;

    /* A different list is a wrong result, whatever --check says. */
    if (!same || (opts.check && !bars_met))
      status = 1;
  }

  goto out;

fail:
  fprintf (stderr, "weft-bench spell: %s\n", error->message);
  status = 1;

out:
  for (size_t s = 0; s < n_series; s++)
    {
      if (series[s].be != NULL)
        weft_backend_shutdown (series[s].be, WEFT_SHUTDOWN_CANCEL, NULL, NULL);
      g_free (series[s].samples);
      g_free (series[s].cpu_samples);
      g_free (series[s].capacity);
      g_free (series[s].last_output);
    }
  /* The backends reap their workers and free themselves from ctx. */
  for (int i = 0; i < 1000 && g_main_context_pending (ctx); i++)
    g_main_context_iteration (ctx, FALSE);
  if (generated)
    g_unlink (input_path);
  remove_dir (tmpdir);
  weft_bench_options_clear (&opts);
  return status;
}
