// A load's boot priority: what the boot waits for goes first. `critical` is storage and the
// way to it (the fstab's disks), then consoles and input, then network, then the rest.
// The loader pool starts more urgent loads first and keeps a loader free for critical
// ones; kplugd is READY once the critical part of its coldplug is done.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace kplug {

enum class Priority : std::uint8_t { critical = 0, console = 1, network = 2, normal = 3 };

inline constexpr std::string_view to_string(Priority p) {
  switch (p) {
    case Priority::critical: return "critical";
    case Priority::console: return "console";
    case Priority::network: return "network";
    case Priority::normal: return "normal";
  }
  return "normal";
}

inline constexpr std::optional<Priority> priority_from_string(std::string_view name) {
  for (Priority p : {Priority::critical, Priority::console, Priority::network, Priority::normal})
    if (to_string(p) == name) return p;
  return std::nullopt;
}

// The priority names, for errors and help: "critical, console, network, normal".
inline constexpr std::string_view priority_names = "critical, console, network, normal";

}  // namespace kplug
