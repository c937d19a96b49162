// The control protocol's JSON, both ways, without exceptions.
#include "control/protocol.hpp"

#include "control/events.hpp"

#include <cmath>

#include <fmt/format.h>

#include "base/text.hpp"
#include "control/json_fields.hpp"

namespace kplug::control {

namespace {

using nlohmann::json;

struct KindName {
  RequestKind kind;
  const char* name;
};
constexpr KindName kinds[] = {{RequestKind::status, "status"},
                              {RequestKind::loaded, "loaded"},
                              {RequestKind::reload, "reload"},
                              {RequestKind::settle, "settle"},
                              {RequestKind::events, "events"}};

// Gauges of the status reply: top-level counts beside "counters".
constexpr const char* gauge_names[] = {"cache_hits",       "cache_misses",     "in_flight",     "queue_depth",
                                       "events_in_progress", "loader_threads", "loader_threads_running",
                                       "pending_unloads", "ledger_modules",
                                       "rules",            "last_seqnum",      "sessions",      "commands_running",
                                       "commands_queued"};

// The reply must be an object with "ok": true; otherwise its error (or what is wrong with it).
Result<bool, std::string> check_ok(const json& j) {
  if (!j.is_object()) return unexpected(std::string("the reply is not a JSON object"));
  if (std::string e = reply_error(j); !e.empty()) return unexpected(e);
  return true;
}

}  // namespace

const char* to_string(RequestKind kind) {
  for (const auto& k : kinds)
    if (k.kind == kind) return k.name;
  return "?";
}

bool needs_root(RequestKind kind) { return kind == RequestKind::reload; }

Result<Request, std::string> parse_request(const json& j) {
  if (!j.is_object()) return unexpected(std::string("a request is one JSON object per line"));
  auto what = j.find("request");
  if (what == j.end() || !what->is_string())
    return unexpected(std::string("'request' must be a string: status, loaded, reload, settle or events"));
  const std::string& name = what->get_ref<const std::string&>();
  Request r;
  bool known = false;
  for (const auto& k : kinds)
    if (name == k.name) r.kind = k.kind, known = true;
  if (!known)
    return unexpected(fmt::format("unknown request '{}' (status, loaded, reload, settle, events)", printable(name, 64)));
  for (const auto& [key, value] : j.items()) {
    if (key == "request") continue;
    if (key == "timeout" && r.kind == RequestKind::settle) {
      // NaN and infinities cannot come from JSON; huge numbers can.
      if (!value.is_number() || value.get<double>() < 0 || value.get<double>() > max_settle_timeout_s)
        return unexpected(fmt::format("'timeout' must be a number of seconds from 0 to {:g}", max_settle_timeout_s));
      r.timeout_s = value.get<double>();
      continue;
    }
    if (key == "critical" && r.kind == RequestKind::settle) {
      if (!value.is_boolean()) return unexpected(std::string("'critical' must be true or false"));
      r.critical = value.get<bool>();
      continue;
    }
    return unexpected(fmt::format("unknown field '{}' in a '{}' request", printable(key, 64), name));
  }
  return r;
}

Result<Request, std::string> parse_request_line(std::string_view line) {
  auto j = json::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded()) return unexpected(std::string("a request is one JSON object per line"));
  return parse_request(j);
}

json to_json(const Request& r) {
  json j = {{"request", to_string(r.kind)}};
  if (r.kind == RequestKind::settle) j["timeout"] = r.timeout_s;
  if (r.kind == RequestKind::settle && r.critical) j["critical"] = true;
  return j;
}

