// Telling systemd how kplugd is doing (sd_notify): READY=1 once coldplug is complete,
// STATUS= lines, RELOADING=1 around reloads, WATCHDOG=1 when the unit asks for it.
// Without NOTIFY_SOCKET every call does nothing.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace kplug {

void notify_ready(const std::string& status);
void notify_reloading();
void notify_watchdog();
// The interval at which WATCHDOG=1 must be sent, when the unit set WatchdogSec.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace kplug
