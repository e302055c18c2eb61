/* weft-text.c: a persistent B-tree rope of UTF-8 chunks, edited by path copying and shared with workers as snapshots. */
#include "config.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "weft-error.h"
#include "weft-text.h"

/* Leaves hold at most LEAF_MAX_BYTES; every leaf but a lone root holds at
 * least LEAF_MIN_BYTES, which bounds the node count at n / LEAF_MIN_BYTES
 * however the text was typed. A chunk stays small enough that copying it on
 * each keystroke is cheap (typing measures ~3 us per key with a snapshot)
 * and large enough that a 63 MB document has ~40k leaves. Bulk
 * building fills leaves to LEAF_BUILD_BYTES so that typing into freshly
 * loaded text takes the in-leaf fast path. Splitting a leaf of more than
 * LEAF_MAX_BYTES in the middle must give two leaves of at least
 * LEAF_MIN_BYTES even after moving the cut to a char boundary. */
#define LEAF_MAX_BYTES     2048
#define LEAF_MIN_BYTES      512
#define LEAF_BUILD_BYTES   1536

/* Branch fan-out. MIN is MAX / 2 so that an over-full node splits into two
 * nodes that are both at least MIN. */
#define BRANCH_MAX_CHILDREN  16
#define BRANCH_MIN_CHILDREN   8

G_STATIC_ASSERT (LEAF_MIN_BYTES * 2 + 8 <= LEAF_MAX_BYTES);
G_STATIC_ASSERT (BRANCH_MIN_CHILDREN * 2 == BRANCH_MAX_CHILDREN);

/* Nodes are immutable once built: only ref_count ever changes, so any
 * thread holding a reference may read the rest without locks. */
typedef struct _WeftNode WeftNode;

struct _WeftNode
{
  /* Number of parents, texts and snapshots holding this node. Any thread;
   * atomic. */
  atomic_uint ref_count;
  /* 0 for a leaf; all children of a branch have the same height. */
  unsigned    height;
  size_t      n_bytes;
  size_t      n_chars;
  size_t      n_newlines;
};

typedef struct
{
  WeftNode  node;
  unsigned  n_children;
  WeftNode *children[BRANCH_MAX_CHILDREN];
} WeftBranch;

typedef struct
{
  WeftNode node;
  char     data[];  /* node.n_bytes bytes, not NUL-terminated */
} WeftLeaf;

/* Owned by the thread that edits the document; never shared. */
struct _WeftText
{
  WeftNode *root;     /* never NULL: an empty text is an empty leaf */
  uint64_t  version;
};

/* Immutable after weft_text_snapshot() returns, except ref_count. */
struct _WeftSnapshot
{
  /* Any thread; atomic. */
  atomic_uint ref_count;
  WeftNode   *root;
  uint64_t    version;
};

#define AS_BRANCH(n) ((WeftBranch *) (n))
#define AS_LEAF(n)   ((WeftLeaf *) (n))
#define IS_LEAF(n)   ((n)->height == 0)

static inline bool
is_continuation_byte (unsigned char b)
{
  return (b & 0xC0) == 0x80;
}

/* Number of bytes of @x whose top bit is set, for the word-at-a-time scan. */
static inline size_t
count_top_bits (uint64_t x)
{
  return (size_t) ((((x >> 7) & UINT64_C (0x0101010101010101)) * UINT64_C (0x0101010101010101)) >> 56);
}

static void
count_utf8 (const char *s,
            size_t      len,
            size_t     *n_chars,
            size_t     *n_newlines)
{
  const uint64_t high = UINT64_C (0x8080808080808080);
  const uint64_t low7 = UINT64_C (0x7F7F7F7F7F7F7F7F);
  const uint64_t newline = UINT64_C (0x0A0A0A0A0A0A0A0A);
  size_t chars = 0;
  size_t newlines = 0;
  size_t i = 0;

  /* Eight bytes at a time: this runs over every byte of a loaded file and
   * every rewritten leaf. A continuation byte is 10xxxxxx, so its top bit
   * is set and the next one clear; a byte equal to '\n' is one whose XOR
   * with '\n' is zero, found without carries between bytes. */
  for (; i + 8 <= len; i += 8)
    {
      uint64_t w, x;

      memcpy (&w, s + i, 8);
      chars += 8 - count_top_bits (w & ~(w << 1) & high);
      x = w ^ newline;
      newlines += 8 - count_top_bits ((((x & low7) + low7) | x) & high);
    }

  for (; i < len; i++)
    {
      unsigned char b = (unsigned char) s[i];

      chars += !is_continuation_byte (b);
      newlines += b == '\n';
    }

  *n_chars += chars;
  *n_newlines += newlines;
}

/* Byte index inside @s of the char @char_off, or @len at the end. */
static size_t
utf8_char_to_byte (const char *s,
                   size_t      len,
                   size_t      char_off)
{
  for (size_t i = 0; i < len; i++)
    {
      if (!is_continuation_byte ((unsigned char) s[i]))
        {
          if (char_off == 0)
            return i;
          char_off--;
        }
    }

  return len;
}

/* Byte index just past the @nth '\n' (1-based) in @s, which has at least
 * @nth of them. */
static size_t
utf8_newline_end (const char *s,
                  size_t      len,
                  size_t      nth)
{
  const char *p = s;
  const char *end = s + len;

  for (;;)
    {
      const char *nl = memchr (p, '\n', (size_t) (end - p));

      g_assert (nl != NULL);
      if (--nth == 0)
        return (size_t) (nl - s) + 1;
      p = nl + 1;
    }
}

/* Moves @off forward to the next char boundary of @s. */
static size_t
utf8_align_forward (const char *s,
                    size_t      len,
                    size_t      off)
{
  while (off < len && is_continuation_byte ((unsigned char) s[off]))
    off++;
  return off;
}

