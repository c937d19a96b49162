// Reading config.yaml with a diagnostic for every problem.
#include "rules/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "rules/units.hpp"
#include "rules/yaml_reader.hpp"

namespace kplug {

namespace {

const std::vector<std::string> top_keys = {"modules_dir", "rules_dirs", "autoload", "unload", "receive_buffer",
                                           "coldplug", "loader_threads", "slow_load", "control_socket", "state_dir",
                                           "log_level", "log_target", "dry_run"};
const std::vector<std::string> unload_keys = {"enabled", "grace", "subsystems"};

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

void read_top(YamlReader& r, const std::string& key, const YAML::Node& value, Config& c) {
  if (key == "modules_dir") set(r.string(value, key), c.modules_dir);
  else if (key == "rules_dirs") set(r.strings(value, key), c.rules_dirs);
  else if (key == "autoload") set(r.boolean(value, key), c.autoload);
  else if (key == "unload") read_unload(r, value, c);
  else if (key == "coldplug") set(r.boolean(value, key), c.coldplug);
  else if (key == "control_socket") set(r.string(value, key), c.control_socket);
  else if (key == "state_dir") set(r.string(value, key), c.state_dir);
  else if (key == "dry_run") set(r.boolean(value, key), c.dry_run);
  else if (key == "slow_load") set(r.duration(value, key), c.slow_load);
  else if (key == "receive_buffer") {
    std::size_t size = 0;
    if (value.IsScalar() && parse_size(value.Scalar(), size)) c.receive_buffer = size;
    else r.error(value, "receive_buffer must be a size such as 4096, 512K or 128M");
  } else if (key == "loader_threads") {
    std::size_t n = 0;
    if (value.IsScalar() && parse_size(value.Scalar(), n) && n <= 1024) c.loader_threads = static_cast<unsigned>(n);
    else r.error(value, "loader_threads must be a number from 0 (two per CPU, at least 4) to 1024");
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
  std::ifstream in(path);
  if (!in) {
    if (missing_ok && errno == ENOENT) return Config{};
    return unexpected(Diagnostics{{path, 0, 0, fmt::format("cannot read the config file: {}", std::strerror(errno))}});
  }
  // A directory opens fine and then reads as nothing: say so instead of running on defaults.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return unexpected(Diagnostics{{path, 0, 0, "cannot read the config file: it is a directory (pass the YAML file)"}});
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad())
    return unexpected(Diagnostics{{path, 0, 0, fmt::format("cannot read the config file: {}", std::strerror(errno))}});
  return parse_config(text.str(), path);
}

}  // namespace kplug
