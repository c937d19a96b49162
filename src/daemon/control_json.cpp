// JSON for the control socket.
#include "daemon/control_json.hpp"

namespace kplug {

nlohmann::json decision_json(const Uevent& event, const Decision& d) {
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& t : d.trace)
    if (t.matched) rules.push_back(t.rule->name);
  nlohmann::json load = nlohmann::json::array();
  for (const auto& [module, rule] : d.load) load.push_back(module);
  nlohmann::json run = nlohmann::json::array();
  for (const auto& [rule, argv] : d.run) run.push_back({{"rule", rule}, {"argv", argv}});
  return {{"type", "decision"}, {"seqnum", event.seqnum},   {"action", event.action},
          {"devpath", event.devpath}, {"subsystem", event.subsystem}, {"modalias", d.modalias},
          {"source", to_string(event.source)},
          {"ignored", d.ignore},      {"autoload", d.autoload}, {"reason", d.reason},
          {"rules", rules},           {"load", load},           {"run", run},
          {"synth_uuid", std::string(event.get_or_empty("SYNTH_UUID"))}};
}

nlohmann::json report_json(const LoadReport& r) {
  nlohmann::json outcomes = nlohmann::json::array();
  for (const auto& [module, result] : r.outcomes)
    outcomes.push_back({{"module", module},
                        {"status", to_string(result.status)},
                        {"duration_ms", static_cast<double>(result.duration.count()) / 1000.0},
                        {"message", result.message},
                        {"pulled_in", result.pulled_in}});
  return {{"type", "loads"}, {"event", r.event}, {"modalias", r.modalias}, {"outcomes", outcomes}};
}

std::map<std::string, std::uint64_t> counter_values(const Counters& c) {
  return {{"events_received", c.events_received}, {"coldplug_events", c.coldplug_events},
          {"rejected", c.rejected_total()},       {"overruns", c.overruns},
          {"missed_events", c.missed_events},     {"rescans", c.rescans},
          {"loads_ok", c.loads_ok},               {"loads_failed", c.loads_failed},
          {"loads_coalesced", c.loads_coalesced}, {"slow_loads", c.slow_loads},
          {"loads_skipped", c.loads_skipped},     {"no_module", c.no_module},
          {"loads_retried", c.loads_retried},     {"unloads", c.unloads},
          {"unloads_refused", c.unloads_refused}, {"commands_run", c.commands_run},
          {"commands_dropped", c.commands_dropped}, {"commands_killed", c.commands_killed}};
}

}  // namespace kplug