static inline WeftNode *
node_ref (WeftNode *node)
{
  /* A new reference is always made from an existing one, so nothing needs
   * ordering here. */
  atomic_fetch_add_explicit (&node->ref_count, 1, memory_order_relaxed);
  return node;
}

static void
node_unref (WeftNode *node)
{
  /* Release so that this thread's reads of the node happen before the free
   * in whichever thread drops the last reference, and acquire for that
   * thread. An acq_rel decrement rather than release + fence, because
   * ThreadSanitizer does not model standalone fences. */
  if (atomic_fetch_sub_explicit (&node->ref_count, 1, memory_order_acq_rel) != 1)
    return;

  if (!IS_LEAF (node))
    {
      WeftBranch *branch = AS_BRANCH (node);

      for (unsigned i = 0; i < branch->n_children; i++)
        node_unref (branch->children[i]);
    }

  g_free (node);
}

static void
node_clear (WeftNode **node)
{
  if (*node != NULL)
    node_unref (*node);
  *node = NULL;
}

/* A leaf holding the concatenation of up to three pieces, which keeps
 * in-leaf edits to one allocation and one copy. */
static WeftNode *
leaf_new3 (const char *a, size_t a_len,
           const char *b, size_t b_len,
           const char *c, size_t c_len)
{
  size_t len = a_len + b_len + c_len;
  WeftLeaf *leaf;

  g_assert (len <= LEAF_MAX_BYTES);

  leaf = g_malloc (sizeof (WeftLeaf) + len);
  atomic_init (&leaf->node.ref_count, 1);
  leaf->node.height = 0;
  leaf->node.n_bytes = len;
  leaf->node.n_chars = 0;
  leaf->node.n_newlines = 0;

  if (a_len > 0)
    memcpy (leaf->data, a, a_len);
  if (b_len > 0)
    memcpy (leaf->data + a_len, b, b_len);
  if (c_len > 0)
    memcpy (leaf->data + a_len + b_len, c, c_len);

  count_utf8 (leaf->data, len, &leaf->node.n_chars, &leaf->node.n_newlines);

  return &leaf->node;
}

static WeftNode *
leaf_new (const char *s,
          size_t      len)
{
  return leaf_new3 (s, len, NULL, 0, NULL, 0);
}

/* Takes ownership of the @n references in @children. */
static WeftNode *
branch_new (WeftNode * const *children,
            unsigned          n)
{
  WeftBranch *branch;

  g_assert (n >= 2 && n <= BRANCH_MAX_CHILDREN);
  g_assert (children[0]->height + 1 < WEFT_CHUNK_ITER_MAX_DEPTH);

  branch = g_new (WeftBranch, 1);
  atomic_init (&branch->node.ref_count, 1);
  branch->node.height = children[0]->height + 1;
  branch->node.n_bytes = 0;
  branch->node.n_chars = 0;
  branch->node.n_newlines = 0;
  branch->n_children = n;

  for (unsigned i = 0; i < n; i++)
    {
      g_assert (children[i]->height == children[0]->height);
      branch->children[i] = children[i];
      branch->node.n_bytes += children[i]->n_bytes;
      branch->node.n_chars += children[i]->n_chars;
      branch->node.n_newlines += children[i]->n_newlines;
    }

  return &branch->node;
}

static WeftNode *
branch_new2 (WeftNode *a,
             WeftNode *b)
{
  WeftNode *pair[2] = { a, b };

  return branch_new (pair, 2);
}

/* Whether @node may sit below another node without breaking the minimum
 * fill that keeps the tree compact. Only a root may be smaller. */
static bool
node_is_full_enough (const WeftNode *node)
{
  if (IS_LEAF (node))
    return node->n_bytes >= LEAF_MIN_BYTES;
  return AS_BRANCH (node)->n_children >= BRANCH_MIN_CHILDREN;
}

/* Moves the children of the branch @node, with a reference each, into @out,
 * and drops the caller's reference to @node. */
static unsigned
branch_take_children (WeftNode  *node,
                      WeftNode **out)
{
  WeftBranch *branch = AS_BRANCH (node);
  unsigned n = branch->n_children;

  g_assert (!IS_LEAF (node));

  for (unsigned i = 0; i < n; i++)
    out[i] = node_ref (branch->children[i]);
  node_unref (node);

  return n;
}

/* Joins two runs of same-height siblings (taking their references) into one
 * node, or into a new parent of two nodes when they do not fit in one. */
static WeftNode *
merge_children (WeftNode * const *a, unsigned n_a,
                WeftNode * const *b, unsigned n_b)
{
  WeftNode *all[2 * BRANCH_MAX_CHILDREN];
  unsigned n = n_a + n_b;
  unsigned half;

  g_assert (n >= 2 && n <= 2 * BRANCH_MAX_CHILDREN);

  memcpy (all, a, n_a * sizeof (WeftNode *));
  memcpy (all + n_a, b, n_b * sizeof (WeftNode *));

  if (n <= BRANCH_MAX_CHILDREN)
    return branch_new (all, n);

  half = n / 2;
  return branch_new2 (branch_new (all, half), branch_new (all + half, n - half));
}

/* Joins two leaves (taking their references), merging their bytes when one
 * of them is too small to stand alone. */
