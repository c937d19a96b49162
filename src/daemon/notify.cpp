// sd_notify through libsystemd.
#include "daemon/notify.hpp"

#include <time.h>

#include <fmt/format.h>
#include <systemd/sd-daemon.h>

namespace kplug {

void notify_ready(const std::string& status) { sd_notify(0, fmt::format("READY=1\nSTATUS={}", status).c_str()); }

void notify_status(const std::string& status) { sd_notify(0, fmt::format("STATUS={}", status).c_str()); }

void notify_reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ull + static_cast<unsigned long long>(ts.tv_nsec) / 1000;
  sd_notify(0, fmt::format("RELOADING=1\nMONOTONIC_USEC={}", usec).c_str());
}

void notify_watchdog() { sd_notify(0, "WATCHDOG=1"); }

std::optional<std::chrono::microseconds> watchdog_interval() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) return std::chrono::microseconds(usec);
  return std::nullopt;
}

}  // namespace kplug
