// The seam for "now": the daemon's parts ask a Clock, so tests can set the time (Asio's
// timers still run on the real steady clock; tests keep their waits short).
#pragma once

#include <chrono>
#include <functional>

namespace kplug {

using Clock = std::function<std::chrono::steady_clock::time_point()>;

inline Clock steady_clock() {
  return [] { return std::chrono::steady_clock::now(); };
}

}  // namespace kplug