static WeftNode *
merge_leaves (WeftNode *a,
              WeftNode *b)
{
  char buf[2 * LEAF_MAX_BYTES];
  size_t len = a->n_bytes + b->n_bytes;
  size_t cut;
  WeftNode *result;

  if (node_is_full_enough (a) && node_is_full_enough (b))
    return branch_new2 (a, b);

  if (len <= LEAF_MAX_BYTES)
    {
      result = leaf_new3 (AS_LEAF (a)->data, a->n_bytes,
                          AS_LEAF (b)->data, b->n_bytes,
                          NULL, 0);
      node_unref (a);
      node_unref (b);
      return result;
    }

  memcpy (buf, AS_LEAF (a)->data, a->n_bytes);
  memcpy (buf + a->n_bytes, AS_LEAF (b)->data, b->n_bytes);
  node_unref (a);
  node_unref (b);

  cut = utf8_align_forward (buf, len, len / 2);
  return branch_new2 (leaf_new (buf, cut), leaf_new (buf + cut, len - cut));
}

/* Concatenates two trees of any heights, taking both references; either may
 * be NULL. O(|height difference| + 1) nodes are copied, so the result shares
 * nearly all of its nodes with the inputs. The result is balanced (all
 * leaves at the same depth) and no node in it has fewer than two children.
 *
 * The shorter tree is hung on the facing spine of the taller one at the
 * level where the heights match; a node that overflows splits in two and the
 * extra node is absorbed one level up, which is how the height can grow. */
static WeftNode *
concat (WeftNode *a,
        WeftNode *b)
{
  WeftNode *kids[BRANCH_MAX_CHILDREN];
  WeftNode *kids2[BRANCH_MAX_CHILDREN];
  WeftNode *joined;
  unsigned n, n2;

  if (a == NULL || a->n_bytes == 0)
    {
      if (a != NULL)
        node_unref (a);
      return b;
    }
  if (b == NULL || b->n_bytes == 0)
    {
      if (b != NULL)
        node_unref (b);
      return a;
    }

  if (a->height < b->height)
    {
      unsigned hb = b->height;

      n = branch_take_children (b, kids);
      if (a->height == hb - 1 && node_is_full_enough (a))
        return merge_children (&a, 1, kids, n);

      joined = concat (a, kids[0]);
      if (joined->height == hb - 1)
        return merge_children (&joined, 1, kids + 1, n - 1);

      n2 = branch_take_children (joined, kids2);
      return merge_children (kids2, n2, kids + 1, n - 1);
    }

  if (a->height > b->height)
    {
      unsigned ha = a->height;

      n = branch_take_children (a, kids);
      if (b->height == ha - 1 && node_is_full_enough (b))
        return merge_children (kids, n, &b, 1);

      joined = concat (kids[n - 1], b);
      if (joined->height == ha - 1)
        return merge_children (kids, n - 1, &joined, 1);

      n2 = branch_take_children (joined, kids2);
      return merge_children (kids, n - 1, kids2, n2);
    }

  if (IS_LEAF (a))
    return merge_leaves (a, b);

  if (node_is_full_enough (a) && node_is_full_enough (b))
    return branch_new2 (a, b);

  n = branch_take_children (a, kids);
  n2 = branch_take_children (b, kids2);
  return merge_children (kids, n, kids2, n2);
}

/* A new reference to a tree holding chars [@start, @end) of @node, with
 * @start < @end <= n_chars. Whole subtrees inside the range are shared. */
static WeftNode *
slice (WeftNode *node,
       size_t    start,
       size_t    end)
{
  WeftBranch *branch;
  WeftNode *whole[BRANCH_MAX_CHILDREN];
  WeftNode *head = NULL;
  WeftNode *middle = NULL;
  WeftNode *tail = NULL;
  unsigned n_whole = 0;
  size_t pos = 0;

  g_assert (start < end && end <= node->n_chars);

  if (start == 0 && end == node->n_chars)
    return node_ref (node);

  if (IS_LEAF (node))
    {
      const WeftLeaf *leaf = AS_LEAF (node);
      size_t b0 = utf8_char_to_byte (leaf->data, node->n_bytes, start);
      size_t b1 = b0 + utf8_char_to_byte (leaf->data + b0, node->n_bytes - b0, end - start);

      return leaf_new (leaf->data + b0, b1 - b0);
    }

  branch = AS_BRANCH (node);
  for (unsigned i = 0; i < branch->n_children && pos < end; i++)
    {
      WeftNode *child = branch->children[i];
      size_t child_end = pos + child->n_chars;

      if (child_end > start)
        {
          if (pos >= start && child_end <= end)
            whole[n_whole++] = node_ref (child);
          else if (pos < start)
            head = slice (child, start - pos, MIN (end, child_end) - pos);
          else
            tail = slice (child, 0, end - pos);
        }
      pos = child_end;
    }

  /* Whole children are already well-filled siblings, so they go in as one
   * node rather than one concatenation each. */
  if (n_whole == 1)
    middle = whole[0];
  else if (n_whole > 1)
    middle = branch_new (whole, n_whole);

  return concat (concat (head, middle), tail);
}

/* A balanced tree over a copy of @s, built bottom-up in O(@len); NULL when
 * @len is 0. */
static WeftNode *
build (const char *s,
       size_t      len)
{
  WeftNode **level;
  size_t n_leaves, n, pos = 0;
  WeftNode *root;

  if (len == 0)
    return NULL;
  if (len <= LEAF_MAX_BYTES)
    return leaf_new (s, len);

  /* Spread the bytes evenly so that no leaf ends up as a small remainder. */
  n_leaves = (len + LEAF_BUILD_BYTES - 1) / LEAF_BUILD_BYTES;
  level = g_new (WeftNode *, n_leaves);
  for (size_t i = 0; i < n_leaves; i++)
    {
      size_t end;

      if (i + 1 == n_leaves)
        end = len;
      else
        end = utf8_align_forward (s, len, pos + (len - pos) / (n_leaves - i));

      level[i] = leaf_new (s + pos, end - pos);
      pos = end;
    }

  /* Group each level into parents of 8..16 children; grouping evenly keeps
   * every group at least BRANCH_MIN_CHILDREN when there is more than one. */
  n = n_leaves;
  while (n > 1)
    {
      size_t n_groups = (n + BRANCH_MAX_CHILDREN - 1) / BRANCH_MAX_CHILDREN;
      size_t done = 0;

      for (size_t g = 0; g < n_groups; g++)
        {
          size_t size = (n - done) / (n_groups - g);

          level[g] = branch_new (level + done, (unsigned) size);
          done += size;
        }
      n = n_groups;
    }

  root = level[0];
  g_free (level);
  return root;
}

