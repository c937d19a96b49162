// The JSON shapes of the control protocol (docs/control-protocol.md). Pure formatting.
#pragma once

#include <nlohmann/json.hpp>

#include "daemon/counters.hpp"
#include "daemon/ledger.hpp"
#include "daemon/load_report.hpp"
#include "rules/decision.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

// {"type":"decision","seqnum":..,"action":..,"devpath":..,"subsystem":..,"modalias":..,
//  "ignored":..,"autoload":..,"reason":..,"rules":[matched names],"load":[explicit modules]}
nlohmann::json decision_json(const Uevent& event, const Decision& decision);
// {"type":"loads","event":..,"modalias":..,"outcomes":[{"module","status","duration_ms","message"}]}
nlohmann::json report_json(const LoadReport& report);
// {"usb_hello":{"devices":[..],"cause":..,"load_time_ms":..,"unload_on_remove":..,"unload_grace_ms":..}}
nlohmann::json ledger_json(const Ledger& ledger);
nlohmann::json counters_json(const Counters& counters);

// Requests that change kplugd's state; only root (peer uid 0) may send them.
bool request_needs_root(const std::string& request);

}  // namespace kplug
