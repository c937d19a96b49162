#include "kmod/modprobe_blacklist.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "base/file.hpp"

namespace kplug {

namespace {

std::string underscores(std::string s) {
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

}  // namespace

int blacklist_line(const std::string& text, const std::string& module) {
  std::istringstream in(text);
  std::string line;
  const std::string want = underscores(module);
  for (int number = 1; std::getline(in, line); ++number) {
    std::istringstream words(line);
    std::string command, name;
    if (!(words >> command) || command != "blacklist" || !(words >> name)) continue;
    if (underscores(name) == want) return number;
  }
  return 0;
}

std::string find_blacklist(const std::string& module, const std::vector<std::string>& configured) {
  static const std::vector<std::string> defaults = {"/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d",
                                                    "/lib/modprobe.d", "/usr/lib/modprobe.d"};
  namespace fs = std::filesystem;
  std::map<std::string, std::string> files;  // name → path; the first directory wins
  for (const auto& path : configured.empty() ? defaults : configured) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      for (const auto& entry : fs::directory_iterator(path, ec)) {
        std::string name = entry.path().filename();
        if (name.size() > 5 && name.ends_with(".conf")) files.emplace(name, entry.path());
      }
    } else if (fs::exists(path, ec)) {
      files.emplace(fs::path(path).filename(), path);
    }
  }
  for (const auto& [name, path] : files) {
    auto text = read_regular_file(path, 1 << 20);
    if (!text) continue;
    if (int line = blacklist_line(*text, module)) return path + ":" + std::to_string(line);
  }
  return "";
}

}  // namespace kplug
