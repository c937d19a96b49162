// The JSON shapes of the control protocol (docs/control-protocol.md). Pure formatting.
#pragma once

#include <nlohmann/json.hpp>

#include "control/events.hpp"
#include "daemon/counters.hpp"
#include "plan/load_report.hpp"
#include "rules/decision.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

// The events stream's `decision` message for EVENT (control/events.hpp).
control::DecisionMessage decision_message(const Uevent& event, const Decision& decision);
// The events stream's `loads` message: REPORT's outcomes.
control::LoadsMessage loads_message(const LoadReport& report);
// The flat counters of the status reply (rejected_by_reason and forged_by_shape go beside).
std::map<std::string, std::uint64_t> counter_values(const Counters& counters);

}  // namespace kplug
