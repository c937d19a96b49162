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
  CHECK_FALSE(plan.loads[0].job.via_alias);
  CHECK(plan.loads[0].why == "rule 'demo' loads it");
  CHECK(plan.loads[1].job.options == "quirks=0x1");
  CHECK(plan.loads[2].job.via_alias);
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
