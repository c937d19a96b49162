// The rule language: parsing, every match key and action, precedence, and errors with
// their line and column.
#include <catch2/catch.hpp>

#include <algorithm>

#include "rules/decision.hpp"
#include "rules/rule_loader.hpp"

using namespace kplug;

namespace {

RuleSet rules(const std::string& yaml, const std::string& file = "t.yaml") {
  RuleSet set;
  Diagnostics diags;
  parse_rules(yaml, file, set.rules, diags);
  for (const auto& d : diags) FAIL_CHECK(d.to_string());
  REQUIRE(diags.empty());
  return set;
}

std::vector<std::string> errors(const std::string& yaml) {
  std::vector<Rule> out;
  Diagnostics diags;
  parse_rules(yaml, "bad.yaml", out, diags);
  std::vector<std::string> text;
  for (const auto& d : diags) text.push_back(d.to_string());
  return text;
}

Uevent event(std::vector<std::pair<std::string, std::string>> extra, std::string action = "add") {
  Uevent ev;
  ev.action = action;
  ev.devpath = "/devices/pci0000:00/0000:00:02.0/usb1/1-1/1-1:1.0";
  ev.subsystem = "usb";
  ev.properties = {{"ACTION", action}, {"DEVPATH", ev.devpath}, {"SUBSYSTEM", "usb"}};
  for (auto& p : extra) ev.properties.push_back(std::move(p));
  return ev;
}

const std::string ccid = "usb:v08E6p4433d0000dc00dsc00dp00ic0Bisc00ip00in00";

bool matched(const Decision& d, const std::string& name) {
  return std::any_of(d.trace.begin(), d.trace.end(), [&](const RuleTrace& t) { return t.rule->name == name && t.matched; });
}

}  // namespace

TEST_CASE("every match key", "[rules]") {
  auto set = rules(R"(
- name: by-action
  match: {action: [add, change]}
- name: by-subsystem
  match: {subsystem: "us?"}
- name: by-devtype
  match: {devtype: usb_interface}
- name: by-driver
  match: {driver: "usb_*"}
- name: by-modalias
  match: {modalias: "usb:v08E6p4433*"}
- name: by-devpath
  match: {devpath: "/devices/pci0000:00/*/usb1/*"}
- name: by-env
  match: {env: {INTERFACE: "11/0/0", PRODUCT: "8e6/*"}}
- name: by-attr
  match: {attr: {idVendor: "08e6"}}
- name: by-not
  match: {not: {subsystem: pci}}
- name: everything
- name: missing-env
  match: {env: {NOPE: "*"}}
- name: char-class
  match: {modalias: "usb:v08E[0-9]p*"}
)");
  auto ev = event({{"DEVTYPE", "usb_interface"}, {"DRIVER", "usb_hello"}, {"MODALIAS", ccid},
                   {"INTERFACE", "11/0/0"}, {"PRODUCT", "8e6/4433/0"}});
  AttrReader attrs = [](const std::string& devpath, const std::string& name) -> std::optional<std::string> {
    if (devpath.find("1-1:1.0") != std::string::npos && name == "idVendor") return "08e6";
    return std::nullopt;
  };
  Decision d = decide(set, Config{}, ev, attrs);
  for (const char* name : {"by-action", "by-subsystem", "by-devtype", "by-driver", "by-modalias", "by-devpath",
                           "by-env", "by-attr", "by-not", "everything", "char-class"}) {
    INFO(name);
    CHECK(matched(d, name));
  }
  CHECK_FALSE(matched(d, "missing-env"));

  // And each one fails on an event that differs in just that key.
  Uevent other = event({{"MODALIAS", "pci:v1"}}, "remove");
  other.subsystem = "pci";
  other.devpath = "/devices/platform/x";
  Decision o = decide(set, Config{}, other, attrs);
  for (const char* name : {"by-action", "by-subsystem", "by-devtype", "by-driver", "by-modalias", "by-devpath",
                           "by-env", "by-attr", "by-not"}) {
    INFO(name);
    CHECK_FALSE(matched(o, name));
  }
  auto trace = std::find_if(o.trace.begin(), o.trace.end(), [](auto& t) { return t.rule->name == "by-subsystem"; });
  CHECK(trace->reasons == std::vector<std::string>{"subsystem 'pci' does not match 'us?'"});
}