std::string to_line(const json& message) {
  return message.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

json error_reply(const std::string& message) { return {{"ok", false}, {"error", message}}; }

std::string reply_error(const json& reply) {
  if (!reply.is_object()) return "kplugd sent something that is not a JSON object";
  auto ok = reply.find("ok");
  if (ok != reply.end() && ok->is_boolean() && ok->get<bool>()) return "";
  auto error = reply.find("error");
  if (error != reply.end() && error->is_string()) return error->get<std::string>();
  if (ok == reply.end() || !ok->is_boolean()) return "kplugd's reply has no \"ok\" field";
  return "kplugd answered that it failed, without saying why";
}

// ---- the ledger

json to_json(const LedgerModules& modules) {
  json out = json::object();
  for (const auto& [name, m] : modules)
    out[name] = {{"devices", m.devices},
                 {"cause", m.cause},
                 {"load_time_ms", m.load_time_ms},
                 {"loaded_at", m.loaded_at},
                 {"unload_on_remove", m.unload_on_remove},
                 {"unload_grace_ms", m.unload_grace_ms},
                 {"pulled_in", m.pulled_in}};
  return out;
}

Result<LedgerModules, std::string> ledger_from_json(const json& j) {
  if (!j.is_object()) return unexpected(std::string("the ledger must be an object of modules"));
  LedgerModules out;
  for (const auto& [name, e] : j.items()) {
    JsonFields f(e, "module '" + printable(name, 64) + "'");
    LedgerModule m;
    m.devices = f.strings("devices");
    m.cause = f.string("cause");
    // State files written before the encoding was shared kept microseconds.
    m.load_time_ms = f.has("load_time_us") ? static_cast<double>(f.integer("load_time_us")) / 1000.0
                                           : f.number("load_time_ms");
    m.loaded_at = f.integer("loaded_at");
    m.unload_on_remove = f.boolean("unload_on_remove", true);
    m.unload_grace_ms = f.integer("unload_grace_ms", 5000);
    m.pulled_in = f.strings("pulled_in");
    if (!f.ok()) return unexpected(f.error());
    out.emplace(name, std::move(m));
  }
  return out;
}

std::string state_file_text(const LedgerModules& modules) {
  return json{{"version", 1}, {"modules", to_json(modules)}}.dump(1, ' ', false, json::error_handler_t::replace) +
         "\n";
}

Result<LedgerModules, std::string> state_from_text(std::string_view text) {
  auto j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return unexpected(std::string("not a JSON object"));
  JsonFields f(j, "the state file");
  if (f.integer("version") != 1) return unexpected(std::string("unknown version"));
  if (!f.has("modules")) return unexpected(std::string("no \"modules\""));
  return ledger_from_json(f.raw("modules"));
}

// ---- status

std::uint64_t StatusReply::counter(const std::string& name) const {
  auto it = counters.find(name);
  return it == counters.end() ? 0 : it->second;
}

std::uint64_t StatusReply::gauge(const std::string& name) const {
  auto it = gauges.find(name);
  return it == gauges.end() ? 0 : it->second;
}

json to_json(const StatusReply& r) {
  json counters = json::object();
  for (const auto& [k, v] : r.counters) counters[k] = v;
  counters["rejected_by_reason"] = r.rejected_by_reason;
  counters["forged_by_shape"] = r.forged_by_shape;
  json slow = json::array();
  for (const auto& s : r.slow_loads)
    slow.push_back({{"module", s.module}, {"devpath", s.devpath}, {"running_s", s.running_s}});
  json failed = json::array();
  for (const auto& f : r.failed_loads)
    failed.push_back({{"module", f.module}, {"devpath", f.devpath}, {"errno", f.error}, {"message", f.message},
                      {"count", f.count}, {"last_unix", f.last_unix}});
  json j = {{"ok", true},         {"version", r.version}, {"uptime_s", r.uptime_s}, {"ready", r.ready},
            {"dry_run", r.dry_run}, {"counters", counters}, {"slow_loads", slow}, {"failed_loads", failed}};
  for (const auto& [k, v] : r.gauges) j[k] = v;
  return j;
}

Result<StatusReply, std::string> status_from_json(const json& j) {
  if (auto ok = check_ok(j); !ok) return unexpected(ok.error());
  JsonFields f(j, "status");
  // A status without these is not kplugd's.
  for (const char* key : {"version", "counters"})
    if (!f.has(key)) return unexpected(fmt::format("the status reply has no \"{}\" field", key));
  StatusReply r;
  r.version = f.string("version");
  r.uptime_s = f.number("uptime_s");
  r.ready = f.boolean("ready");
  r.dry_run = f.boolean("dry_run");
  for (const char* g : gauge_names)
    if (f.has(g)) r.gauges[g] = f.count(g);
  JsonFields c(f.raw("counters"), "status counters");
  for (const auto& [k, v] : f.raw("counters").items()) {
    if (k == "rejected_by_reason" || k == "forged_by_shape") continue;
    r.counters[k] = c.count(k.c_str());
  }
  r.rejected_by_reason = c.counts("rejected_by_reason");
  r.forged_by_shape = c.counts("forged_by_shape");
  const json& slow = f.raw("slow_loads");
  if (!slow.is_null() && !slow.is_array()) f.fail("slow_loads", "a list");
  if (slow.is_array())
    for (const auto& s : slow) {
      JsonFields sf(s, "a slow load");
      r.slow_loads.push_back({sf.string("module"), sf.string("devpath"), sf.number("running_s")});
      if (!sf.ok()) return unexpected(sf.error());
    }
  const json& failed = f.raw("failed_loads");
  if (!failed.is_null() && !failed.is_array()) f.fail("failed_loads", "a list");
  if (failed.is_array())
    for (const auto& e : failed) {
      JsonFields ff(e, "a failed load");
      r.failed_loads.push_back({ff.string("module"), ff.string("devpath"), static_cast<int>(ff.count("errno")),
                                ff.string("message"), ff.count("count"), ff.number("last_unix")});
      if (!ff.ok()) return unexpected(ff.error());
    }
  if (!f.ok()) return unexpected(f.error());
  if (!c.ok()) return unexpected(c.error());
  return r;
}

// ---- loaded, reload, settle

json to_json(const LoadedReply& r) { return {{"ok", true}, {"loaded", to_json(r.modules)}, {"dry_run", r.dry_run}}; }

Result<LoadedReply, std::string> loaded_from_json(const json& j) {
  if (auto ok = check_ok(j); !ok) return unexpected(ok.error());
  auto it = j.find("loaded");
  if (it == j.end()) return unexpected(std::string("the reply has no \"loaded\" field"));
  auto modules = ledger_from_json(*it);
  if (!modules) return unexpected(modules.error());
  auto dry = j.find("dry_run");  // absent from an older kplugd: not a dry run
  if (dry != j.end() && !dry->is_boolean()) return unexpected(std::string("loaded: 'dry_run' must be true or false"));
  return LoadedReply{std::move(*modules), dry != j.end() && dry->get<bool>()};
}

json to_json(const ReloadReply& r) { return {{"ok", r.ok}, {"errors", r.errors}, {"rules", r.rules}}; }

Result<ReloadReply, std::string> reload_from_json(const json& j) {
  if (!j.is_object()) return unexpected(std::string("the reply is not a JSON object"));
  JsonFields f(j, "reload");
  if (!f.has("errors") && reply_error(j).empty()) return unexpected(std::string("the reload reply has no \"errors\" field"));
  ReloadReply r;
  r.ok = f.boolean("ok");
  r.errors = f.strings("errors");
  r.rules = f.count("rules");
  if (!f.ok()) return unexpected(f.error());
  // A refusal ("needs root") has an error and no list of problems.
  if (!r.ok && r.errors.empty()) return unexpected(reply_error(j));
  return r;
}

json to_json(const SettleReply& r) {
  if (r.settled) return {{"ok", true}, {"settled", true}, {"seqnum", r.seqnum}};
  json out = error_reply(r.error);
  out["settled"] = false;  // an answer (not settled in time), not a failed request
  return out;
}

Result<SettleReply, std::string> settle_from_json(const json& j) {
  if (j.is_object() && j.contains("settled") && j["settled"] == false)
    return SettleReply{false, 0, reply_error(j).empty() ? "not settled" : reply_error(j)};
  if (auto ok = check_ok(j); !ok) return unexpected(ok.error());
  JsonFields f(j, "settle");
  SettleReply r;
  r.settled = f.boolean("settled");
  r.seqnum = f.count("seqnum");
  if (!f.ok()) return unexpected(f.error());
  if (!r.settled) return unexpected(std::string("kplugd answered without saying it settled"));
  return r;
}

// ---- the events stream

json events_started() { return {{"ok", true}, {"stream", "events"}}; }

json lagged(std::uint64_t dropped) { return {{"lagged", dropped}}; }

namespace {

// One load outcome in words; the stable name stays in --json. A time only for a load that
// ran (a dry run's "would load" took none).
std::string describe_outcome(const LoadOutcome& o) {
  std::string module = printable(o.module, 64);
  if (o.status == "loaded") return fmt::format("{} loaded ({:.1f} ms)", module, o.duration_ms);
  if (o.status == "would_load") return fmt::format("{} would load (dry run: nothing loaded)", module);
  if (o.status == "already_loaded") return fmt::format("{} was loaded already", module);
  if (o.status == "builtin") return fmt::format("{} is built into the kernel", module);
  if (o.status == "blacklisted")  // by modprobe.d or by a kplug rule; the message says which when it can
    return fmt::format("{} is blacklisted{}", module, o.message.empty() ? "" : " (" + printable(o.message, 200) + ")");
  if (o.status == "failed") return fmt::format("{} failed after {:.1f} ms", module, o.duration_ms);
  return fmt::format("{} {}", module, printable(o.status, 32));
}

// An unload in words; the message (why it was refused, what else went) after a colon.
std::string describe_unload(const UnloadMessage& u) {
  std::string module = printable(u.module, 64);
  std::string said = u.message.empty() ? "" : ": " + printable(u.message);
  if (u.status == "unloaded") return fmt::format("{} unloaded ({:.1f} ms){}", module, u.duration_ms, said);
  if (u.status == "would_unload") return fmt::format("{} would unload (dry run: nothing unloaded){}", module, said);
  if (u.status == "in_use") return fmt::format("{} kept: still in use{}", module, said);
  if (u.status == "not_loaded") return fmt::format("{} was not loaded{}", module, said);
  if (u.status == "failed") return fmt::format("{} failed to unload{}", module, said);
  return fmt::format("{} {}{}", module, printable(u.status, 32), said);
}

}  // namespace

Result<std::string, std::string> describe_stream_message(const json& m) {
  if (m.is_object() && m.contains("lagged")) {
    JsonFields f(m, "a stream message");
    std::uint64_t n = f.count("lagged");
    if (!f.ok()) return unexpected(f.error());
    return fmt::format("lagged   kplugd dropped {} message(s) this client did not read in time, and disconnected", n);
  }
  auto message = event_from_json(m);
  if (!message) return unexpected(message.error());
  if (const auto* d = std::get_if<DecisionMessage>(&*message)) {
    std::string rules;
    for (const auto& r : d->rules) rules += (rules.empty() ? "" : ", ") + printable(r, 256);
    std::string priority = d->priority == "normal" || d->ignored ? ""
                                                                 : fmt::format("; priority {}", printable(d->priority, 16));
    return fmt::format("decision {} {} {} ({}): {} ({}){}{}", d->seqnum, printable(d->action, 64),
                       printable(d->devpath), printable(d->subsystem, 64),
                       d->ignored ? "ignored" : (d->autoload ? "autoload" : "no autoload"), printable(d->reason),
                       priority, rules.empty() ? "" : "; rules: " + rules);
  }
  if (const auto* l = std::get_if<LoadsMessage>(&*message)) {
    std::string outcomes;
    for (const auto& o : l->outcomes)
      outcomes += (outcomes.empty() ? "" : ", ") + describe_outcome(o);
    return fmt::format("loads    {}: {}", printable(l->event), outcomes);
  }
  return "unload   " + describe_unload(std::get<UnloadMessage>(*message));
}

}  // namespace kplug::control
