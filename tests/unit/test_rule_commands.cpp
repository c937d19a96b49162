// Rule actions on a fake command runner: what runs (and with which argv), what a dry run
// only tells, what a full queue drops; no process is started.
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include "daemon/rule_commands.hpp"
#include "daemon_fixtures.hpp"

using namespace kplug;
using kplug::test::add;

namespace {

Decision runs(std::vector<std::string> argv) {
  Decision d;
  d.run.emplace_back("notify", std::move(argv));
  return d;
}

}  // namespace

TEST_CASE("a rule's run: goes to the runner with its argv, and is counted once it ran", "[rule_commands]") {
  boost::asio::io_context io;
  Counters counters;
  test::FakeCommands fake;
  RuleCommands commands(io, RuleCommands::Settings{}, counters, fake);
  commands.run_actions(add("/devices/a", ""), runs({"/usr/bin/logger", "plugged /devices/a"}));
  io.run();
  REQUIRE(fake.state->ran.size() == 1);
  CHECK(fake.state->ran[0] == std::vector<std::string>{"/usr/bin/logger", "plugged /devices/a"});
  CHECK(counters.commands_run == 1);
  CHECK(commands.running() == 0);
  CHECK(commands.queued() == 0);
  commands.stop();
}

TEST_CASE("a dry run tells what would run and runs nothing", "[rule_commands]") {
  boost::asio::io_context io;
  Counters counters;
  test::FakeCommands fake;
  RuleCommands::Settings settings;
  settings.dry_run = true;
  RuleCommands commands(io, settings, counters, fake);
  commands.run_actions(add("/devices/a", ""), runs({"/bin/true"}));
  io.run();
  CHECK(fake.state->ran.empty());
  CHECK(counters.commands_run == 0);
}

TEST_CASE("a command that finds the queue full is dropped and counted", "[rule_commands]") {
  boost::asio::io_context io;
  Counters counters;
  test::FakeCommands fake;
  RuleCommands::Settings settings;
  settings.queue = 0;
  RuleCommands commands(io, settings, counters, fake);
  commands.run_actions(add("/devices/a", ""), runs({"/bin/true"}));
  io.run();
  CHECK(fake.state->ran.empty());
  CHECK(counters.commands_dropped == 1);
}

TEST_CASE("the settings are the config's, taken once", "[rule_commands]") {
  DaemonOptions options;
  options.dry_run = true;
  options.command_workers = 2;
  options.command_queue = 9;
  options.command_timeout = std::chrono::milliseconds(1500);
  auto s = RuleCommands::settings_of(options);
  CHECK(s.dry_run);
  CHECK(s.workers == 2);
  CHECK(s.queue == 9);
  CHECK(s.timeout == std::chrono::milliseconds(1500));
}
