// kplugd's status as Prometheus metrics (text exposition format 0.0.4, which node_exporter's
// textfile collector and Prometheus read): `kplug status --format prometheus` and the file
// kplugd writes with `metrics_file:`. Names and help follow Prometheus's conventions
// (kplug_ prefix, base units, _total for counters, one metric with a label per outcome).
#pragma once

#include <string>

#include "control/protocol.hpp"

namespace kplug::control {

std::string prometheus_text(const StatusReply& status);

}  // namespace kplug::control
