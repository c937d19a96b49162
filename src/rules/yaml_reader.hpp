// Typed reads from yaml-cpp nodes that record a FILE:LINE:COLUMN diagnostic for every
// problem and carry on, so a file's problems are all reported in one pass.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "rules/diagnostic.hpp"

namespace kplug {

class YamlReader {
 public:
  YamlReader(std::string file, Diagnostics& diags) : file_(std::move(file)), diags_(diags) {}

  // Parses TEXT; on a syntax error records it and returns nullopt.
  std::optional<YAML::Node> parse(const std::string& text);

  void error(const YAML::Node& at, const std::string& message);
  void error_at(const YAML::Mark& mark, const std::string& message);

  std::optional<bool> boolean(const YAML::Node& node, const std::string& what);
  std::optional<std::string> string(const YAML::Node& node, const std::string& what);
  // A string or a list of strings.
  std::optional<std::vector<std::string>> strings(const YAML::Node& node, const std::string& what);
  std::optional<std::chrono::milliseconds> duration(const YAML::Node& node, const std::string& what);
  // A map's keys, each checked against KNOWN (unknown ones are reported with a
  // did-you-mean) and for duplicates. Returns the known (key, value) pairs in order.
  // Keys in ELSEWHERE are known to belong in another map: WHERE says which.
  std::vector<std::pair<std::string, YAML::Node>> map_entries(const YAML::Node& node, const std::string& what,
                                                              const std::vector<std::string>& known,
                                                              const std::vector<std::string>& elsewhere = {},
                                                              const std::string& where = "");

  // Puts this file's diagnostics in line and column order (they are found map by map).
  void sort_diagnostics(std::size_t from);

  const std::string& file() const { return file_; }
  int line(const YAML::Node& node) const { return node.Mark().line + 1; }

 private:
  std::string file_;
  Diagnostics& diags_;
};

}  // namespace kplug
