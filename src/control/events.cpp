// The `events` stream's messages to and from JSON (see the header).
#include "control/events.hpp"

#include <fmt/format.h>

#include "base/priority.hpp"
#include "base/text.hpp"
#include "control/json_fields.hpp"

namespace kplug::control {

namespace {

using json = nlohmann::json;

json decision_json(const DecisionMessage& d) {
  json run = json::array();
  for (const auto& r : d.run) {
    json entry = {{"rule", r.rule}};
    if (!r.withheld) entry["argv"] = r.argv;
    run.push_back(std::move(entry));
  }
  return {{"type", "decision"}, {"seqnum", d.seqnum},     {"action", d.action},     {"devpath", d.devpath},
          {"subsystem", d.subsystem}, {"modalias", d.modalias}, {"source", d.source},  {"ignored", d.ignored},
          {"autoload", d.autoload}, {"reason", d.reason},   {"rules", d.rules},       {"load", d.load},
          {"run", run},             {"synth_uuid", d.synth_uuid}, {"priority", d.priority},
          {"priority_why", d.priority_why}};
}

json loads_json(const LoadsMessage& l) {
  json outcomes = json::array();
  for (const auto& o : l.outcomes)
    outcomes.push_back({{"module", o.module},
                        {"status", o.status},
                        {"duration_ms", o.duration_ms},
                        {"message", o.message},
                        {"pulled_in", o.pulled_in}});
  return {{"type", "loads"}, {"event", l.event}, {"modalias", l.modalias}, {"outcomes", outcomes}};
}

json unload_json(const UnloadMessage& u) {
  return {{"type", "unload"},         {"module", u.module},
          {"status", u.status},       {"message", u.message},
          {"duration_ms", u.duration_ms}, {"removed_dependencies", u.removed_dependencies}};
}

Result<EventMessage, std::string> read_decision(JsonFields& f) {
  DecisionMessage d;
  d.seqnum = f.count("seqnum");
  d.action = f.string("action");
  d.devpath = f.string("devpath");
  d.subsystem = f.string("subsystem");
  d.modalias = f.string("modalias");
  d.source = f.string("source", "kernel");
  d.ignored = f.boolean("ignored");
  d.autoload = f.boolean("autoload");
  d.reason = f.string("reason");
  d.priority = f.string("priority", "normal");
  static const std::string priorities = fmt::format("one of {}", priority_names);
  if (!priority_from_string(d.priority)) f.fail("priority", priorities.c_str());
  d.priority_why = f.string("priority_why");
  d.rules = f.strings("rules");
  d.load = f.strings("load");
  d.synth_uuid = f.string("synth_uuid");
  const json& run = f.raw("run");
  if (!run.is_null() && !run.is_array()) f.fail("run", "a list");
  if (run.is_array())
    for (const auto& entry : run) {
      JsonFields rf(entry, "a run entry");
      DecisionMessage::Run r{rf.string("rule"), rf.strings("argv"), !rf.has("argv")};
      if (!rf.ok()) return unexpected(rf.error());
      d.run.push_back(std::move(r));
    }
  if (!f.ok()) return unexpected(f.error());
  return EventMessage(std::move(d));
}

Result<EventMessage, std::string> read_loads(JsonFields& f) {
  LoadsMessage l;
  l.event = f.string("event");
  l.modalias = f.string("modalias");
  const json& list = f.raw("outcomes");
  if (!list.is_array()) f.fail("outcomes", "a list");
  if (list.is_array())
    for (const auto& o : list) {
      JsonFields of(o, "an outcome");
      LoadOutcome out{of.string("module"), of.string("status"), of.number("duration_ms"), of.string("message"),
                      of.strings("pulled_in")};
      if (!of.ok()) return unexpected(of.error());
      l.outcomes.push_back(std::move(out));
    }
  if (!f.ok()) return unexpected(f.error());
  return EventMessage(std::move(l));
}

Result<EventMessage, std::string> read_unload(JsonFields& f) {
  UnloadMessage u{f.string("module"), f.string("status"), f.string("message"), f.number("duration_ms"),
                  f.strings("removed_dependencies")};
  if (!f.ok()) return unexpected(f.error());
  return EventMessage(std::move(u));
}

}  // namespace

json to_json(const EventMessage& message) {
  if (const auto* d = std::get_if<DecisionMessage>(&message)) return decision_json(*d);
  if (const auto* l = std::get_if<LoadsMessage>(&message)) return loads_json(*l);
  return unload_json(std::get<UnloadMessage>(message));
}

Result<EventMessage, std::string> event_from_json(const json& m) {
  JsonFields f(m, "a stream message");
  std::string type = f.string("type");
  if (!f.ok()) return unexpected(f.error());
  if (type == "decision") return read_decision(f);
  if (type == "loads") return read_loads(f);
  if (type == "unload") return read_unload(f);
  return unexpected(fmt::format("kplugd sent a stream message of unknown type '{}'", printable(type, 64)));
}

EventMessage for_unprivileged_peer(EventMessage message) {
  if (auto* d = std::get_if<DecisionMessage>(&message))
    for (auto& r : d->run) {
      r.argv.clear();
      r.withheld = true;
    }
  return message;
}

}  // namespace kplug::control