TEST_CASE("actions and how they combine", "[rules]") {
  auto set = rules(R"(
- name: first
  match: {subsystem: usb}
  load: [extra_a]
  blacklist: [usb_hello]
  options: {extra_a: "debug=1"}
  unload_on_remove: false
  unload_grace: 10s
  log: "first saw {DEVPATH}"
  run: [/usr/bin/logger, "{MODALIAS}"]
- name: second
  match: {subsystem: usb}
  load: [extra_b]
  options: {extra_a: "debug=2"}
  unload_on_remove: true
- name: third-stops
  match: {subsystem: usb}
  autoload: false
  stop: true
- name: never-reached
  load: [never]
)");
  Decision d = decide(set, Config{}, event({{"MODALIAS", ccid}}));
  CHECK(d.load == std::vector<std::pair<std::string, std::string>>{{"extra_a", "first"}, {"extra_b", "second"}});
  CHECK(d.blacklist == std::set<std::string>{"usb_hello"});
  CHECK(d.options.at("extra_a") == "debug=2");  // later rules override a setting
  CHECK(d.unload_on_remove);
  CHECK(d.unload_grace == std::chrono::seconds(10));  // earlier value stays when not set again
  CHECK_FALSE(d.autoload);
  CHECK(d.reason == "rule 'third-stops' sets autoload: false");
  CHECK(d.logs == std::vector<std::pair<std::string, std::string>>{{"first", "first saw " + event({}).devpath}});
  REQUIRE(d.run.size() == 1);
  CHECK(d.run[0].second == std::vector<std::string>{"/usr/bin/logger", ccid});
  CHECK(d.trace.size() == 3);  // stop: never-reached was not even tested
}

TEST_CASE("ignore drops the event; loads only happen on add", "[rules]") {
  auto set = rules(R"(
- name: drop-pci
  match: {subsystem: pci}
  ignore: true
- name: load-always
  load: [extra]
  log: "seen {ACTION}"
)");
  Uevent pci = event({{"MODALIAS", "pci:v1"}});
  pci.subsystem = "pci";
  Decision ignored = decide(set, Config{}, pci);
  CHECK(ignored.ignore);
  CHECK(ignored.load.empty());
  CHECK(ignored.logs.empty());
  CHECK_FALSE(ignored.autoload);

  Decision removal = decide(set, Config{}, event({{"MODALIAS", ccid}}, "remove"));
  CHECK(removal.load.empty());  // a rule's load acts on add events only
  CHECK_FALSE(removal.autoload);
  CHECK(removal.logs.size() == 1);  // log and run act on every event the rule matches
}

TEST_CASE("config defaults: autoload, and unload by subsystem", "[rules]") {
  Config c;
  CHECK(decide({}, c, event({{"MODALIAS", ccid}})).autoload);
  CHECK(decide({}, c, event({{"MODALIAS", ccid}})).unload_on_remove);  // usb is in unload.subsystems
  Uevent pci = event({{"MODALIAS", "pci:v1"}});
  pci.subsystem = "pci";
  CHECK_FALSE(decide({}, c, pci).unload_on_remove);
  c.autoload = false;
  CHECK_FALSE(decide({}, c, event({{"MODALIAS", ccid}})).autoload);
  c.unload = false;
  CHECK_FALSE(decide({}, c, event({{"MODALIAS", ccid}})).unload_on_remove);
  CHECK_FALSE(decide({}, Config{}, event({})).autoload);  // nothing to resolve
}

