// Telling systemd how kplugd is doing (sd_notify): READY=1 once coldplug's boot-critical
// part is done (or, with ready_after: coldplug, all of it),
// STATUS= lines, RELOADING=1 around reloads, WATCHDOG=1 when the unit asks for it.
// Without NOTIFY_SOCKET every call does nothing.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace kplug {

void notify_ready(const std::string& status);
// STATUS= alone: how kplugd is doing, after READY.
void notify_status(const std::string& status);
void notify_reloading();
void notify_watchdog();
// The interval at which WATCHDOG=1 must be sent, when the unit set WatchdogSec.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace kplug
