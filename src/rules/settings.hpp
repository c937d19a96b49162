// kplugd's settings: the config file's (config.hpp) plus those that only the command
// line sets. `load_settings` reads the config and the rules, with the command
// line's flags overriding the file.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "rules/config.hpp"
#include "rules/diagnostic.hpp"
#include "rules/rule.hpp"
#include "rules/units.hpp"
#include "base/exit_code.hpp"
#include "base/result.hpp"

namespace kplug {

struct DaemonOptions : Config {
  std::vector<std::string> modprobe_config;  // empty = the system's modprobe.d
  std::string config_path = default_config_path;
  bool exit_after_coldplug = false;  // for benchmarks and scripts: stop once coldplug is done
  // Quiet this long, kplugd gives back what a burst took (daemon/idle_release.hpp). Not a
  // config key: tests shorten it so that io.run() does not wait for it.
  std::chrono::milliseconds idle_release_after{2000};
};

// What the command line said; unset fields leave the config file's value.
struct Overrides {
  std::optional<std::string> config_path;
  std::optional<std::string> modules_dir;
  std::vector<std::string> modprobe_config;
  std::optional<bool> dry_run, coldplug, unload;
  std::optional<std::string> log_level;
  std::optional<std::chrono::milliseconds> unload_grace;
  std::optional<std::size_t> receive_buffer;
  std::optional<std::string> control_socket, state_dir, metrics_file;
  std::optional<unsigned> loader_threads;
  std::optional<std::uint32_t> rebroadcast_groups;
  std::vector<std::string> rules_dirs;   // replace the config's dirs when given
  std::vector<std::string> rule_paths;   // rule files or dirs to use instead of any dirs
  bool exit_after_coldplug = false;
};

struct Settings {
  DaemonOptions options;
  RuleSet rules;
};

// A reload (SIGHUP): the keys of NEXT that take effect at once are copied into CURRENT
// (rules dirs, autoload, unload, its grace and subsystems, log level); the others keep
// CURRENT's value until the next start. Returns the names of those that differ, to be said.
std::vector<std::string> take_reloadable(DaemonOptions& current, const DaemonOptions& next);

// Reads the config file (a missing default file means defaults), applies OVERRIDES and
// loads the rules from the resulting rules dirs. Every problem is a diagnostic.
Result<Settings, Diagnostics> load_settings(const Overrides& overrides);

}  // namespace kplug
