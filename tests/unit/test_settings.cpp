// Settings: the config file, then the command line's flags, then the rules of the
// resulting dirs.
#include <catch2/catch.hpp>

#include "rules/settings.hpp"
#include "temp_tree.hpp"

using namespace kplug;
using kplug::test::TempTree;

namespace {
std::string rule(const std::string& name) { return "- name: " + name + "\n"; }
}  // namespace

TEST_CASE("settings: config file, then flags, then the rules of the resulting dirs", "[settings]") {
  TempTree t;
  std::string dir = t.dir("rules");
  t.write("rules/10-x.yaml", rule("x"));
  std::string config = t.write("config.yaml", "rules_dirs: [" + dir + "]\nautoload: false\nunload:\n  grace: 2s\n");
  Overrides o;
  o.config_path = config;
  o.unload_grace = std::chrono::milliseconds(700);
  auto s = load_settings(o);
  REQUIRE(s.has_value());
  CHECK_FALSE(s->options.autoload);
  CHECK(s->options.unload_grace == std::chrono::milliseconds(700));  // the flag wins
  REQUIRE(s->rules.rules.size() == 1);
  CHECK(s->rules.rules[0].name == "x");

  t.write("rules/20-bad.yaml", "- name: y\n  lod: [z]\n");
  auto bad = load_settings(o);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error()[0].to_string() == dir + "/20-bad.yaml:2:3: unknown rule key 'lod', did you mean 'load'?");

  Overrides missing;
  missing.config_path = (t.root / "nope.yaml").string();
  auto m = load_settings(missing);
  REQUIRE_FALSE(m.has_value());  // a config named on the command line must exist
  CHECK(m.error()[0].message.find("cannot read the config file") == 0);
}

TEST_CASE("a reload takes the keys that apply at once and names the others", "[settings]") {
  DaemonOptions current;
  current.modules_dir = "/lib/modules/a";
  current.control_socket = "/run/kplug/control.sock";
  DaemonOptions next = current;
  next.rules_dirs = {"/etc/other"};
  next.autoload = false;
  next.unload = false;
  next.unload_grace = std::chrono::milliseconds(9000);
  next.unload_subsystems = {"usb"};
  next.log_level = "debug";
  next.modules_dir = "/lib/modules/b";
  next.dry_run = !current.dry_run;
  next.control_socket = "/tmp/elsewhere.sock";
  CHECK(take_reloadable(current, next) == std::vector<std::string>{"modules_dir", "dry_run"});
  CHECK(current.rules_dirs == next.rules_dirs);
  CHECK_FALSE(current.autoload);
  CHECK_FALSE(current.unload);
  CHECK(current.unload_grace == std::chrono::milliseconds(9000));
  CHECK(current.unload_subsystems == std::vector<std::string>{"usb"});
  CHECK(current.log_level == "debug");
  CHECK(current.modules_dir == "/lib/modules/a");              // at the next start
  CHECK(current.control_socket == "/run/kplug/control.sock");  // likewise
  CHECK(take_reloadable(current, current).empty());
}