static WeftNode *
empty_leaf (void)
{
  return leaf_new (NULL, 0);
}

/* The path from the root to one leaf, for path copying. */
typedef struct
{
  WeftNode *nodes[WEFT_CHUNK_ITER_MAX_DEPTH];
  unsigned  slots[WEFT_CHUNK_ITER_MAX_DEPTH];  /* slots[i]: index of nodes[i + 1] in nodes[i] */
  unsigned  depth;                             /* nodes[depth - 1] is the leaf */
  size_t    leaf_char_off;                     /* chars before the leaf */
} LeafPath;

/* Finds the leaf holding @char_off. With @at_end_of_left, an offset on the
 * boundary between two leaves picks the left one (an insert appends to it);
 * otherwise the right one (a delete starts in it). */
static void
leaf_path_find (WeftNode *root,
                size_t    char_off,
                bool      at_end_of_left,
                LeafPath *path)
{
  WeftNode *node = root;

  path->depth = 0;
  path->leaf_char_off = 0;

  while (!IS_LEAF (node))
    {
      WeftBranch *branch = AS_BRANCH (node);
      unsigned i;

      for (i = 0; i + 1 < branch->n_children; i++)
        {
          size_t n_chars = branch->children[i]->n_chars;

          if (at_end_of_left ? char_off <= n_chars : char_off < n_chars)
            break;
          char_off -= n_chars;
          path->leaf_char_off += n_chars;
        }

      path->nodes[path->depth] = node;
      path->slots[path->depth] = i;
      path->depth++;
      node = branch->children[i];
    }

  path->nodes[path->depth++] = node;
}

/* A new root equal to the old one with the leaf at the end of @path replaced
 * by @leaf (whose reference is taken). Copies only the nodes on the path. */
static WeftNode *
leaf_path_replace (const LeafPath *path,
                   WeftNode       *leaf)
{
  const WeftNode *old_leaf = path->nodes[path->depth - 1];
  WeftNode *child = leaf;

  for (unsigned level = path->depth - 1; level-- > 0;)
    {
      const WeftBranch *old = AS_BRANCH (path->nodes[level]);
      WeftBranch *copy = g_new (WeftBranch, 1);

      atomic_init (&copy->node.ref_count, 1);
      copy->node.height = old->node.height;
      /* Unsigned wrap-around makes "old - removed + added" exact. */
      copy->node.n_bytes = old->node.n_bytes - old_leaf->n_bytes + leaf->n_bytes;
      copy->node.n_chars = old->node.n_chars - old_leaf->n_chars + leaf->n_chars;
      copy->node.n_newlines = old->node.n_newlines - old_leaf->n_newlines + leaf->n_newlines;
      copy->n_children = old->n_children;

      for (unsigned i = 0; i < old->n_children; i++)
        {
          if (i == path->slots[level])
            copy->children[i] = child;
          else
            copy->children[i] = node_ref (old->children[i]);
        }

      child = &copy->node;
    }

  return child;
}

/* Insert by rewriting one leaf when the result still fits in it; NULL when
 * the general path must be taken. */
static WeftNode *
insert_in_leaf (WeftNode   *root,
                size_t      char_off,
                const char *utf8,
                size_t      len)
{
  LeafPath path;
  const WeftLeaf *leaf;
  size_t byte_off;

  leaf_path_find (root, char_off, true, &path);
  leaf = AS_LEAF (path.nodes[path.depth - 1]);
  if (leaf->node.n_bytes + len > LEAF_MAX_BYTES)
    return NULL;

  byte_off = utf8_char_to_byte (leaf->data, leaf->node.n_bytes, char_off - path.leaf_char_off);
  return leaf_path_replace (&path,
                            leaf_new3 (leaf->data, byte_off,
                                       utf8, len,
                                       leaf->data + byte_off, leaf->node.n_bytes - byte_off));
}

/* Delete inside one leaf when the leaf stays full enough; NULL otherwise. */
static WeftNode *
delete_in_leaf (WeftNode *root,
                size_t    char_off,
                size_t    n_chars)
{
  LeafPath path;
  const WeftLeaf *leaf;
  size_t start, b0, b1;

  leaf_path_find (root, char_off, false, &path);
  leaf = AS_LEAF (path.nodes[path.depth - 1]);
  start = char_off - path.leaf_char_off;
  if (start + n_chars > leaf->node.n_chars)
    return NULL;

  b0 = utf8_char_to_byte (leaf->data, leaf->node.n_bytes, start);
  b1 = b0 + utf8_char_to_byte (leaf->data + b0, leaf->node.n_bytes - b0, n_chars);
  if (path.depth > 1 && leaf->node.n_bytes - (b1 - b0) < LEAF_MIN_BYTES)
    return NULL;

  return leaf_path_replace (&path,
                            leaf_new3 (leaf->data, b0,
                                       leaf->data + b1, leaf->node.n_bytes - b1,
                                       NULL, 0));
}

/* The general edit: chars [@start, @end) replaced by @len bytes of @utf8, as
 * slice + build + concat. O(log n) nodes copied plus O(@len). */
