// sd_notify through libsystemd, opened only when systemd asked for notifications.
#include "daemon/notify.hpp"

#include <time.h>

#include <cstdlib>

#include <fmt/format.h>

#include "base/systemd_lib.hpp"

namespace kplug {

namespace {

void send_notify(int unset_environment, const char* state) {
  if (!std::getenv("NOTIFY_SOCKET")) return;  // not run by systemd as Type=notify
  if (const SystemdLib* lib = systemd_lib()) lib->notify(unset_environment, state);
}

}  // namespace

void notify_ready(const std::string& status) { send_notify(0, fmt::format("READY=1\nSTATUS={}", status).c_str()); }

void notify_status(const std::string& status) { send_notify(0, fmt::format("STATUS={}", status).c_str()); }


void notify_reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ull + static_cast<unsigned long long>(ts.tv_nsec) / 1000;
  send_notify(0, fmt::format("RELOADING=1\nMONOTONIC_USEC={}", usec).c_str());
}

void notify_watchdog() { send_notify(0, "WATCHDOG=1"); }

std::optional<std::chrono::microseconds> watchdog_interval() {
  if (!std::getenv("WATCHDOG_USEC")) return std::nullopt;  // the unit sets no WatchdogSec
  const SystemdLib* lib = systemd_lib();
  std::uint64_t usec = 0;
  if (lib && lib->watchdog_enabled(0, &usec) > 0 && usec > 0) return std::chrono::microseconds(usec);
  return std::nullopt;
}

}  // namespace kplug
