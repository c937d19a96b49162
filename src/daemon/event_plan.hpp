// One event's loads, planned: its MODALIAS resolved (when autoload is on), the rules'
// loads added (plan_loads), blacklisted modules put in its report as skipped, and a
// device no module matches counted and logged. What is left to do is returned as jobs.
#pragma once

#include <vector>

#include <spdlog/common.h>

#include "daemon/counters.hpp"
#include "kmod/module_loader.hpp"
#include "kmod/module_resolver.hpp"
#include "plan/load_report.hpp"
#include "rules/decision.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

// Fills REPORT's header (the event, its MODALIAS, its source) and its skipped outcomes;
// returns the loads to run, in order. An empty result with outcomes: all were skipped.
std::vector<LoadJob> plan_event(const Uevent& event, const Decision& decision, ModuleResolver& resolver,
                                Counters& counters, LoadReport& report);

// How loudly REPORT is logged: a rescan's loads at debug (its summary tells them), others
// by their worst outcome (LoadReport::severity).
spdlog::level::level_enum report_level(const LoadReport& report);

}  // namespace kplug