static WeftNode *
splice (WeftNode   *root,
        size_t      start,
        size_t      end,
        const char *utf8,
        size_t      len)
{
  WeftNode *head = start > 0 ? slice (root, 0, start) : NULL;
  WeftNode *tail = end < root->n_chars ? slice (root, end, root->n_chars) : NULL;
  WeftNode *result;

  result = concat (concat (head, build (utf8, len)), tail);
  return result != NULL ? result : empty_leaf ();
}

WeftText *
weft_text_new (void)
{
  WeftText *text = g_new0 (WeftText, 1);

  text->root = empty_leaf ();
  return text;
}

/* The length of the valid UTF-8 sequence at @p, which has @n bytes left,
 * or 0: NUL, a stray or missing continuation byte, an overlong form, a
 * surrogate or a code point past U+10FFFF (as GLib rules). */
static size_t
utf8_sequence (const guchar *p,
               size_t        n)
{
  guint32 c;
  size_t len;

  if (p[0] < 0x80)
    return p[0] != 0;
  if (p[0] < 0xC2)
    return 0;
  if (p[0] < 0xE0)
    len = 2, c = p[0] & 0x1F;
  else if (p[0] < 0xF0)
    len = 3, c = p[0] & 0x0F;
  else if (p[0] < 0xF5)
    len = 4, c = p[0] & 0x07;
  else
    return 0;
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++)
    {
      if ((p[i] & 0xC0) != 0x80)
        return 0;
      c = (c << 6) | (p[i] & 0x3F);
    }
  if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || c > 0x10FFFF ||
      (c >= 0xD800 && c <= 0xDFFF))
    return 0;
  return len;
}

gboolean
weft_utf8_validate (const char  *text,
                    size_t       len,
                    const char **end)
{
  const guint64 ones = G_GUINT64_CONSTANT (0x0101010101010101);
  const guint64 highs = G_GUINT64_CONSTANT (0x8080808080808080);
  const guchar *p = (const guchar *) text, *stop = p + len;

  g_return_val_if_fail (text != NULL || len == 0, FALSE);

  while (p < stop)
    {
      size_t n;

      /* Eight bytes at a time, up to the first that has its high bit set
       * or is zero. (v - ones) & ~v flags zero bytes, and may flag bytes
       * after the first flagged one too, but never one before it. */
      while ((size_t) (stop - p) >= 8)
        {
          guint64 v, flagged;

          memcpy (&v, p, 8);
          v = GUINT64_FROM_LE (v);
          flagged = (v | ((v - ones) & ~v)) & highs;
          if (flagged != 0)
            {
              p += __builtin_ctzll (flagged) / 8;
              break;
            }
          p += 8;
        }
      if (p == stop)
        break;
      n = utf8_sequence (p, (size_t) (stop - p));
      if (n == 0)
        {
          if (end != NULL)
            *end = (const char *) p;
          return FALSE;
        }
      p += n;
    }
  if (end != NULL)
    *end = (const char *) stop;
  return TRUE;
}

WeftText *
weft_text_new_from_utf8 (const char *utf8,
                         size_t      len)
{
  WeftText *text;

  g_return_val_if_fail (utf8 != NULL || len == 0, NULL);
  g_return_val_if_fail (len == 0 || weft_utf8_validate (utf8, len, NULL), NULL);

  text = g_new0 (WeftText, 1);
  text->root = build (utf8, len);
  if (text->root == NULL)
    text->root = empty_leaf ();
  return text;
}

void
weft_text_free (WeftText *text)
{
  if (text == NULL)
    return;

  node_clear (&text->root);
  g_free (text);
}

static void
text_set_root (WeftText *text,
               WeftNode *root)
{
  node_unref (text->root);
  text->root = root;
  text->version++;
}

void
weft_text_insert (WeftText   *text,
                  size_t      char_off,
                  const char *utf8,
                  size_t      len)
{
  WeftNode *root;

  g_return_if_fail (text != NULL);
  g_return_if_fail (utf8 != NULL || len == 0);
  g_return_if_fail (char_off <= text->root->n_chars);

  if (len == 0)
    return;

  g_return_if_fail (weft_utf8_validate (utf8, len, NULL));

  root = insert_in_leaf (text->root, char_off, utf8, len);
  if (root == NULL)
    root = splice (text->root, char_off, char_off, utf8, len);
  text_set_root (text, root);
}

void
weft_text_delete (WeftText *text,
                  size_t    char_off,
                  size_t    n_chars)
{
  WeftNode *root;

  g_return_if_fail (text != NULL);
  g_return_if_fail (char_off <= text->root->n_chars);
  g_return_if_fail (n_chars <= text->root->n_chars - char_off);

  if (n_chars == 0)
    return;

  root = delete_in_leaf (text->root, char_off, n_chars);
  if (root == NULL)
    root = splice (text->root, char_off, char_off + n_chars, NULL, 0);
  text_set_root (text, root);
}

uint64_t
weft_text_get_version (const WeftText *text)
{
  g_return_val_if_fail (text != NULL, 0);
  return text->version;
}

size_t
weft_text_get_n_bytes (const WeftText *text)
{
  g_return_val_if_fail (text != NULL, 0);
  return text->root->n_bytes;
}

size_t
weft_text_get_n_chars (const WeftText *text)
{
  g_return_val_if_fail (text != NULL, 0);
  return text->root->n_chars;
}

size_t
weft_text_get_n_lines (const WeftText *text)
{
  g_return_val_if_fail (text != NULL, 0);
  return text->root->n_newlines + 1;
}

WeftSnapshot *
weft_text_snapshot (WeftText *text)
{
  WeftSnapshot *snap;

  g_return_val_if_fail (text != NULL, NULL);

  snap = g_new (WeftSnapshot, 1);
  atomic_init (&snap->ref_count, 1);
  snap->root = node_ref (text->root);
  snap->version = text->version;
  return snap;
}

