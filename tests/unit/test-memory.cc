// test-memory.cc: large blocks on transparent huge pages (weft-memory.c).
#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include <sys/mman.h>

extern "C" {
#include "weft-memory.h"
}

namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// The VmFlags line of the mapping that holds @addr in /proc/self/smaps.
std::string
VmFlagsOf (const void *addr)
{
  char *contents = nullptr;
  std::string flags;
  bool inside = false;

  if (!g_file_get_contents ("/proc/self/smaps", &contents, nullptr, nullptr))
    return flags;
  gchar **lines = g_strsplit (contents, "\n", -1);
  for (gchar **l = lines; *l != nullptr; l++)
    {
      uintptr_t lo, hi;

      // A mapping's first line: "lo-hi perms ..."; its fields follow.
      if (sscanf (*l, "%" SCNxPTR "-%" SCNxPTR " ", &lo, &hi) == 2)
        inside = (uintptr_t) addr >= lo && (uintptr_t) addr < hi;
      else if (inside && g_str_has_prefix (*l, "VmFlags:"))
        {
          flags = *l + strlen ("VmFlags:");
          break;
        }
    }
  g_strfreev (lines);
  g_free (contents);
  return flags + " ";
}

TEST (Memory, SmallBlocksAreUsable)
{
  for (size_t size : { size_t{0}, size_t{1}, size_t{4096}, 4 * kHugePage - 1 })
    {
      auto *p = static_cast<unsigned char *> (weft_alloc_large (size));

      ASSERT_NE (p, nullptr) << size;
      memset (p, 0xA5, size);
      for (size_t i = 0; i < size; i += 4096)
        EXPECT_EQ (p[i], 0xA5);
      g_free (p);
    }
}

TEST (Memory, LargeBlocksStartOnAHugePageAndAreMarked)
{
  size_t size = 5 * kHugePage + 123;
  auto *p = static_cast<unsigned char *> (weft_alloc_large (size));

  ASSERT_NE (p, nullptr);
  EXPECT_EQ ((uintptr_t) p % kHugePage, 0u);
  memset (p, 0x5A, size);
  EXPECT_EQ (p[0], 0x5A);
  EXPECT_EQ (p[size - 1], 0x5A);
#ifdef MADV_HUGEPAGE
  // "hg": the mapping carries MADV_HUGEPAGE, whatever the system then does
  // with it (huge pages off, or none free, leave it on small pages).
  EXPECT_NE (VmFlagsOf (p).find (" hg "), std::string::npos) << VmFlagsOf (p);
  EXPECT_NE (VmFlagsOf (p + 4 * kHugePage).find (" hg "), std::string::npos);
#endif
  g_free (p);
}

TEST (Memory, TypedLargeBlocks)
{
  size_t n = 1 << 20;
  guint64 *v = weft_new_large (guint64, n);

  ASSERT_NE (v, nullptr);
  EXPECT_EQ ((uintptr_t) v % kHugePage, 0u);
  for (size_t i = 0; i < n; i++)
    v[i] = i * 3;
  EXPECT_EQ (v[n - 1], (n - 1) * 3);
  g_free (v);
}

}  // namespace
