// Rule directories: lexical order across dirs, /etc overriding /run and /usr/lib by file
// name, /dev/null links masking, duplicate names across files.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "rules/config.hpp"
#include "rules/decision.hpp"
#include "rules/rule_loader.hpp"
#include "temp_tree.hpp"

using namespace kplug;
namespace fs = std::filesystem;
using kplug::test::TempTree;

namespace {

std::string rule(const std::string& name) { return "- name: " + name + "\n"; }

}  // namespace

TEST_CASE("files merge in name order; an earlier dir overrides; /dev/null masks", "[rules][dirs]") {
  TempTree t;
  std::string etc = t.dir("etc"), run = t.dir("run"), lib = t.dir("lib");
  t.write("lib/10-base.yaml", rule("base-from-lib"));
  t.write("lib/20-override-me.yaml", rule("from-lib"));
  t.write("etc/20-override-me.yaml", rule("from-etc"));
  t.write("run/15-middle.yaml", rule("middle"));
  t.write("lib/30-masked.yaml", rule("masked"));
  fs::create_symlink("/dev/null", fs::path(etc) / "30-masked.yaml");
  t.write("lib/notes.txt", "not a rule file");
  Diagnostics diags;
  std::vector<std::string> masked;
  auto files = rule_files({etc, run, lib, t.root / "missing"}, diags, &masked);
  CHECK(diags.empty());
  CHECK(files == std::vector<std::string>{lib + "/10-base.yaml", run + "/15-middle.yaml", etc + "/20-override-me.yaml"});
  CHECK(masked == std::vector<std::string>{etc + "/30-masked.yaml"});
  auto set = load_rules(files);
  REQUIRE(set.has_value());
  std::vector<std::string> names;
  for (const auto& r : set->rules) names.push_back(r.name);
  CHECK(names == std::vector<std::string>{"base-from-lib", "middle", "from-etc"});
}

TEST_CASE("a rule name may be used once across all files", "[rules][dirs]") {
  TempTree t;
  std::string a = t.write("d/10-a.yaml", rule("same"));
  std::string b = t.write("d/20-b.yaml", "# comment\n" + rule("same"));
  auto set = load_rules({a, b});
  REQUIRE_FALSE(set.has_value());
  REQUIRE(set.error().size() == 1);
  CHECK(set.error()[0].to_string() == b + ":2:1: duplicate rule name 'same' (first defined at " + a + ":1)");
}

TEST_CASE("a rule or config file that is not a regular file is a diagnostic, never a read", "[rules][dirs]") {
  TempTree t;
  std::string dir = t.dir("etc");
  std::string good = t.write("etc/10-good.yaml", rule("good"));
  REQUIRE(::mkfifo((fs::path(dir) / "60-x.yaml").c_str(), 0644) == 0);  // would block a reader forever
  fs::create_symlink("/dev/zero", fs::path(dir) / "70-zero.yaml");      // would never end
  fs::create_symlink("/dev/null", fs::path(dir) / "80-masked.yaml");    // still a mask
  t.write("etc/90-huge.yaml", std::string(2u << 20, '#'));
  Diagnostics diags;
  auto files = rule_files({dir}, diags);
  REQUIRE(diags.empty());
  CHECK(files.size() == 4);  // the mask is left out
  auto set = load_rules(files);
  REQUIRE_FALSE(set.has_value());
  std::vector<std::string> messages;
  for (const auto& d : set.error()) messages.push_back(d.to_string());
  REQUIRE(messages.size() == 3);
  CHECK(messages[0] == dir + "/60-x.yaml: cannot read the rule file: not a regular file: it is a FIFO");
  CHECK(messages[1] == dir + "/70-zero.yaml: cannot read the rule file: not a regular file: it is a character device");
  CHECK(messages[2].find("90-huge.yaml: cannot read the rule file: larger than 1024 KiB") != std::string::npos);

  auto fifo_config = load_config(dir + "/60-x.yaml", false);
  REQUIRE_FALSE(fifo_config.has_value());
  CHECK(fifo_config.error().at(0).to_string().find("not a regular file: it is a FIFO") != std::string::npos);
}

TEST_CASE("a rule that loads past modprobe.d's blacklist is parsed, decided and warned about", "[rules]") {
  RuleSet set;
  Diagnostics diags;
  parse_rules("- name: force-sg\n  match: {subsystem: scsi}\n  load: [sg]\n  load_blacklisted: true\n"
              "- name: plain\n  match: {subsystem: scsi}\n  load: [ch]\n",
              "f.yaml", set.rules, diags);
  REQUIRE(diags.empty());
  REQUIRE(set.rules.size() == 2);
  CHECK(set.rules[0].load_blacklisted);
  CHECK_FALSE(set.rules[1].load_blacklisted);
  Uevent ev;
  ev.action = "add";
  ev.devpath = "/devices/scsi0";
  ev.subsystem = "scsi";
  ev.properties = {{"ACTION", "add"}, {"DEVPATH", ev.devpath}, {"SUBSYSTEM", "scsi"}};
  Decision d = decide(set, Config{}, ev);
  CHECK(d.load_blacklisted == std::set<std::string>{"sg"});
  auto warnings = rule_warnings(set);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].to_string() ==
        "f.yaml:1:1: warning: rule 'force-sg' loads sg even where modprobe.d blacklists it (load_blacklisted: true)");
}

TEST_CASE("a run argument that begins with a placeholder is a warning unless -- comes first", "[rules]") {
  RuleSet set;
  Diagnostics diags;
  parse_rules("- name: risky\n  run: [logger, '{DEVNAME}']\n"
              "- name: safe\n  run: [logger, --, '{DEVNAME}']\n"
              "- name: inside\n  run: [logger, 'dev={DEVNAME}', '{{literal}}']\n",
              "w.yaml", set.rules, diags);
  REQUIRE(diags.empty());
  auto warnings = rule_warnings(set);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].to_string() ==
        "w.yaml:1:1: warning: rule 'risky': run argument 1 ('{DEVNAME}') begins with a placeholder; an event value "
        "beginning with '-' would be read as an option: put \"--\" before it");
}
