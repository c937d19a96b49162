// Reading the config and rules again: put in force together or not at all, the module
// index refreshed either way, and the answer `kplug reload` prints.
#include <catch2/catch.hpp>

#include <spdlog/spdlog.h>

#include "daemon/reload.hpp"
#include "daemon_fixtures.hpp"

using namespace kplug;

namespace {

RuleSet rules_named(std::initializer_list<const char*> names) {
  RuleSet set;
  for (const char* name : names) {
    Rule rule;
    rule.name = name;
    set.rules.push_back(rule);
  }
  set.files = {"/etc/kplug/rules.d/10-test.yaml"};
  return set;
}

}  // namespace

TEST_CASE("a reload puts the new rules and the reloadable keys in force together", "[reload]") {
  test::FakeResolver resolver({});
  Counters counters;
  DaemonOptions options;
  auto rules = std::make_shared<const RuleSet>(rules_named({"old"}));
  Reloader reloader = [] {
    Settings next;
    next.options.log_level = "debug";
    next.options.dry_run = true;  // only at the next start
    next.rules = rules_named({"a", "b"});
    return Result<Settings, Diagnostics>(next);
  };
  auto problems = reload_settings(reloader, options, rules, resolver, counters);
  CHECK(problems.empty());
  CHECK(resolver.refreshes_ == 1);
  REQUIRE(rules->rules.size() == 2);
  CHECK(rules->rules[0].name == "a");
  CHECK(options.log_level == "debug");
  CHECK_FALSE(options.dry_run);
  auto reply = reload_reply(problems, rules->rules.size());
  CHECK(reply.ok);
  CHECK(reply.rules == 2);
  spdlog::set_level(spdlog::level::info);
}

TEST_CASE("a reload that fails keeps the old rules and options and says why", "[reload]") {
  test::FakeResolver resolver({});
  Counters counters;
  DaemonOptions options;
  auto rules = std::make_shared<const RuleSet>(rules_named({"old"}));
  Reloader reloader = [] {
    return Result<Settings, Diagnostics>(unexpected(Diagnostics{{"/etc/kplug/config.yaml", 3, 1, "unknown key 'autolaod'"}}));
  };
  auto problems = reload_settings(reloader, options, rules, resolver, counters);
  REQUIRE(problems.size() == 1);
  CHECK(resolver.refreshes_ == 1);  // the index is read again whatever the config says
  REQUIRE(rules->rules.size() == 1);
  CHECK(rules->rules[0].name == "old");
  CHECK(options.log_level == "info");
  auto reply = reload_reply(problems, rules->rules.size());
  CHECK_FALSE(reply.ok);
  CHECK(reply.errors == std::vector<std::string>{"/etc/kplug/config.yaml:3:1: unknown key 'autolaod'"});
  CHECK(reply.rules == 1);
}

TEST_CASE("without a reloader there is nothing to reload and nothing changes", "[reload]") {
  test::FakeResolver resolver({});
  Counters counters;
  DaemonOptions options;
  auto rules = std::make_shared<const RuleSet>(rules_named({"old"}));
  CHECK(reload_settings({}, options, rules, resolver, counters).empty());
  CHECK(resolver.refreshes_ == 0);
  CHECK(rules->rules[0].name == "old");
}
