// Reading config.yaml with a diagnostic for every problem.
#include "rules/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "base/file.hpp"
#include "rules/units.hpp"
#include "rules/yaml_reader.hpp"

namespace kplug {

namespace {

const std::vector<std::string> top_keys = {"modules_dir", "rules_dirs", "autoload", "unload", "receive_buffer",
                                           "coldplug", "loader_threads", "slow_load", "control_socket", "state_dir",
                                           "log_level", "log_target", "dry_run", "control", "commands", "metrics_file",
                                           "metrics_dir_shared", "rebroadcast_groups", "boot_priority", "ready_after"};
const std::vector<std::string> unload_keys = {"enabled", "grace", "subsystems"};
const std::vector<std::string> control_keys = {"max_sessions", "max_line", "idle_timeout", "max_output"};
const std::vector<std::string> command_keys = {"workers", "queue", "timeout"};

template <typename T>
void set(std::optional<T> value, T& out) {
  if (value) out = std::move(*value);
}

void read_unload(YamlReader& r, const YAML::Node& node, Config& c) {
  for (const auto& [key, value] : r.map_entries(node, "unload key", unload_keys)) {
    if (key == "enabled") set(r.boolean(value, "unload.enabled"), c.unload);
    else if (key == "grace") set(r.duration(value, "unload.grace"), c.unload_grace);
    else set(r.strings(value, "unload.subsystems"), c.unload_subsystems);
  }
}

// A whole number from MIN to MAX, written as a size (4096, 64K, 1M).
std::optional<std::size_t> bounded_size(YamlReader& r, const YAML::Node& value, const std::string& key,
                                        std::size_t min, std::size_t max) {
  std::size_t n = 0;
  if (value.IsScalar() && parse_size(value.Scalar(), n) && n >= min && n <= max) return n;
  r.error(value, fmt::format("{} must be a number from {} to {} (K and M suffixes allowed)", key, min, max));
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> bounded_duration(YamlReader& r, const YAML::Node& value,
                                                          const std::string& key, std::chrono::milliseconds min,
                                                          std::chrono::milliseconds max) {
  auto d = r.duration(value, key);
  if (d && (*d < min || *d > max)) {
    r.error(value, fmt::format("{} must be from {} ms to {} s", key, min.count(), max.count() / 1000));
    return std::nullopt;
  }
  return d;
}

void read_control(YamlReader& r, const YAML::Node& node, Config& c) {
  using std::chrono::milliseconds;
  for (const auto& [key, value] : r.map_entries(node, "control key", control_keys)) {
    if (key == "max_sessions") set(bounded_size(r, value, "control.max_sessions", 1, 4096), c.control_max_sessions);
    else if (key == "max_line") set(bounded_size(r, value, "control.max_line", 1024, 16u << 20), c.control_max_line);
    else if (key == "max_output")
      set(bounded_size(r, value, "control.max_output", 64 * 1024, 256u << 20), c.control_max_output);
    else set(bounded_duration(r, value, "control.idle_timeout", milliseconds(100), milliseconds(86400000)),
             c.control_idle_timeout);
  }
}

void read_commands(YamlReader& r, const YAML::Node& node, Config& c) {
  using std::chrono::milliseconds;
  for (const auto& [key, value] : r.map_entries(node, "commands key", command_keys)) {
    if (key == "workers") {
      if (auto n = bounded_size(r, value, "commands.workers", 1, 64)) c.command_workers = static_cast<unsigned>(*n);
    } else if (key == "queue") {
      set(bounded_size(r, value, "commands.queue", 0, 65536), c.command_queue);
    } else {
      set(bounded_duration(r, value, "commands.timeout", milliseconds(10), milliseconds(3600000)), c.command_timeout);
    }
  }
}

void read_top(YamlReader& r, const std::string& key, const YAML::Node& value, Config& c) {
  if (key == "modules_dir") set(r.string(value, key), c.modules_dir);
  else if (key == "rules_dirs") set(r.strings(value, key), c.rules_dirs);
  else if (key == "autoload") set(r.boolean(value, key), c.autoload);
  else if (key == "unload") read_unload(r, value, c);
  else if (key == "control") read_control(r, value, c);
  else if (key == "commands") read_commands(r, value, c);
  else if (key == "coldplug") set(r.boolean(value, key), c.coldplug);
  else if (key == "control_socket") set(r.string(value, key), c.control_socket);
  else if (key == "state_dir") set(r.string(value, key), c.state_dir);
  else if (key == "metrics_file") set(r.string(value, key), c.metrics_file);
  else if (key == "metrics_dir_shared") set(r.boolean(value, key), c.metrics_dir_shared);
  else if (key == "dry_run") set(r.boolean(value, key), c.dry_run);
  else if (key == "boot_priority") set(r.boolean(value, key), c.boot_priority);
  else if (key == "ready_after") {
    auto when = r.string(value, key);
    if (when && (*when == "critical" || *when == "coldplug")) c.ready_after = *when;
    else if (when) r.error(value, "ready_after must be critical (the boot's loads done) or coldplug (every load done)");
  }
  else if (key == "rebroadcast_groups") {
    std::size_t mask = 0;
    if (value.IsScalar() && parse_size(value.Scalar(), mask) && mask <= 0xffffffffu && !(mask & 1))
      c.rebroadcast_groups = static_cast<std::uint32_t>(mask);
    else
      r.error(value, "rebroadcast_groups must be a netlink group mask without group 1 (the kernel's): 0 (off) or "
                     "e.g. 4, where libudev-zero listens");
  }
  else if (key == "slow_load") set(r.duration(value, key), c.slow_load);
  else if (key == "receive_buffer") {
    std::size_t size = 0;
    if (value.IsScalar() && parse_size(value.Scalar(), size)) c.receive_buffer = size;
    else r.error(value, "receive_buffer must be a size such as 4096, 512K or 128M");
  } else if (key == "loader_threads") {
    std::size_t n = 0;
    if (value.IsScalar() && parse_size(value.Scalar(), n) && n <= 1024) c.loader_threads = static_cast<unsigned>(n);
    else r.error(value, "loader_threads must be a number from 0 (one per CPU, at least 2) to 1024");
  } else if (key == "log_level") {
    auto level = r.string(value, key);
    const std::vector<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
    if (level && std::find(levels.begin(), levels.end(), *level) != levels.end()) c.log_level = *level;
    else if (level) r.error(value, fmt::format("log_level must be one of trace, debug, info, warn, error, off"));
  } else if (key == "log_target") {
    auto target = r.string(value, key);
    if (target && (*target == "auto" || *target == "stderr" || *target == "journal")) c.log_target = *target;
    else if (target) r.error(value, "log_target must be auto, stderr or journal");
  }
}

}  // namespace

Result<Config, Diagnostics> parse_config(const std::string& text, const std::string& file) {
  Diagnostics diags;
  Config config;
  YamlReader r(file, diags);
  auto root = r.parse(text);
  if (root && !root->IsNull()) {
    for (const auto& [key, value] : r.map_entries(*root, "config key", top_keys)) read_top(r, key, value, config);
  }
  r.sort_diagnostics(0);
  if (!diags.empty()) return unexpected(std::move(diags));
  return config;
}

Result<Config, Diagnostics> load_config(const std::string& path, bool missing_ok) {
  // `--config /dev/null`: no config at all, every default (the idiom of `ssh -F /dev/null`).
  // Only /dev/null itself: other devices and FIFOs stay refused.
  if (path == "/dev/null") return Config{};
  auto text = read_regular_file(path);
  if (!text) {
    if (missing_ok && text.error().error == ENOENT) return Config{};
    return unexpected(Diagnostics{{path, 0, 0, fmt::format("cannot read the config file: {}", text.error().message)}});
  }
  return parse_config(*text, path);
}

}  // namespace kplug
