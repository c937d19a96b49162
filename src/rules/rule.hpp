// One compiled rule: where it came from, what it matches and what it does. Plain data.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/priority.hpp"

namespace kplug {

// One test on an event. All conditions of a Match must hold.
struct Condition {
  enum class Kind { action, subsystem, devtype, driver, modalias, devpath, env, attr, not_ };
  Kind kind;
  std::string key;                   // env: the uevent key; attr: the attribute name
  std::vector<std::string> globs;    // any of them may match (action takes a list)
  std::shared_ptr<const struct Match> negated;  // for not_
  int line = 0;
};

struct Match {
  std::vector<Condition> conditions;  // empty: matches every event
};

struct Rule {
  std::string name;
  std::string file;
  int line = 0;
  Match match;
  // Actions; unset optionals leave the setting to earlier rules and the config.
  std::vector<std::string> load;
  // The modules in `load` are loaded even where modprobe.d blacklists them (as `modprobe`
  // typed by hand); by default the blacklist applies to them as to every automatic load.
  bool load_blacklisted = false;
  std::optional<bool> autoload;
  std::optional<bool> ignore;
  std::vector<std::string> blacklist;
  std::map<std::string, std::string> options;
  std::optional<bool> unload_on_remove;
  std::optional<std::chrono::milliseconds> unload_grace;
  std::optional<Priority> priority;  // the boot priority of the device's loads
  std::vector<std::string> run;  // argv template with {KEY} placeholders
  std::string log;               // text template with {KEY} placeholders
  bool stop = false;
};

// Rules in the order they apply: files in lexical order of name, rules in file order.
struct RuleSet {
  std::vector<Rule> rules;
  std::vector<std::string> files;  // the files they came from, in order
};

}  // namespace kplug
