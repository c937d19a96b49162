// JSON for the control socket.
#include "daemon/control_json.hpp"

namespace kplug {

control::DecisionMessage decision_message(const Uevent& event, const Decision& d) {
  control::DecisionMessage m;
  m.seqnum = event.seqnum;
  m.action = event.action;
  m.devpath = event.devpath;
  m.subsystem = event.subsystem;
  m.modalias = d.modalias;
  m.source = to_string(event.source);
  m.ignored = d.ignore;
  m.autoload = d.autoload;
  m.reason = d.reason;
  m.priority = std::string(to_string(d.priority));
  m.priority_why = d.priority_why;
  for (const auto& t : d.trace)
    if (t.matched) m.rules.push_back(t.rule->name);
  for (const auto& [module, rule] : d.load) m.load.push_back(module);
  for (const auto& [rule, argv] : d.run) m.run.push_back({rule, argv, false});
  m.synth_uuid = std::string(event.get_or_empty("SYNTH_UUID"));
  return m;
}

control::LoadsMessage loads_message(const LoadReport& r) {
  control::LoadsMessage m{r.event, r.modalias, {}};
  for (const auto& [module, result] : r.outcomes)
    m.outcomes.push_back({module, to_string(result.status), static_cast<double>(result.duration.count()) / 1000.0,
                          result.message, result.pulled_in});
  return m;
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
          {"commands_dropped", c.commands_dropped}, {"commands_killed", c.commands_killed},
          {"replays_unchanged", c.replays_unchanged}};
}

}  // namespace kplug