WeftSnapshot *
weft_snapshot_ref (WeftSnapshot *snap)
{
  g_return_val_if_fail (snap != NULL, NULL);

  atomic_fetch_add_explicit (&snap->ref_count, 1, memory_order_relaxed);
  return snap;
}

void
weft_snapshot_unref (WeftSnapshot *snap)
{
  g_return_if_fail (snap != NULL);

  /* acq_rel for the same reason as in node_unref(). */
  if (atomic_fetch_sub_explicit (&snap->ref_count, 1, memory_order_acq_rel) != 1)
    return;

  node_unref (snap->root);
  g_free (snap);
}

uint64_t
weft_snapshot_get_version (const WeftSnapshot *snap)
{
  g_return_val_if_fail (snap != NULL, 0);
  return snap->version;
}

size_t
weft_snapshot_get_n_bytes (const WeftSnapshot *snap)
{
  g_return_val_if_fail (snap != NULL, 0);
  return snap->root->n_bytes;
}

size_t
weft_snapshot_get_n_chars (const WeftSnapshot *snap)
{
  g_return_val_if_fail (snap != NULL, 0);
  return snap->root->n_chars;
}

size_t
weft_snapshot_get_n_lines (const WeftSnapshot *snap)
{
  g_return_val_if_fail (snap != NULL, 0);
  return snap->root->n_newlines + 1;
}

/* The mappings below all descend once from the root, choosing at each level
 * the child that holds the target and adding up the counts of the children
 * skipped, then finish with a scan of one leaf. */

size_t
weft_snapshot_char_to_byte (const WeftSnapshot *snap,
                            size_t              char_off)
{
  const WeftNode *node;
  size_t bytes = 0;

  g_return_val_if_fail (snap != NULL, 0);
  g_return_val_if_fail (char_off <= snap->root->n_chars, snap->root->n_bytes);

  for (node = snap->root; !IS_LEAF (node);)
    {
      const WeftBranch *branch = AS_BRANCH (node);
      unsigned i;

      for (i = 0; i + 1 < branch->n_children; i++)
        {
          const WeftNode *child = branch->children[i];

          if (char_off < child->n_chars)
            break;
          char_off -= child->n_chars;
          bytes += child->n_bytes;
        }
      node = branch->children[i];
    }

  return bytes + utf8_char_to_byte (AS_LEAF (node)->data, node->n_bytes, char_off);
}

/* The leaf holding @byte_off, and where it starts in bytes, chars and
 * newlines (each out pointer may be NULL). */
static const WeftLeaf *
find_leaf (const WeftNode *node,
           size_t          byte_off,
           size_t         *out_byte,
           size_t         *out_char,
           size_t         *out_newlines)
{
  size_t bytes = 0;
  size_t chars = 0;
  size_t newlines = 0;

  while (!IS_LEAF (node))
    {
      const WeftBranch *branch = AS_BRANCH (node);
      unsigned i;

      for (i = 0; i + 1 < branch->n_children; i++)
        {
          const WeftNode *child = branch->children[i];

          if (byte_off < child->n_bytes)
            break;
          byte_off -= child->n_bytes;
          bytes += child->n_bytes;
          chars += child->n_chars;
          newlines += child->n_newlines;
        }
      node = branch->children[i];
    }
  if (out_byte != NULL)
    *out_byte = bytes;
  if (out_char != NULL)
    *out_char = chars;
  if (out_newlines != NULL)
    *out_newlines = newlines;
  return AS_LEAF (node);
}

/* Shared by byte_to_char and byte_to_line: counts the chars and the
 * newlines before @byte_off, descending once to the leaf that holds it. */
static void
count_before_byte (const WeftNode *node,
                   size_t          byte_off,
                   size_t         *out_chars,
                   size_t         *out_newlines)
{
  size_t leaf_byte;
  const WeftLeaf *leaf = find_leaf (node, byte_off, &leaf_byte, out_chars, out_newlines);

  count_utf8 (leaf->data, byte_off - leaf_byte, out_chars, out_newlines);
}

size_t
weft_snapshot_byte_to_char (const WeftSnapshot *snap,
                            size_t              byte_off)
{
  size_t chars, newlines;

  g_return_val_if_fail (snap != NULL, 0);
  g_return_val_if_fail (byte_off <= snap->root->n_bytes, snap->root->n_chars);

  count_before_byte (snap->root, byte_off, &chars, &newlines);
  return chars;
}

void
weft_snapshot_bytes_to_chars (const WeftSnapshot *snap,
                              const size_t       *byte_offs,
                              size_t              n,
                              size_t             *out_chars)
{
  const WeftLeaf *leaf = NULL;
  size_t leaf_byte = 0;   /* where @leaf starts */
  size_t at_byte = 0;     /* the last offset converted, in @leaf */
  size_t at_char = 0;

  g_return_if_fail (snap != NULL);
  g_return_if_fail (n == 0 || (byte_offs != NULL && out_chars != NULL));

  for (size_t i = 0; i < n; i++)
    {
      size_t off = MIN (byte_offs[i], snap->root->n_bytes);
      size_t chars = 0, newlines = 0;

      if (leaf == NULL || off < at_byte || off > leaf_byte + leaf->node.n_bytes)
        {
          leaf = find_leaf (snap->root, off, &leaf_byte, &at_char, NULL);
          at_byte = leaf_byte;
        }
      count_utf8 (leaf->data + (at_byte - leaf_byte), off - at_byte, &chars, &newlines);
      at_byte = off;
      at_char += chars;
      out_chars[i] = at_char;
    }
}

/* Shared by line_to_byte and line_to_char: descends to the leaf holding the
 * @line-th '\n' (1-based) and returns the offset just past it in both units. */
