// The matcher: every rule's conditions tested against the event, then the actions of the
// matching rules applied in order. Later rules override earlier ones for a setting;
// lists (load, blacklist, run, log) accumulate; `stop` ends the walk.
#include "rules/decision.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "rules/boot_priority.hpp"
#include "rules/glob.hpp"
#include "rules/template.hpp"

namespace kplug {

namespace {

const char* kind_name(Condition::Kind kind) {
  switch (kind) {
    case Condition::Kind::action: return "action";
    case Condition::Kind::subsystem: return "subsystem";
    case Condition::Kind::devtype: return "devtype";
    case Condition::Kind::driver: return "driver";
    case Condition::Kind::modalias: return "modalias";
    case Condition::Kind::devpath: return "devpath";
    case Condition::Kind::env: return "env";
    case Condition::Kind::attr: return "attr";
    case Condition::Kind::not_: return "not";
  }
  return "?";
}

std::optional<std::string> owned(std::optional<std::string_view> v) {
  if (!v) return std::nullopt;
  return std::string(*v);
}

std::string patterns(const std::vector<std::string>& globs) {
  std::string out;
  for (const auto& g : globs) out += (out.empty() ? "'" : " or '") + g + "'";
  return out;
}

// REASONS, when given, collects why each condition held or failed (kplug test, the
// decisions stream); without it the test is just the test, with nothing formatted.
bool test(const Match& match, const Uevent& ev, const AttrReader& attrs, std::vector<std::string>* reasons);

bool test(const Condition& c, const Uevent& ev, const AttrReader& attrs, std::vector<std::string>* reasons) {
  using K = Condition::Kind;
  if (c.kind == K::not_) {
    std::vector<std::string> inner;
    bool held = test(*c.negated, ev, attrs, reasons ? &inner : nullptr);
    if (reasons) reasons->push_back(fmt::format("not ({}): {}", fmt::join(inner, "; "), held ? "fails" : "holds"));
    return !held;
  }
  std::optional<std::string> value;
  std::string label = kind_name(c.kind);
  switch (c.kind) {
    case K::action: value = ev.action; break;
    case K::subsystem: value = ev.subsystem; break;
    case K::devpath: value = ev.devpath; break;
    case K::devtype: value = owned(ev.get("DEVTYPE")); break;
    case K::driver: value = owned(ev.get("DRIVER")); break;
    case K::modalias: value = owned(ev.get("MODALIAS")); break;
    case K::env:
      label = "env " + c.key;
      value = owned(ev.get(c.key));
      break;
    case K::attr:
      label = "attr " + c.key;
      if (attrs) value = attrs(ev.devpath, c.key);
      break;
    case K::not_: break;
  }
  if (!value) {
    if (reasons) reasons->push_back(fmt::format("{} is absent (wanted {})", label, patterns(c.globs)));
    return false;
  }
  bool hit = std::any_of(c.globs.begin(), c.globs.end(), [&](const std::string& g) { return glob_match(g, *value); });
  if (reasons)
    reasons->push_back(
        fmt::format("{} '{}' {} {}", label, *value, hit ? "matches" : "does not match", patterns(c.globs)));
  return hit;
}

bool test(const Match& match, const Uevent& ev, const AttrReader& attrs, std::vector<std::string>* reasons) {
  bool all = true;
  // Explaining looks at every condition; deciding stops at the first that fails.
  for (const auto& c : match.conditions) {
    all = test(c, ev, attrs, reasons) && all;
    if (!all && !reasons) return false;
  }
  if (match.conditions.empty() && reasons) reasons->push_back("no conditions: matches every event");
  return all;
}

void apply(const Rule& rule, const Uevent& ev, Decision& d) {
  if (rule.ignore) d.ignore = *rule.ignore;
  if (rule.autoload) {
    d.autoload = *rule.autoload;
    d.reason = fmt::format("rule '{}' sets autoload: {}", rule.name, *rule.autoload);
  }
  if (ev.action == "add")
    for (const auto& m : rule.load) {
      d.load.emplace_back(m, rule.name);
      if (rule.load_blacklisted) d.load_blacklisted.insert(m);
    }
  d.blacklist.insert(rule.blacklist.begin(), rule.blacklist.end());
  for (const auto& [module, opts] : rule.options) d.options[module] = opts;
  if (rule.unload_on_remove) d.unload_on_remove = *rule.unload_on_remove;
  if (rule.unload_grace) d.unload_grace = *rule.unload_grace;
  if (rule.priority) {
    d.priority = *rule.priority;
    d.priority_why = fmt::format("rule '{}' sets priority: {}", rule.name, to_string(*rule.priority));
  }
  if (!rule.run.empty()) {
    std::vector<std::string> argv;
    for (const auto& arg : rule.run) argv.push_back(expand_template(arg, ev));
    d.run.emplace_back(rule.name, std::move(argv));
  }
  if (!rule.log.empty()) d.logs.emplace_back(rule.name, expand_template(rule.log, ev));
}

}  // namespace

Decision decide(const RuleSet& rules, const Config& config, const Uevent& event, const AttrReader& attrs,
                bool explain) {
  Decision d;
  d.modalias = std::string(event.modalias());
  d.autoload = config.autoload;
  d.reason = config.autoload ? "autoload is on in the config" : "autoload is off in the config";
  d.unload_on_remove =
      config.unload && (config.unload_subsystems.empty() ||
                        std::find(config.unload_subsystems.begin(), config.unload_subsystems.end(),
                                  event.subsystem) != config.unload_subsystems.end());
  d.unload_grace = config.unload_grace;
  if (!config.boot_priority) {
    d.priority_why = "boot_priority is off in the config";
  } else if (event.action == "add") {  // only an add loads
    PriorityFact fact = device_priority(event);
    d.priority = fact.priority;
    d.priority_why = std::move(fact.why);
  }

  for (const auto& rule : rules.rules) {
    RuleTrace trace{&rule, false, {}};
    trace.matched = test(rule.match, event, attrs, explain ? &trace.reasons : nullptr);
    bool stop = trace.matched && rule.stop;
    if (trace.matched) apply(rule, event, d);
    d.trace.push_back(std::move(trace));
    if (stop) break;
  }
  // Autoload needs something to resolve, and only a device's arrival loads modules.
  if (d.ignore) {
    Decision ignored;
    ignored.ignore = true;
    ignored.modalias = std::move(d.modalias);
    ignored.trace = std::move(d.trace);
    ignored.reason = "a rule ignores it";
    d = std::move(ignored);
  } else if (event.action != "add") {
    d.autoload = false;
    d.reason = "not an add event";
  } else if (d.autoload && d.modalias.empty()) {
    d.autoload = false;
    d.reason = "no MODALIAS";
  }
  return d;
}

Decision default_decision(const Uevent& event) { return decide(RuleSet{}, Config{}, event); }

}  // namespace kplug
