/* weft-tokenize.c: splits UTF-8 text into the words a spell-checker should see, skipping URLs, paths and code. */
#include "config.h"

#include <string.h>

#include "weft-tokenize.h"

#define RIGHT_SINGLE_QUOTE 0x2019  /* ’, the typographic apostrophe */

typedef enum
{
  CHAR_OTHER,       /* separates runs and words; includes invalid bytes */
  CHAR_LETTER,      /* letters and combining marks */
  CHAR_DIGIT,
  CHAR_APOSTROPHE,  /* ' and ’ */
  CHAR_RUN_PUNCT,   /* - _ \ . : / ~ % * $ [ ] ? ! @: inside URLs and paths */
} CharClass;

typedef struct
{
  gunichar  c;       /* (gunichar) -1 for an invalid byte */
  CharClass klass;
  size_t    next;    /* byte offset of the following character */
} Char;

static inline CharClass
classify (gunichar c)
{
  if (c < 0x80)
    {
      if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
        return CHAR_LETTER;
      if (c >= '0' && c <= '9')
        return CHAR_DIGIT;
      switch (c)
        {
        case '\'':
          return CHAR_APOSTROPHE;
        case '-': case '_': case '\\': case '.': case ':': case '/': case '~':
        case '%': case '*': case '$': case '[': case ']': case '?': case '!':
        case '@':
          return CHAR_RUN_PUNCT;
        default:
          return CHAR_OTHER;
        }
    }

  if (c == RIGHT_SINGLE_QUOTE)
    return CHAR_APOSTROPHE;
  if (g_unichar_isalpha (c) || g_unichar_ismark (c))
    return CHAR_LETTER;
  /* Superscripts, fractions and non-ASCII decimal digits make a token a
   * number as much as 0-9 do. */
  if (g_unichar_isdigit (c) ||
      g_unichar_type (c) == G_UNICODE_OTHER_NUMBER ||
      g_unichar_type (c) == G_UNICODE_LETTER_NUMBER)
    return CHAR_DIGIT;
  return CHAR_OTHER;
}

static inline Char
char_at (const char *text,
         size_t      len,
         size_t      pos)
{
  unsigned char b = (unsigned char) text[pos];
  Char ch;

  if (b < 0x80)
    {
      ch.c = b;
      ch.klass = classify (b);
      ch.next = pos + 1;
      return ch;
    }

  ch.c = g_utf8_get_char_validated (text + pos, (gssize) (len - pos));
  if (ch.c == (gunichar) -1 || ch.c == (gunichar) -2)
    {
      ch.c = (gunichar) -1;
      ch.klass = CHAR_OTHER;
      ch.next = pos + 1;
      return ch;
    }

  ch.klass = classify (ch.c);
  ch.next = pos + (size_t) (g_utf8_next_char (text + pos) - (text + pos));
  return ch;
}

static inline gboolean
is_run_char (const Char *ch)
{
  return ch->klass != CHAR_OTHER;
}

/* Where hunspell's URL scanner starts a run: a word character (its WORDCHARS
 * include ’ but not ') or '/'. Starting runs in the same places keeps the
 * URL and e-mail decisions identical to hunspell -l's. */
static inline gboolean
is_run_start (const Char *ch)
{
  return ch->klass == CHAR_LETTER || ch->klass == CHAR_DIGIT ||
         ch->c == RIGHT_SINGLE_QUOTE || ch->c == '/';
}

/* Whether the whole run text[start, end) is a URL, address, path or code
 * identifier, none of whose words are checked. Every character these rules
 * look at is ASCII, so a byte scan suffices. */
static gboolean
run_is_skipped (const char *text,
                size_t      start,
                size_t      end)
{
  size_t trimmed = end;
  size_t n_separators = 0;
  gboolean has_extension = FALSE;

  if (text[start] == '/')
    return TRUE;

  if (end - start >= 4 && g_ascii_strncasecmp (text + start, "www.", 4) == 0)
    return TRUE;

  /* Sentence punctuation after a path is not part of it: "see src/main.c." */
  while (trimmed > start && strchr (".:?!", text[trimmed - 1]) != NULL)
    trimmed--;

  for (size_t i = start; i < end; i++)
    {
      switch (text[i])
        {
        case '@':
        case '_':
          return TRUE;
        case ':':
          if (i + 1 < end && text[i + 1] == '\\')
            return TRUE;
          if (i + 2 < end && text[i + 1] == '/' && text[i + 2] == '/')
            return TRUE;
          break;
        case '/':
        case '\\':
          if (i < trimmed)
            n_separators++;
          break;
        case '.':
          if (i + 1 < trimmed && g_ascii_isalnum (text[i + 1]))
            has_extension = TRUE;
          break;
        default:
          break;
        }
    }

  return n_separators >= 2 || (n_separators == 1 && has_extension);
}

