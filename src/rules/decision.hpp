// What to do with one event: the rules and the config's defaults applied to it. The
// seam between matching and the daemon; `kplug test` prints it.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "rules/config.hpp"
#include "rules/rule.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

// How one rule fared against the event, in words.
struct RuleTrace {
  const Rule* rule = nullptr;
  bool matched = false;
  std::vector<std::string> reasons;  // one per condition tested: "subsystem 'usb' matches 'usb'"
};

struct Decision {
  bool ignore = false;    // a rule dropped the event
  bool autoload = false;  // resolve MODALIAS through modules.alias and load the result
  std::string modalias;
  std::vector<std::pair<std::string, std::string>> load;  // explicit loads: module, rule name
  std::set<std::string> load_blacklisted;  // of those, the ones a rule loads past modprobe.d's blacklist
  // Never load these for this event, neither from MODALIAS nor named by any rule's `load:`:
  // a rule's blacklist is a veto, and the safe side wins where rules disagree.
  std::set<std::string> blacklist;
  std::map<std::string, std::string> options;             // module -> "key=value ..."
  bool unload_on_remove = false;  // unload what is loaded for this device once it goes
  std::chrono::milliseconds unload_grace{0};
  Priority priority = Priority::normal;  // of its loads (rules/boot_priority.hpp)
  std::string priority_why;              // "PCI class 0x0c03 (USB host controller)", "rule 'x' sets it"
  std::vector<std::pair<std::string, std::vector<std::string>>> run;  // rule name, final argv
  std::vector<std::pair<std::string, std::string>> logs;              // rule name, final text
  std::vector<RuleTrace> trace;
  std::string reason;  // why autoload is on or off, in plain words
};

// Reads a sysfs attribute of the device at DEVPATH; nullopt when absent or unreadable.
using AttrReader = std::function<std::optional<std::string>(const std::string& devpath, const std::string& name)>;

// Applies RULES in order to EVENT over the defaults in CONFIG. Pure given ATTRS.
// EXPLAIN fills each rule trace's reasons (for kplug test and the decisions stream);
// kplugd's hot path leaves it off.
Decision decide(const RuleSet& rules, const Config& config, const Uevent& event, const AttrReader& attrs = {},
                bool explain = true);

// kplug's default policy: no rules, default config.
Decision default_decision(const Uevent& event);

}  // namespace kplug
