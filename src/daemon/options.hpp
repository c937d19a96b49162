// kplugd's settings, filled from the command line (and, once rules land, the config file).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace kplug {

struct DaemonOptions {
  std::string modules_dir;                   // "" = /lib/modules/$(uname -r)
  std::vector<std::string> modprobe_config;  // empty = the system's modprobe.d
  std::string config_path = "/etc/kplug/config.yaml";  // accepted; read by the rules engine
  bool dry_run = false;
  bool coldplug = true;
  std::string log_level = "info";
  std::size_t receive_buffer = 128u << 20;
  bool exit_after_coldplug = false;  // for benchmarks and scripts: stop once coldplug is done
  bool unload = true;  // unload what kplugd loaded once its last device is gone
  std::chrono::milliseconds unload_grace{5000};
};

// Exit codes, documented in `kplugd --help` and the README.
enum ExitCode : int {
  exit_ok = 0,
  exit_runtime_error = 1,  // the event loop failed after start
  exit_usage = 2,          // bad command line
  exit_startup = 3,        // the environment is unusable: no netlink, no modules tree, ...
};

// Parses a duration such as "5s", "500ms", "2m" or "1.5" (seconds). False on bad input.
bool parse_duration(const std::string& text, std::chrono::milliseconds& out);

// Parses a size such as "128M", "4096", "1G". Returns false on bad input.
bool parse_size(const std::string& text, std::size_t& out);

}  // namespace kplug
