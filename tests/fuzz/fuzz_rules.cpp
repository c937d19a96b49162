// libFuzzer target: the config and rules loaders on arbitrary YAML text. Every problem
// must come back as diagnostics with a file, a line and a column, never as a crash or
// an exception.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "rules/config.hpp"
#include "rules/rule_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  kplug::Diagnostics diags;
  std::vector<kplug::Rule> rules;
  kplug::parse_rules(text, "fuzz.yaml", rules, diags);
  for (const auto& d : diags)
    if (d.file != "fuzz.yaml" || d.to_string().empty()) std::abort();
  auto config = kplug::parse_config(text, "config.yaml");
  if (!config)
    for (const auto& d : config.error())
      if (d.file != "config.yaml") std::abort();
  return 0;
}
