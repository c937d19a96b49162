// Placeholder expansion for rule actions.
#include "rules/template.hpp"

#include <fmt/format.h>

#include "base/names.hpp"

namespace kplug {

std::optional<std::string> template_error(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{') {
      if (i + 1 < text.size() && text[i + 1] == '{') {
        ++i;
        continue;
      }
      std::size_t end = text.find('}', i);
      if (end == std::string::npos) return fmt::format("'{{' at offset {} is not closed by '}}'", i);
      std::string key = text.substr(i + 1, end - i - 1);
      if (key.empty()) return fmt::format("empty placeholder '{{}}' at offset {}", i);
      for (char c : key)
        if (!is_key_char(c)) return fmt::format("placeholder '{{{}}}' is not a KEY (letters, digits, _)", key);
      i = end;
    } else if (text[i] == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        ++i;
        continue;
      }
      return fmt::format("lone '}}' at offset {} (write '}}}}' for a literal brace)", i);
    }
  }
  return std::nullopt;
}

std::string expand_template(const std::string& text, const Uevent& event) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      out += c;
      ++i;
    } else if (c == '{') {
      std::size_t end = text.find('}', i);
      if (end == std::string::npos) {  // not validated: keep the rest as it is
        out += text.substr(i);
        break;
      }
      out += event.get_or_empty(text.substr(i + 1, end - i - 1));
      i = end;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace kplug