/* A URL ("scheme://" or "www." in the run) goes on through the characters
 * URLs may hold beyond the run's, so that a query such as ?q=a&b=c is not
 * checked either; sentence punctuation at its end is left out. Returns the
 * new end of the run. */
static size_t
extend_url (const char *text,
            size_t      len,
            size_t      start,
            size_t      end)
{
  size_t pos = end;
  gboolean is_url = end - start >= 4 && g_ascii_strncasecmp (text + start, "www.", 4) == 0;

  for (size_t i = start; !is_url && i + 2 < end; i++)
    is_url = text[i] == ':' && text[i + 1] == '/' && text[i + 2] == '/';
  if (!is_url)
    return end;

  while (pos < len)
    {
      unsigned char c = (unsigned char) text[pos];

      if (c >= 0x80 || g_ascii_isalnum (c) ||
          (c != '\0' && strchr ("-._~:/?#[]@!$&'()*+,;=%", c) != NULL))
        pos++;
      else
        break;
    }
  while (pos > end && strchr (".,;:!?'()", text[pos - 1]) != NULL)
    pos--;

  return pos;
}

/* Reports the words of the run text[start, end), which is not skipped. */
static gboolean
tokenize_run (const char    *text,
              size_t         start,
              size_t         end,
              WeftTokenFunc  func,
              gpointer       user_data)
{
  size_t pos = start;

  while (pos < end)
    {
      Char ch = char_at (text, end, pos);
      size_t word_start;
      size_t word_end;
      gboolean has_digit = FALSE;
      gboolean is_camel = FALSE;
      gboolean prev_lower = FALSE;

      if (ch.klass != CHAR_LETTER && ch.klass != CHAR_DIGIT)
        {
          pos = ch.next;
          continue;
        }

      word_start = pos;
      word_end = pos;
      while (pos < end)
        {
          ch = char_at (text, end, pos);

          if (ch.klass == CHAR_LETTER)
            {
              gboolean upper = ch.c < 0x80 ? g_ascii_isupper ((char) ch.c)
                                           : (g_unichar_isupper (ch.c) || g_unichar_istitle (ch.c));

              if (prev_lower && upper)
                is_camel = TRUE;
              prev_lower = ch.c < 0x80 ? g_ascii_islower ((char) ch.c) : g_unichar_islower (ch.c);
            }
          else if (ch.klass == CHAR_DIGIT)
            {
              has_digit = TRUE;
              prev_lower = FALSE;
            }
          else if (ch.klass == CHAR_APOSTROPHE && ch.next < end)
            {
              /* The word so far ends in a letter or digit (it would have
               * stopped otherwise); the apostrophe is internal only if one
               * follows too. */
              Char after = char_at (text, end, ch.next);

              if (after.klass != CHAR_LETTER && after.klass != CHAR_DIGIT)
                break;
              prev_lower = FALSE;
            }
          else
            break;

          pos = ch.next;
          word_end = pos;
        }

      if (!has_digit && !is_camel &&
          !func (text, word_start, word_end - word_start, user_data))
        return FALSE;

      pos = word_end;
    }

  return TRUE;
}

gboolean
weft_tokenize (const char    *text,
               size_t         len,
               WeftTokenFunc  func,
               gpointer       user_data)
{
  size_t pos = 0;

  g_return_val_if_fail (text != NULL || len == 0, TRUE);
  g_return_val_if_fail (func != NULL, TRUE);

  while (pos < len)
    {
      Char ch = char_at (text, len, pos);
      size_t run_start = pos;

      if (!is_run_start (&ch))
        {
          pos = ch.next;
          continue;
        }

      pos = ch.next;
      while (pos < len)
        {
          ch = char_at (text, len, pos);
          if (!is_run_char (&ch))
            break;
          pos = ch.next;
        }

      if (run_is_skipped (text, run_start, pos))
        pos = extend_url (text, len, run_start, pos);
      else if (!tokenize_run (text, run_start, pos, func, user_data))
        return FALSE;
    }

  return TRUE;
}

static gboolean
append_range (const char *text,
              size_t      byte_off,
              size_t      byte_len,
              gpointer    user_data)
{
  WeftTokenRange range = { byte_off, byte_len };

  g_array_append_val ((GArray *) user_data, range);
  return TRUE;
}

GArray *
weft_tokenize_to_array (const char *text,
                        size_t      len)
{
  GArray *ranges = g_array_new (FALSE, FALSE, sizeof (WeftTokenRange));

  weft_tokenize (text, len, append_range, ranges);
  return ranges;
}
