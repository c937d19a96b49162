// kplugd's config file (/etc/kplug/config.yaml): every setting with its default. The
// documented copy of this list is config.example.yaml at the top of the repository.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstddef>
#include <string>
#include <vector>

#include "rules/diagnostic.hpp"
#include "base/result.hpp"

namespace kplug {

struct Config {
  std::string modules_dir;  // "" = /lib/modules/$(uname -r)
  // Searched in this order: a file name in an earlier dir overrides the same name later.
  std::vector<std::string> rules_dirs = {"/etc/kplug/rules.d", "/run/kplug/rules.d", "/usr/lib/kplug/rules.d"};
  bool autoload = true;     // resolve MODALIAS through modules.alias on `add`
  bool unload = true;       // unload what kplugd loaded once its last device is gone ...
  std::chrono::milliseconds unload_grace{5000};           // ... after this long ...
  std::vector<std::string> unload_subsystems = {"usb", "hid"};  // ... for devices of these subsystems ([] = all)
  std::size_t receive_buffer = 128u << 20;
  bool coldplug = true;
  // Order loads by boot priority (storage and the way to it first; rules/boot_priority.hpp);
  // false: every load is normal, started in the order its device was found.
  bool boot_priority = true;
  // When kplugd tells systemd it is READY: "critical", once every present device is
  // decided and the critical loads are done (the rest goes on); "coldplug", once every
  // load of the coldplug is done.
  std::string ready_after = "critical";
  unsigned loader_threads = 0;  // 0 = one per CPU, at least 2
  std::chrono::milliseconds slow_load{10000};  // a load running longer is reported as slow
  std::string control_socket = "/run/kplug/control.sock";  // used by the engine
  std::string state_dir = "/run/kplug";                    // used by the engine
  // Netlink group mask to rebroadcast each handled kernel event to (mdevd's -O; 4 is
  // where libudev-zero listens); 0 = none.
  std::uint32_t rebroadcast_groups = 0;
  std::string metrics_file;  // Prometheus text written here (node_exporter's textfile collector); "" = none
  // The metrics file's directory may belong to another user or be group-writable
  // (node_exporter's belongs to prometheus); otherwise such a directory is refused.
  bool metrics_dir_shared = false;
  // The control socket's bounds: it is open to every local user.
  std::size_t control_max_sessions = 64;       // sessions at once (root gets 8 more)
  std::size_t control_max_line = 64 * 1024;    // bytes in one request line
  std::chrono::milliseconds control_idle_timeout{30000};  // without a complete request
  std::size_t control_max_output = 256 * 1024;  // unread bytes a session may hold
  // Rule `run` commands.
  unsigned command_workers = 4;                // commands running at once
  std::size_t command_queue = 256;             // waiting; more are dropped and counted
  std::chrono::milliseconds command_timeout{10000};  // then the process group is killed
  std::string log_level = "info";
  std::string log_target = "auto";  // auto, stderr or journal (journal comes with the service)
  bool dry_run = false;
};

inline constexpr const char* default_config_path = "/etc/kplug/config.yaml";

// Reads PATH over the defaults. A missing file is fine when MISSING_OK (the default path
// on a machine that has none); every problem is a diagnostic.
Result<Config, Diagnostics> load_config(const std::string& path, bool missing_ok);
// The same from text (tests, and `kplug test` with inline config).
Result<Config, Diagnostics> parse_config(const std::string& text, const std::string& file);

}  // namespace kplug
