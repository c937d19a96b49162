// libFuzzer target: rule matching, fuzzed events against fuzzed rules. The input is split
// at the first NUL byte: rules (YAML) before it, an event (KEY=VALUE lines) after it.
// A decision must never name an unsafe module or run anything for an ignored event.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/names.hpp"
#include "rules/config.hpp"
#include "rules/decision.hpp"
#include "rules/rule_loader.hpp"
#include "uevent/parse.hpp"
#include "uevent/record.hpp"  // parse_record

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  std::size_t split = input.find('\0');
  if (split == std::string::npos) return 0;
  kplug::Diagnostics diags;
  kplug::RuleSet set;
  kplug::parse_rules(input.substr(0, split), "fuzz.yaml", set.rules, diags);
  if (!diags.empty()) return 0;  // kplugd refuses rule files with problems
  auto event = kplug::parse_record(input.substr(split + 1));
  if (!event) return 0;
  kplug::Config config;
  auto attrs = [](const std::string&, const std::string& name) -> std::optional<std::string> {
    if (name == "idVendor") return std::string("08e6");
    return std::nullopt;
  };
  kplug::Decision d = kplug::decide(set, config, *event, attrs);
  for (const auto& [module, rule] : d.load)
    if (!kplug::is_safe_module_name(module)) std::abort();
  if (d.ignore && (!d.load.empty() || !d.run.empty() || d.autoload)) std::abort();
  return 0;
}