static void
find_line_start (const WeftNode *node,
                 size_t          line,
                 size_t         *out_byte,
                 size_t         *out_char)
{
  size_t bytes = 0;
  size_t chars = 0;
  size_t newlines = 0;
  size_t in_leaf;

  if (line == 0)
    {
      *out_byte = 0;
      if (out_char != NULL)
        *out_char = 0;
      return;
    }

  while (!IS_LEAF (node))
    {
      const WeftBranch *branch = AS_BRANCH (node);
      unsigned i;

      for (i = 0; i + 1 < branch->n_children; i++)
        {
          const WeftNode *child = branch->children[i];

          if (line <= child->n_newlines)
            break;
          line -= child->n_newlines;
          bytes += child->n_bytes;
          chars += child->n_chars;
        }
      node = branch->children[i];
    }

  in_leaf = utf8_newline_end (AS_LEAF (node)->data, node->n_bytes, line);
  if (out_char != NULL)
    count_utf8 (AS_LEAF (node)->data, in_leaf, &chars, &newlines);

  *out_byte = bytes + in_leaf;
  if (out_char != NULL)
    *out_char = chars;
}

size_t
weft_snapshot_line_to_byte (const WeftSnapshot *snap,
                            size_t              line)
{
  size_t byte_off;

  g_return_val_if_fail (snap != NULL, 0);
  g_return_val_if_fail (line <= snap->root->n_newlines, snap->root->n_bytes);

  find_line_start (snap->root, line, &byte_off, NULL);
  return byte_off;
}

size_t
weft_snapshot_line_to_char (const WeftSnapshot *snap,
                            size_t              line)
{
  size_t byte_off, char_off;

  g_return_val_if_fail (snap != NULL, 0);
  g_return_val_if_fail (line <= snap->root->n_newlines, snap->root->n_chars);

  find_line_start (snap->root, line, &byte_off, &char_off);
  return char_off;
}

size_t
weft_snapshot_byte_to_line (const WeftSnapshot *snap,
                            size_t              byte_off)
{
  size_t chars, newlines;

  g_return_val_if_fail (snap != NULL, 0);
  g_return_val_if_fail (byte_off <= snap->root->n_bytes, snap->root->n_newlines);

  count_before_byte (snap->root, byte_off, &chars, &newlines);
  return newlines;
}

size_t
weft_snapshot_char_to_line (const WeftSnapshot *snap,
                            size_t              char_off)
{
  const WeftNode *node;
  size_t newlines = 0;
  size_t chars = 0;

  g_return_val_if_fail (snap != NULL, 0);
  g_return_val_if_fail (char_off <= snap->root->n_chars, snap->root->n_newlines);

  for (node = snap->root; !IS_LEAF (node);)
    {
      const WeftBranch *branch = AS_BRANCH (node);
      unsigned i;

      for (i = 0; i + 1 < branch->n_children; i++)
        {
          const WeftNode *child = branch->children[i];

          if (char_off < child->n_chars)
            break;
          char_off -= child->n_chars;
          newlines += child->n_newlines;
        }
      node = branch->children[i];
    }

  count_utf8 (AS_LEAF (node)->data,
              utf8_char_to_byte (AS_LEAF (node)->data, node->n_bytes, char_off),
              &chars, &newlines);
  return newlines;
}

void
weft_chunk_iter_init (WeftChunkIter      *iter,
                      const WeftSnapshot *snap,
                      size_t              byte_off,
                      size_t              len)
{
  const WeftNode *node;

  g_return_if_fail (iter != NULL);
  g_return_if_fail (snap != NULL);

  iter->depth = 0;
  iter->skip = 0;
  iter->remaining = 0;

  g_return_if_fail (byte_off <= snap->root->n_bytes);

  iter->remaining = MIN (len, snap->root->n_bytes - byte_off);
  if (iter->remaining == 0)
    return;

  for (node = snap->root; !IS_LEAF (node);)
    {
      const WeftBranch *branch = AS_BRANCH (node);
      unsigned i;

      for (i = 0; i + 1 < branch->n_children; i++)
        {
          if (byte_off < branch->children[i]->n_bytes)
            break;
          byte_off -= branch->children[i]->n_bytes;
        }

      iter->nodes[iter->depth] = node;
      iter->slots[iter->depth] = (uint8_t) i;
      iter->depth++;
      node = branch->children[i];
    }

  iter->nodes[iter->depth++] = node;
  iter->skip = byte_off;
}

gboolean
weft_chunk_iter_next (WeftChunkIter  *iter,
                      const char    **data,
                      size_t         *len)
{
  const WeftNode *leaf;
  const WeftNode *node;
  size_t n;
  unsigned level;

  g_return_val_if_fail (iter != NULL, FALSE);

  if (iter->remaining == 0)
    return FALSE;

  leaf = iter->nodes[iter->depth - 1];
  n = MIN (leaf->n_bytes - iter->skip, iter->remaining);
  *data = AS_LEAF (leaf)->data + iter->skip;
  *len = n;

  iter->skip = 0;
  iter->remaining -= n;
  if (iter->remaining == 0)
    return TRUE;

  /* Step to the next leaf: climb to the nearest ancestor with a right
   * sibling to visit, then take its leftmost path down. */
  level = iter->depth - 1;
  while (level > 0 &&
         iter->slots[level - 1] + 1u == AS_BRANCH (iter->nodes[level - 1])->n_children)
    level--;
  g_assert (level > 0);

  iter->slots[level - 1]++;
  node = AS_BRANCH (iter->nodes[level - 1])->children[iter->slots[level - 1]];
  while (!IS_LEAF (node))
    {
      iter->nodes[level] = node;
      iter->slots[level] = 0;
      level++;
      node = AS_BRANCH (node)->children[0];
    }
  iter->nodes[level] = node;
  g_assert (level == iter->depth - 1);

  return TRUE;
}

