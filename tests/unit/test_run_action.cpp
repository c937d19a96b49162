// `{KEY}` substitution, and `run` actions: a hostile value passes as one literal argv
// element and no shell is ever started.
#include <catch2/catch.hpp>

#include <filesystem>

#include "daemon/command_runner.hpp"
#include "rules/decision.hpp"
#include "rules/glob.hpp"
#include "rules/rule_loader.hpp"
#include "rules/template.hpp"

using namespace kplug;

namespace {
Uevent event_with(const std::string& value) {
  Uevent ev;
  ev.action = "add";
  ev.devpath = "/devices/x";
  ev.subsystem = "usb";
  ev.properties = {{"ACTION", "add"}, {"DEVPATH", "/devices/x"}, {"SUBSYSTEM", "usb"}, {"EVIL", value}};
  return ev;
}
const std::string hostile = "a; rm -rf / $(id) `id` 'q' \"dq\"\nnext line  two  spaces $HOME *";
}  // namespace

TEST_CASE("placeholders", "[template]") {
  Uevent ev = event_with("v");
  CHECK(expand_template("{ACTION} {DEVPATH} {EVIL}", ev) == "add /devices/x v");
  CHECK(expand_template("{MISSING}|", ev) == "|");
  CHECK(expand_template("{{literal}} {EVIL}", ev) == "{literal} v");
  CHECK_FALSE(template_error("{ACTION} and {{x}}").has_value());
  CHECK(template_error("{ACTION") == "'{' at offset 0 is not closed by '}'");
  CHECK(template_error("{}") == "empty placeholder '{}' at offset 0");
  CHECK(template_error("{A B}") == "placeholder '{A B}' is not a KEY (letters, digits, _)");
  CHECK(template_error("x}") == "lone '}' at offset 1 (write '}}' for a literal brace)");
  CHECK(expand_template("{EVIL}", event_with(hostile)) == hostile);  // verbatim, nothing interpreted
}

TEST_CASE("globs", "[glob]") {
  CHECK(glob_match("usb:v08E6p*", "usb:v08E6p4433d00"));
  CHECK(glob_match("[ab]?c", "bxc"));
  CHECK_FALSE(glob_match("usb", "usb2"));
  CHECK(glob_error("usb:[abc") == "has a '[' without a closing ']'");
  CHECK(glob_error("a]") == "has a ']' without an opening '['");
  CHECK(glob_error("x\\") == "ends with a lone backslash");
  CHECK_FALSE(glob_error("[]x]*").has_value());
}

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
