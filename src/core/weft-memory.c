/* weft-memory.c: large blocks on transparent huge pages. */
#include "config.h"

#include "weft-memory.h"

#include <stdlib.h>
#include <sys/mman.h>

/* A transparent huge page on x86-64 and arm64 with 4 KB base pages. */
#define HUGE_PAGE ((size_t) 2 << 20)

void *
weft_alloc_large (size_t size)
{
  void *p;

  if (size < 2 * HUGE_PAGE)
    return g_malloc (MAX (1, size));
  if (posix_memalign (&p, HUGE_PAGE, size) != 0)
    g_error ("%s: failed to allocate %" G_GSIZE_FORMAT " bytes", G_STRLOC, size);
#ifdef MADV_HUGEPAGE
  /* Advice only: where huge pages are off, or the kernel has none free,
   * the block is made of small pages as before. Only whole huge pages
   * inside the block are marked. */
  (void) madvise (p, size & ~(HUGE_PAGE - 1), MADV_HUGEPAGE);
#endif
  return p;
}
