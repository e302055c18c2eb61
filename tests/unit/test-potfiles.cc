// test-potfiles.cc: po/POTFILES.in names every source file with translatable
// text, and nothing that does not exist.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {

const fs::path source_root = WEFT_SOURCE_ROOT;

std::string
Slurp (const fs::path &path)
{
  std::ifstream in (path);
  std::stringstream ss;
  ss << in.rdbuf ();
  return ss.str ();
}

std::set<std::string>
ListedFiles ()
{
  std::set<std::string> listed;
  std::ifstream in (source_root / "po" / "POTFILES.in");
  std::string line;
  while (std::getline (in, line))
    if (!line.empty () && line[0] != '#')
      listed.insert (line);
  return listed;
}

bool
HasTranslatableText (const fs::path &path)
{
  static const std::regex c_marks (R"((^|[^A-Za-z0-9_])(N?_|C_|NC_|g_dngettext)\s*\()");
  const std::string text = Slurp (path);
  const std::string ext = path.extension ().string ();

  if (ext == ".c" || ext == ".h")
    return std::regex_search (text, c_marks);
  if (ext == ".ui")
    return text.find ("translatable=\"yes\"") != std::string::npos;
  if (ext == ".in" || path.filename ().string ().find (".gschema.xml") != std::string::npos)
    return true;  // desktop file, metainfo, schema: translated whole
  return false;
}

TEST (PotFiles, ListsEveryFileWithTranslatableText)
{
  const std::set<std::string> listed = ListedFiles ();
  ASSERT_FALSE (listed.empty ());

  int checked = 0;
  for (const char *top : { "src", "data" })
    for (const auto &entry : fs::recursive_directory_iterator (source_root / top))
      {
        if (!entry.is_regular_file ())
          continue;
        const fs::path rel = fs::relative (entry.path (), source_root);
        const std::string ext = rel.extension ().string ();
        if (ext != ".c" && ext != ".h" && ext != ".ui" && ext != ".in" &&
            rel.filename ().string ().find (".gschema.xml") == std::string::npos)
          continue;
        checked++;
        if (HasTranslatableText (entry.path ()))
          {
            EXPECT_TRUE (listed.count (rel.string ()))
                << rel.string () << " has translatable text but is missing from po/POTFILES.in";
          }
      }
  EXPECT_GT (checked, 5);
}

TEST (PotFiles, ListsOnlyFilesThatExist)
{
  for (const std::string &name : ListedFiles ())
    EXPECT_TRUE (fs::exists (source_root / name)) << name << " is listed in po/POTFILES.in but does not exist";
}

}  // namespace
