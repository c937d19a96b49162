// The load planner kplugd and `kplug test` share: a decision and what its MODALIAS
// resolved to become load jobs and skipped modules.
#include <catch2/catch.hpp>

#include "daemon_fixtures.hpp"
#include "plan/load_plan.hpp"

using namespace kplug;
using kplug::test::add;

namespace {
std::vector<std::string> modules(const LoadPlan& plan) {
  std::vector<std::string> out;
  for (const auto& l : plan.loads) out.push_back(l.job.module);
  return out;
}
}  // namespace

TEST_CASE("rule loads come first, then resolved modules, each once, with their options", "[load_plan]") {
  Uevent ev = add("/devices/x", "usb:v1");
  Decision d;
  d.modalias = "usb:v1";
  d.autoload = true;
  d.load = {{"usb_hello", "demo"}, {"usbhid", "hid-rule"}};
  d.options = {{"usbhid", "quirks=0x1"}};
  auto plan = plan_loads(ev, d, std::vector<std::string>{"usbhid", "hid_generic"});
  CHECK(modules(plan) == std::vector<std::string>{"usb_hello", "usbhid", "hid_generic"});
  // The modprobe.d blacklist applies to every automatic load, named ones included (udevd).
  CHECK(plan.loads[0].job.apply_blacklist);
  CHECK(plan.loads[0].why == "rule 'demo' loads it");
  CHECK(plan.loads[1].job.options == "quirks=0x1");
  CHECK(plan.loads[2].job.apply_blacklist);
  CHECK(plan.loads[2].job.devpath == "/devices/x");
  CHECK(plan.loads[2].job.modalias == "usb:v1");
  CHECK(plan.loads[2].why == "MODALIAS usb:v1 names it in modules.alias");
  CHECK_FALSE(plan.no_module);
}

TEST_CASE("a rule's blacklist skips a resolved module and says so", "[load_plan]") {
  Decision d;
  d.modalias = "pci:v1";
  d.autoload = true;
  d.blacklist = {"nouveau"};
  auto plan = plan_loads(add("/devices/gpu", "pci:v1"), d, std::vector<std::string>{"nouveau", "snd_hda_intel"});
  CHECK(modules(plan) == std::vector<std::string>{"snd_hda_intel"});
  REQUIRE(plan.skipped.size() == 1);
  CHECK(plan.skipped[0].module == "nouveau");
  CHECK(plan.skipped[0].why == "blacklisted by a rule");
  CHECK(plan.skipped[0].source == "MODALIAS pci:v1 names it");
}

TEST_CASE("a rule's blacklist vetoes any rule's load of that module", "[load_plan]") {
  Decision d;
  d.modalias = "scsi:t-0x00";
  d.autoload = true;
  d.load = {{"sg", "udev-sg"}, {"sd_mod", "disks"}};
  d.blacklist = {"sg"};  // another rule's veto: the safe side wins, whatever the rules' order
  auto plan = plan_loads(add("/devices/scsi0", "scsi:t-0x00"), d, std::vector<std::string>{"sd_mod"});
  CHECK(modules(plan) == std::vector<std::string>{"sd_mod"});
  REQUIRE(plan.skipped.size() == 1);
  CHECK(plan.skipped[0].module == "sg");
  CHECK(plan.skipped[0].why == "blacklisted by a rule");
  CHECK(plan.skipped[0].source == "rule 'udev-sg' loads it");
}

TEST_CASE("a rule that says load_blacklisted loads past modprobe.d's blacklist, no other", "[load_plan]") {
  Decision d;
  d.load = {{"sg", "udev-sg"}, {"ppdev", "udev-ppdev"}};
  d.load_blacklisted = {"ppdev"};
  auto plan = plan_loads(add("/devices/x", ""), d, std::nullopt);
  REQUIRE(modules(plan) == std::vector<std::string>{"sg", "ppdev"});
  CHECK(plan.loads[0].job.apply_blacklist);
  CHECK_FALSE(plan.loads[1].job.apply_blacklist);
}

TEST_CASE("no module: only when autoload asked, nothing resolved and no rule loads", "[load_plan]") {
  Decision d;
  d.modalias = "nothing:here";
  d.autoload = true;
  CHECK(plan_loads(add("/devices/n", "nothing:here"), d, std::vector<std::string>{}).no_module);
  // The index could not be read: not "no module".
  CHECK_FALSE(plan_loads(add("/devices/n", "nothing:here"), d, std::nullopt).no_module);
  d.load = {{"m", "r"}};
  CHECK_FALSE(plan_loads(add("/devices/n", "nothing:here"), d, std::vector<std::string>{}).no_module);
  // Without autoload, resolved modules are not loaded: only the rules' loads are.
  d.autoload = false;
  CHECK(modules(plan_loads(add("/devices/n", "x"), d, std::vector<std::string>{"a"})) == std::vector<std::string>{"m"});
}