void
weft_snapshot_copy_range (const WeftSnapshot *snap,
                          size_t              byte_off,
                          size_t              len,
                          char               *dest)
{
  WeftChunkIter iter;
  const char *data;
  size_t n;

  g_return_if_fail (snap != NULL);
  g_return_if_fail (dest != NULL || len == 0);
  g_return_if_fail (byte_off <= snap->root->n_bytes);
  g_return_if_fail (len <= snap->root->n_bytes - byte_off);

  weft_chunk_iter_init (&iter, snap, byte_off, len);
  while (weft_chunk_iter_next (&iter, &data, &n))
    {
      memcpy (dest, data, n);
      dest += n;
    }
}

char *
weft_snapshot_dup_utf8 (const WeftSnapshot *snap,
                        size_t             *out_len)
{
  size_t len;
  char *s;

  g_return_val_if_fail (snap != NULL, NULL);

  len = snap->root->n_bytes;
  s = g_malloc (len + 1);
  weft_snapshot_copy_range (snap, 0, len, s);
  s[len] = '\0';

  if (out_len != NULL)
    *out_len = len;
  return s;
}

gboolean
weft_snapshot_same_text (const WeftSnapshot *a,
                         const WeftSnapshot *b)
{
  WeftChunkIter ia, ib;
  const char *pa = NULL, *pb = NULL;
  size_t la = 0, lb = 0;

  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  if (a->root == b->root)
    return TRUE;
  if (a->root->n_bytes != b->root->n_bytes || a->root->n_chars != b->root->n_chars)
    return FALSE;

  weft_chunk_iter_init (&ia, a, 0, SIZE_MAX);
  weft_chunk_iter_init (&ib, b, 0, SIZE_MAX);
  for (;;)
    {
      size_t n;

      if (la == 0 && !weft_chunk_iter_next (&ia, &pa, &la))
        return TRUE;   /* same length, so b is done too */
      if (lb == 0)
        weft_chunk_iter_next (&ib, &pb, &lb);
      n = MIN (la, lb);
      /* Versions of one text share most leaves: those compare by address. */
      if (pa != pb && memcmp (pa, pb, n) != 0)
        return FALSE;
      pa += n, la -= n;
      pb += n, lb -= n;
    }
}

static size_t
count_leaves (const WeftNode *node)
{
  size_t n = 0;

  if (IS_LEAF (node))
    return 1;

  for (unsigned i = 0; i < AS_BRANCH (node)->n_children; i++)
    n += count_leaves (AS_BRANCH (node)->children[i]);
  return n;
}

size_t
weft_snapshot_get_n_chunks (const WeftSnapshot *snap)
{
  g_return_val_if_fail (snap != NULL, 0);
  return snap->root->n_bytes == 0 ? 0 : count_leaves (snap->root);
}

static gboolean
check_node (const WeftNode  *node,
            gboolean         is_root,
            GError         **error)
{
  size_t n_bytes = 0, n_chars = 0, n_newlines = 0;

  if (atomic_load_explicit (&((WeftNode *) node)->ref_count, memory_order_relaxed) == 0)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_FAILED, "node with no reference");
      return FALSE;
    }

  if (!is_root && !node_is_full_enough (node))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_FAILED,
                   "under-filled node of height %u below the root", node->height);
      return FALSE;
    }

  if (IS_LEAF (node))
    {
      const WeftLeaf *leaf = AS_LEAF (node);

      if (node->n_bytes > LEAF_MAX_BYTES)
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_FAILED,
                       "leaf of %zu bytes exceeds %d", node->n_bytes, LEAF_MAX_BYTES);
          return FALSE;
        }
      if (node->n_bytes == 0 && !is_root)
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_FAILED, "empty leaf below the root");
          return FALSE;
        }
      if (node->n_bytes > 0 && !weft_utf8_validate (leaf->data, node->n_bytes, NULL))
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_FAILED,
                       "leaf of %zu bytes splits a UTF-8 sequence", node->n_bytes);
          return FALSE;
        }

      count_utf8 (leaf->data, node->n_bytes, &n_chars, &n_newlines);
      n_bytes = node->n_bytes;
    }
  else
    {
      const WeftBranch *branch = AS_BRANCH (node);

      if (branch->n_children < 2 || branch->n_children > BRANCH_MAX_CHILDREN)
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_FAILED,
                       "branch with %u children", branch->n_children);
          return FALSE;
        }

      for (unsigned i = 0; i < branch->n_children; i++)
        {
          const WeftNode *child = branch->children[i];

          if (child->height + 1 != node->height)
            {
              g_set_error (error, WEFT_ERROR, WEFT_ERROR_FAILED,
                           "child of height %u under a node of height %u",
                           child->height, node->height);
              return FALSE;
            }
          if (!check_node (child, FALSE, error))
            return FALSE;

          n_bytes += child->n_bytes;
          n_chars += child->n_chars;
          n_newlines += child->n_newlines;
        }
    }

  if (n_bytes != node->n_bytes || n_chars != node->n_chars || n_newlines != node->n_newlines)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_FAILED,
                   "node at height %u caches %zu/%zu/%zu bytes/chars/newlines, holds %zu/%zu/%zu",
                   node->height, node->n_bytes, node->n_chars, node->n_newlines,
                   n_bytes, n_chars, n_newlines);
      return FALSE;
    }

  return TRUE;
}

gboolean
weft_snapshot_check (const WeftSnapshot  *snap,
                     GError             **error)
{
  g_return_val_if_fail (snap != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return check_node (snap->root, TRUE, error);
}