TEST_CASE("every kind of error, with its line and column, all of them", "[rules][errors]") {
  auto e = errors(R"(- name: one
  match:
    subsytem: usb
    modalias: "usb:[abc"
    action: explode
  lod: [x]
  autoload: maybe
  unload_grace: soon
  run: "/bin/echo hi"
  load: ["../../evil"]
  log: "unclosed {KEY"
- name: one
- match: {subsystem: usb}
- name: two
  env: {X: y}
)");
  std::vector<std::string> want = {
      "bad.yaml:3:5: unknown match key 'subsytem', did you mean 'subsystem'?",
      "bad.yaml:4:15: bad glob 'usb:[abc' in modalias: has a '[' without a closing ']'",
      "bad.yaml:5:13: unknown action 'explode' (add, remove, change, move, online, offline, bind, unbind)",
      "bad.yaml:6:3: unknown rule key 'lod', did you mean 'load'?",
      "bad.yaml:7:13: autoload must be true or false",
      "bad.yaml:8:17: unload_grace must be a duration such as 5s, 500ms, 2m or 1h, at most a day (got 'soon')",
      "bad.yaml:9:8: run must be a list: the program and its arguments (no shell is used)",
      "bad.yaml:10:9: '../../evil' in load is not a module name (letters, digits, '_' and '-')",
      "bad.yaml:11:8: log: '{' at offset 9 is not closed by '}'",
      "bad.yaml:13:3: rule has no name",
      "bad.yaml:15:3: 'env' is not a rule key: it goes under 'match:'",
  };
  CHECK(e == want);
}

TEST_CASE("YAML syntax errors and wrong shapes", "[rules][errors]") {
  CHECK(errors("- name: x\n  match: {subsystem: usb\n").size() == 1);
  CHECK(errors("- name: x\n  match: {subsystem: usb\n")[0].rfind("bad.yaml:3:1: YAML syntax error", 0) == 0);
  CHECK(errors("name: x\n") ==
        std::vector<std::string>{"bad.yaml:1:1: a rule file holds a list of rules (each item starting with '- name: ...')"});
  CHECK(errors("- name: [x]\n") == std::vector<std::string>{"bad.yaml:1:3: rule has no name",
                                                             "bad.yaml:1:9: name must be a string, not a list"});
  CHECK(errors("").empty());  // an empty file holds no rules
  // A second document is not dropped in silence.
  CHECK(errors("- name: a\n  match: {subsystem: usb}\n---\n- name: b\n  match: {subsystem: net}\n") ==
        std::vector<std::string>{"bad.yaml:3:1: a second YAML document ('---'): kplug reads one document a file, so "
                                 "put everything in one (or split it into 2 files)"});
  // A "---" that starts the file is not a second document; content after "..." is one.
  CHECK(errors("---\n- name: a\n  match: {subsystem: usb}\n").empty());
  CHECK(errors("- name: a\n  match: {subsystem: usb}\n...\n- name: b\n") ==
        std::vector<std::string>{"bad.yaml:4:1: a second YAML document ('---'): kplug reads one document a file, so "
                                 "put everything in one (or split it into 2 files)"});
  // A NUL byte (yaml-cpp's LoadAll never returned on one: fuzz_rules) is refused where it is.
  CHECK(errors(std::string("- name: x\n  lo\0ad: [a]\n", 20)) ==
        std::vector<std::string>{"bad.yaml:2:5: a NUL byte: a YAML file is text"});
  // A quoted "true" is a string, not a boolean.
  CHECK(errors("- name: x\n  match: {subsystem: usb}\n  ignore: \"true\"\n") ==
        std::vector<std::string>{"bad.yaml:3:11: ignore must be true or false, not the string \"true\" (drop the "
                                 "quotes)"});
  CHECK(errors("- name: x\n  match: {subsystem: usb}\n  load: [\"bad name!\"]\n") ==
        std::vector<std::string>{"bad.yaml:3:9: 'bad name!' in load is not a module name (letters, digits, '_' and "
                                 "'-')"});
  CHECK(rules("- name: x\n  match: {subsystem: usb}\n  unload_grace: 1h\n").rules[0].unload_grace ==
        std::chrono::hours(1));
  CHECK(errors("- name: x\n  match: {env: {\"BAD KEY\": y}}\n").size() == 1);
  CHECK(errors("- name: x\n  match: {attr: {\"../etc/passwd\": y}}\n") ==
        std::vector<std::string>{"bad.yaml:2:17: '../etc/passwd' is not a valid attr name"});
}
