// The JSON shapes of the control protocol (docs/control-protocol.md). Pure formatting.
#pragma once

#include <nlohmann/json.hpp>

#include "daemon/counters.hpp"
#include "plan/load_report.hpp"
#include "rules/decision.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

// {"type":"decision","seqnum":..,"action":..,"devpath":..,"subsystem":..,"modalias":..,
//  "ignored":..,"autoload":..,"reason":..,"rules":[matched names],"load":[explicit modules]}
nlohmann::json decision_json(const Uevent& event, const Decision& decision);
// {"type":"loads","event":..,"modalias":..,"outcomes":[{"module","status","duration_ms","message"}]}
nlohmann::json report_json(const LoadReport& report);
// The flat counters of the status reply (rejected_by_reason and forged_by_shape go beside).
std::map<std::string, std::uint64_t> counter_values(const Counters& counters);

}  // namespace kplug
