// yaml-cpp reads with diagnostics.
#include "rules/yaml_reader.hpp"

#include <algorithm>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "base/text.hpp"
#include "rules/units.hpp"

namespace kplug {

namespace {

// The line where a second YAML document starts (a "---" at column 0 after content or after
// an earlier "---", or content after a "..." end marker) and how many documents there
// are; {0, 1} for one. Markers at column 0 cannot occur inside a scalar.
std::pair<int, int> second_document(const std::string& text) {
  int line = 0, first_second = 0, documents = 1;
  bool content = false, ended = false;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    std::string_view l(text.data() + start, (end == std::string::npos ? text.size() : end) - start);
    start = end == std::string::npos ? text.size() : end + 1;
    ++line;
    auto marker = [&](std::string_view m) {
      return l.starts_with(m) && (l.size() == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\r');
    };
    std::size_t first = l.find_first_not_of(" \t\r");
    bool blank = first == std::string_view::npos || l[first] == '#';
    if (marker("---")) {
      if (content || ended) {
        ++documents;
        if (!first_second) first_second = line;
      }
      content = true;
      ended = false;
    } else if (marker("...")) {
      ended = true;
      content = false;
    } else if (!blank) {
      if (ended && !first_second) {
        ++documents;
        first_second = line;
      }
      ended = false;
      content = true;
    }
  }
  return {first_second, documents};
}

}  // namespace

std::optional<YAML::Node> YamlReader::parse(const std::string& text) {
  // YAML text has no NUL byte (yaml-cpp's LoadAll never returned on one: fuzz_rules):
  // refused at its line and column before parsing.
  if (auto nul = text.find('\0'); nul != std::string::npos) {
    std::size_t line_start = text.rfind('\n', nul);
    line_start = line_start == std::string::npos ? 0 : line_start + 1;
    diags_.push_back({file_, static_cast<int>(std::count(text.begin(), text.begin() + nul, '\n') + 1),
                      static_cast<int>(nul - line_start + 1), "a NUL byte: a YAML file is text"});
    return std::nullopt;
  }
  // A second document (after "---") would be dropped by YAML::Load without a word; it is
  // found by its marker, as yaml-cpp's LoadAll never returns on some broken files.
  if (auto [line, documents] = second_document(text); line) {
    diags_.push_back({file_, line, 1,
                      fmt::format("a second YAML document ('---'): kplug reads one document a file, so put "
                                  "everything in one (or split it into {} files)",
                                  documents)});
    return std::nullopt;
  }
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    error_at(e.mark, "YAML syntax error: " + e.msg);
    return std::nullopt;
  }
}

void YamlReader::error_at(const YAML::Mark& mark, const std::string& message) {
  if (mark.is_null()) diags_.push_back({file_, 0, 0, message});
  else diags_.push_back({file_, mark.line + 1, mark.column + 1, message});
}

void YamlReader::error(const YAML::Node& at, const std::string& message) { error_at(at.Mark(), message); }

std::optional<bool> YamlReader::boolean(const YAML::Node& node, const std::string& what) {
  // A quoted "true" is a string (its tag is "!"), as YAML says: a mistake to name, not a
  // boolean to guess.
  if (node.IsScalar() && node.Tag() == "!") {
    error(node, fmt::format("{} must be true or false, not the string \"{}\" (drop the quotes)", what,
                            printable(node.Scalar(), 64)));
    return std::nullopt;
  }
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  error(node, fmt::format("{} must be true or false", what));
  return std::nullopt;
}

std::optional<std::string> YamlReader::string(const YAML::Node& node, const std::string& what) {
  if (node.IsScalar()) return node.Scalar();
  error(node, fmt::format("{} must be a string, not a {}", what, node.IsMap() ? "map" : node.IsSequence() ? "list" : "null"));
  return std::nullopt;
}

std::optional<std::vector<std::string>> YamlReader::strings(const YAML::Node& node, const std::string& what) {
  if (node.IsScalar()) return std::vector<std::string>{node.Scalar()};
  if (!node.IsSequence()) {
    error(node, fmt::format("{} must be a string or a list of strings", what));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (const auto& item : node) {
    if (auto s = string(item, what + " entries")) out.push_back(*s);
    else ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::chrono::milliseconds> YamlReader::duration(const YAML::Node& node, const std::string& what) {
  std::chrono::milliseconds out{0};
  if (node.IsScalar() && parse_duration(node.Scalar(), out)) return out;
  error(node, fmt::format("{} must be a duration such as 5s, 500ms, 2m or 1h, at most a day (got '{}')", what,
                          node.IsScalar() ? node.Scalar() : std::string("not a string")));
  return std::nullopt;
}

std::vector<std::pair<std::string, YAML::Node>> YamlReader::map_entries(const YAML::Node& node,
                                                                         const std::string& what,
                                                                         const std::vector<std::string>& known,
                                                                         const std::vector<std::string>& elsewhere,
                                                                         const std::string& where) {
  std::vector<std::pair<std::string, YAML::Node>> out;
  if (!node.IsMap()) {
    error(node, fmt::format("{} must be a map of keys", what));
    return out;
  }
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) {
      error(it->first, fmt::format("{} keys must be strings", what));
      continue;
    }
    std::string key = it->first.Scalar();
    if (!seen.insert(key).second) {
      error(it->first, fmt::format("{} '{}' is given twice", what, key));
      continue;
    }
    if (!known.empty() && std::find(known.begin(), known.end(), key) == known.end()) {
      if (std::find(elsewhere.begin(), elsewhere.end(), key) != elsewhere.end()) {
        error(it->first, fmt::format("'{}' is not a {}: it goes under '{}'", key, what, where));
        continue;
      }
      std::string hint = did_you_mean(key, known);
      error(it->first, fmt::format("unknown {} '{}'{}", what, key, hint.empty() ? "" : ", did you mean '" + hint + "'?"));
      continue;
    }
    out.emplace_back(key, it->second);
  }
  return out;
}

void YamlReader::sort_diagnostics(std::size_t from) {
  std::stable_sort(diags_.begin() + static_cast<std::ptrdiff_t>(from), diags_.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::pair(a.line, a.column) < std::pair(b.line, b.column);
                   });
}

}  // namespace kplug
