// Glob checking and matching on top of fnmatch(3).
#include "rules/glob.hpp"

#include <fnmatch.h>

namespace kplug {

std::optional<std::string> glob_error(const std::string& pattern) {
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      if (i + 1 == pattern.size()) return "ends with a lone backslash";
      ++i;
    } else if (c == '[') {
      std::size_t j = i + 1;
      if (j < pattern.size() && (pattern[j] == '!' || pattern[j] == '^')) ++j;
      if (j < pattern.size() && pattern[j] == ']') ++j;  // "[]x]" holds a ']'
      while (j < pattern.size() && pattern[j] != ']') ++j;
      if (j >= pattern.size()) return "has a '[' without a closing ']'";
      i = j;
    } else if (c == ']') {
      return "has a ']' without an opening '['";
    }
  }
  return std::nullopt;
}

bool glob_match(const std::string& pattern, const std::string& text) {
  return fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

}  // namespace kplug
