// weft-test-files.h: reading a whole file back, for the C++ tests that check files.
#pragma once

#include <string>

#include <glib.h>

// The bytes of @path, or "<missing>" when it cannot be read.
inline std::string
ReadAll (const std::string &path)
{
  g_autofree char *data = nullptr;
  gsize len = 0;

  if (!g_file_get_contents (path.c_str (), &data, &len, nullptr))
    return "<missing>";
  return std::string (data, len);
}
