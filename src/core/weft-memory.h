/* weft-memory.h: memory for the large tables and texts that workers scan at random. */
#pragma once

#include <stddef.h>

#include <glib.h>

G_BEGIN_DECLS

/* @size bytes, uninitialised, freed with g_free(); aborts when memory runs
 * out, as g_malloc() does. From 4 MB up the block starts on a 2 MB
 * boundary and is marked for transparent huge pages (where the system has
 * them on "madvise" or "always"). A sort reads its lines in random order:
 * over 63 MB of 4 KB pages nearly every line costs a TLB miss, and the
 * text and tables took tens of thousands of page faults, which two
 * workers in one process take under the same kernel locks. */
void *weft_alloc_large (size_t size);

#define weft_new_large(type, n) ((type *) weft_alloc_large (sizeof (type) * (n)))

G_END_DECLS
