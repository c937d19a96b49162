// kplugd's status as Prometheus metrics (text exposition format 0.0.4, which node_exporter's
// textfile collector and Prometheus read): `kplug status --format prometheus` and the file
// kplugd writes with `metrics_file:`. Names and help follow Prometheus's conventions
// (kplug_ prefix, base units, _total for counters, one metric with a label per outcome).
#pragma once

#include <string>

#include "control/protocol.hpp"

namespace kplug::control {

// UP: false for the last write at stop, which says kplug_up 0 and kplug_ready 0 with the
// final counts (a stale file must not report a stopped daemon as up).
std::string prometheus_text(const StatusReply& status, bool up = true);

// What `kplug status --format prometheus` prints when kplugd does not answer: kplug_up 0.
std::string prometheus_down_text();

}  // namespace kplug::control
