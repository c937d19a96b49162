// Config file, command line and rules combined into kplugd's settings.
#include "rules/settings.hpp"

#include "rules/rule_loader.hpp"

namespace kplug {

Result<Settings, Diagnostics> load_settings(const Overrides& o) {
  std::string path = o.config_path.value_or(default_config_path);
  auto config = load_config(path, !o.config_path.has_value());
  if (!config) return unexpected(config.error());

  Settings s;
  static_cast<Config&>(s.options) = *config;
  s.options.config_path = path;
  s.options.modprobe_config = o.modprobe_config;
  s.options.exit_after_coldplug = o.exit_after_coldplug;
  if (o.modules_dir) s.options.modules_dir = *o.modules_dir;
  if (o.dry_run) s.options.dry_run = *o.dry_run;
  if (o.coldplug) s.options.coldplug = *o.coldplug;
  if (o.unload) s.options.unload = *o.unload;
  if (o.log_level) s.options.log_level = *o.log_level;
  if (o.unload_grace) s.options.unload_grace = *o.unload_grace;
  if (o.receive_buffer) s.options.receive_buffer = *o.receive_buffer;
  if (o.control_socket) s.options.control_socket = *o.control_socket;
  if (o.state_dir) s.options.state_dir = *o.state_dir;
  if (o.metrics_file) s.options.metrics_file = *o.metrics_file;
  if (o.loader_threads) s.options.loader_threads = *o.loader_threads;
  if (o.rebroadcast_groups) s.options.rebroadcast_groups = *o.rebroadcast_groups;
  if (!o.rules_dirs.empty()) s.options.rules_dirs = o.rules_dirs;

  Diagnostics diags;
  auto files = o.rule_paths.empty() ? rule_files(s.options.rules_dirs, diags) : expand_rule_paths(o.rule_paths, diags);
  auto rules = load_rules(files);
  if (!rules) diags.insert(diags.end(), rules.error().begin(), rules.error().end());
  if (!diags.empty()) return unexpected(std::move(diags));
  s.rules = std::move(*rules);
  return s;
}

std::vector<std::string> take_reloadable(DaemonOptions& current, const DaemonOptions& next) {
  current.rules_dirs = next.rules_dirs;
  current.autoload = next.autoload;
  current.unload = next.unload;
  current.unload_grace = next.unload_grace;
  current.unload_subsystems = next.unload_subsystems;
  current.log_level = next.log_level;
  std::vector<std::string> at_next_start;
  if (next.modules_dir != current.modules_dir) at_next_start.push_back("modules_dir");
  if (next.dry_run != current.dry_run) at_next_start.push_back("dry_run");
  if (next.receive_buffer != current.receive_buffer) at_next_start.push_back("receive_buffer");
  return at_next_start;
}

}  // namespace kplug
