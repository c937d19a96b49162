// `run` actions: a hostile value passes as one literal argv element, no shell is ever
// started, the environment is clean and the time limit holds.
#include <catch2/catch.hpp>

#include <filesystem>

#include "daemon/command_runner.hpp"
#include "rules/decision.hpp"
#include "rules/rule_loader.hpp"
#include "daemon_fixtures.hpp"

using namespace kplug;

namespace {
using kplug::test::event_with;
using kplug::test::hostile;
}  // namespace

TEST_CASE("a hostile value reaches the program as one literal argument", "[run]") {
  RuleSet set;
  Diagnostics diags;
  parse_rules("- name: r\n  run: [/usr/bin/printf, \"<%s>\", \"{EVIL}\"]\n", "r.yaml", set.rules, diags);
  REQUIRE(diags.empty());
  Decision d = decide(set, Config{}, event_with(hostile));
  REQUIRE(d.run.size() == 1);
  const auto& argv = d.run[0].second;
  REQUIRE(argv.size() == 3);  // the value did not split into several arguments
  CHECK(argv[2] == hostile);

  CommandResult r = run_command(argv, std::chrono::seconds(5));
  REQUIRE(r.started);
  CHECK(r.exit_status == 0);
  CHECK_FALSE(r.timed_out);
  // printf saw exactly one argument, byte for byte: no word splitting, no $(...), no
  // backticks, no globbing, no variable expansion -- no shell was involved.
  CHECK(r.output == std::vector<std::string>{"<a; rm -rf / $(id) `id` 'q' \"dq\"", "next line  two  spaces $HOME *>"});
}

TEST_CASE("commands run without a shell, with a clean environment and a time limit", "[run]") {
  // /proc/self/exe of the child is the program itself, not /bin/sh.
  CommandResult self = run_command({"/usr/bin/readlink", "/proc/self/exe"}, std::chrono::seconds(5));
  REQUIRE(self.output.size() == 1);
  CHECK(std::filesystem::path(self.output[0]).filename() == "readlink");
  CommandResult env = run_command({"env"}, std::chrono::seconds(5));  // found through the fixed PATH
  CHECK(env.output == std::vector<std::string>{std::string("PATH=") + command_search_path});
  CommandResult slow = run_command({"/bin/sleep", "10"}, std::chrono::milliseconds(300));
  CHECK(slow.timed_out);
  CHECK(slow.duration < std::chrono::seconds(5));
  CommandResult fail = run_command({"/bin/false"}, std::chrono::seconds(5));
  CHECK(fail.exit_status == 1);
  CommandResult missing = run_command({"no-such-program-kplug"}, std::chrono::seconds(5));
  CHECK_FALSE(missing.started);
  CHECK(missing.error.find("not found") != std::string::npos);
}
