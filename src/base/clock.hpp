// The seams for "now": the daemon's parts ask a Clock (steady, for durations) or a
// WallClock (seconds since the epoch), so tests can set the time.
#pragma once

#include <chrono>
#include <functional>

namespace kplug {

using Clock = std::function<std::chrono::steady_clock::time_point()>;

inline Clock steady_clock() {
  return [] { return std::chrono::steady_clock::now(); };
}

// Wall time in seconds since the epoch, for what people read (when a load failed, when a
// module was loaded): a seam of its own, so tests can set it.
using WallClock = std::function<double()>;

inline WallClock system_wall_clock() {
  return [] { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); };
}

}  // namespace kplug
