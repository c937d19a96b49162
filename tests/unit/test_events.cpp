// The events stream's typed messages: each kind to JSON and back unchanged, argv withheld
// from peers that are not root, and every wrong shape an error value.
#include <catch2/catch.hpp>

#include "control/events.hpp"

using namespace kplug::control;
using json = nlohmann::json;

namespace {

DecisionMessage decision() {
  DecisionMessage d;
  d.seqnum = 42;
  d.action = "add";
  d.devpath = "/devices/usb1/1-1";
  d.subsystem = "usb";
  d.modalias = "usb:v08E6p4433";
  d.source = "coldplug";
  d.autoload = true;
  d.reason = "autoload is on";
  d.rules = {"demo"};
  d.load = {"usb_hello"};
  d.run = {{"notify", {"/usr/bin/logger", "plugged"}, false}};
  d.synth_uuid = "6b1c";
  d.priority = "critical";
  d.priority_why = "USB interface class 0x08 (mass storage interface)";
  return d;
}

}  // namespace

TEST_CASE("each message kind goes to JSON and comes back the same", "[events]") {
  auto back = event_from_json(to_json(decision()));
  REQUIRE(back.has_value());
  const auto& d = std::get<DecisionMessage>(*back);
  CHECK(d.seqnum == 42);
  CHECK(d.source == "coldplug");
  CHECK(d.rules == std::vector<std::string>{"demo"});
  REQUIRE(d.run.size() == 1);
  CHECK(d.run[0].argv == std::vector<std::string>{"/usr/bin/logger", "plugged"});
  CHECK_FALSE(d.run[0].withheld);
  CHECK(d.synth_uuid == "6b1c");
  CHECK(d.priority == "critical");
  CHECK(d.priority_why == "USB interface class 0x08 (mass storage interface)");

  LoadsMessage l{"add /devices/usb1/1-1 (usb)", "usb:v08E6p4433", {{"usb_hello", "loaded", 12.5, "", {"usbcore"}}}};
  json lj = to_json(l);
  CHECK(lj["type"] == "loads");
  auto lb = event_from_json(lj);
  REQUIRE(lb.has_value());
  const auto& loads = std::get<LoadsMessage>(*lb);
  REQUIRE(loads.outcomes.size() == 1);
  CHECK(loads.outcomes[0].duration_ms == 12.5);
  CHECK(loads.outcomes[0].pulled_in == std::vector<std::string>{"usbcore"});

  auto ub = event_from_json(to_json(UnloadMessage{"usb_hello", "unloaded", "", 3.0, {"dep"}}));
  REQUIRE(ub.has_value());
  CHECK(std::get<UnloadMessage>(*ub).removed_dependencies == std::vector<std::string>{"dep"});
}

TEST_CASE("a peer that is not root gets the rule's name and no argv", "[events]") {
  json j = to_json(for_unprivileged_peer(decision()));
  REQUIRE(j["run"].size() == 1);
  CHECK(j["run"][0]["rule"] == "notify");
  CHECK_FALSE(j["run"][0].contains("argv"));
  auto back = event_from_json(j);
  REQUIRE(back.has_value());
  CHECK(std::get<DecisionMessage>(*back).run[0].withheld);
}

TEST_CASE("a message of the wrong shape is an error, never a throw", "[events]") {
  CHECK_FALSE(event_from_json(json::array()).has_value());
  CHECK_FALSE(event_from_json(json{{"type", 7}}).has_value());
  CHECK(event_from_json(json{{"type", "mystery"}}).error() == "kplugd sent a stream message of unknown type 'mystery'");
  CHECK_FALSE(event_from_json(json{{"type", "decision"}, {"seqnum", "x"}}).has_value());
  CHECK_FALSE(event_from_json(json{{"type", "decision"}, {"run", {{{"rule", 1}}}}}).has_value());
  CHECK_FALSE(event_from_json(json{{"type", "loads"}, {"outcomes", 3}}).has_value());
  CHECK_FALSE(event_from_json(json{{"type", "loads"}, {"outcomes", {{{"module", "m"}, {"pulled_in", "x"}}}}}).has_value());
  CHECK_FALSE(event_from_json(json{{"type", "unload"}, {"removed_dependencies", {1, 2}}}).has_value());
  CHECK(event_from_json(json{{"type", "decision"}, {"priority", "urgent"}}).error().find("priority") !=
        std::string::npos);
}
