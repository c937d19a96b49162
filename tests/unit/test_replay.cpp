// kplug replay's engine: a stream through kplugd's flow with the simulated loader and
// time taken from the recording — loads with their dependencies, a second device's load
// finding its module loaded, unloads only after the recorded grace period, and a device
// that returns within it keeping its module. On a fake tree: no kernel tree needed.
#include <sstream>

#include <catch2/catch.hpp>

#include "control/protocol.hpp"
#include "replay/replay.hpp"
#include "fakes.hpp"

using namespace kplug;

namespace {

const std::string keyboard = "usb:v0627p0001d0000dc00dsc00dp00ic03isc01ip01in00";  // usbhid

std::string line(const std::string& action, const std::string& devpath, double at, std::uint64_t seqnum) {
  Uevent ev;
  ev.action = action;
  ev.devpath = devpath;
  ev.subsystem = "usb";
  ev.seqnum = seqnum;
  ev.properties = {{"ACTION", action}, {"DEVPATH", devpath}, {"SUBSYSTEM", "usb"}, {"MODALIAS", keyboard},
                   {"SEQNUM", std::to_string(seqnum)}};
  return record_event_line(ev, at) + "\n";
}

Settings settings() {
  Settings s;
  s.options.autoload = true;
  s.options.unload = true;
  s.options.unload_grace = std::chrono::milliseconds(5000);
  return s;
}

// usbhid and what it needs, as modules.alias and modules.dep have them.
ReplayTree tree() {
  return {std::make_unique<test::FakeResolver>(std::map<std::string, std::vector<std::string>>{{keyboard, {"usbhid"}}}),
          std::make_unique<test::FakeModuleTree>(std::map<std::string, std::vector<std::string>>{
              {"usbhid", {"usbcore", "hid"}}, {"usbcore", {}}, {"hid", {}}})};
}

ReplayResult replay(const std::string& text, std::vector<std::string>* types = nullptr) {
  std::istringstream in(text);
  RecordReader reader(in);
  ReplayObserver observer;
  observer.message = [&](const nlohmann::json& m) {
    if (types) types->push_back(m.value("type", ""));
  };
  auto r = replay_stream(reader, settings(), {}, observer, tree());
  REQUIRE(r.has_value());
  return *r;
}

const std::string k1 = "/devices/pci0000:00/0000:00:02.0/usb1/1-1/1-1:1.0";
const std::string k2 = "/devices/pci0000:00/0000:00:02.0/usb1/1-2/1-2:1.0";

}  // namespace

TEST_CASE("replay: a module is unloaded once its grace period has passed in recorded time", "[replay]") {
  // Plugged at 10 s, unplugged at 12 s; the next event comes 60 s later: by then the
  // 5 s grace has run out, and the unload comes before that event.
  std::vector<std::string> types;
  auto r = replay(line("add", k1, 10, 1) + line("remove", k1, 12, 2) + line("change", k2, 72, 3), &types);
  CHECK(r.events == 3);
  CHECK(r.recorded_seconds == 62);
  CHECK(std::find(r.loaded.begin(), r.loaded.end(), "usbhid") != r.loaded.end());
  CHECK(std::find(r.unloaded.begin(), r.unloaded.end(), "usbhid") != r.unloaded.end());
  CHECK(r.pending_unloads == 0);
  CHECK(types == std::vector<std::string>{"decision", "loads", "decision", "unload", "decision"});
}

TEST_CASE("replay: a device back within the grace period keeps its module; the end leaves it pending", "[replay]") {
  auto r = replay(line("add", k1, 10, 1) + line("remove", k1, 12, 2) + line("add", k1, 14, 3));
  CHECK(r.unloaded.empty());  // back at 14 s, 2 s into a 5 s grace
  auto pending = replay(line("add", k1, 10, 1) + line("remove", k1, 12, 2));
  CHECK(pending.unloaded.empty());
  CHECK(pending.pending_unloads == 1);  // the stream ends 0 s into the grace
}

TEST_CASE("replay: a bad line stops it with the line's number", "[replay]") {
  std::istringstream in(line("add", k1, 10, 1) + "garbage\n");
  RecordReader reader(in);
  auto r = replay_stream(reader, settings(), {}, {}, tree());
  REQUIRE(!r.has_value());
  CHECK(r.error() == "line 2: not a JSON object");
}

TEST_CASE("replay: what the simulated loader did reads as what would be done", "[replay]") {
  auto loads = nlohmann::json::parse(R"J({"type":"loads","event":"add /devices/x (usb)","modalias":"usb:v1",
    "outcomes":[{"module":"usbhid","status":"loaded","duration_ms":0.0,"message":"","pulled_in":["hid"]},
                {"module":"hid","status":"already_loaded","duration_ms":0.0,"message":"","pulled_in":[]}]})J");
  auto shown = as_would(loads);
  CHECK(shown["outcomes"][0]["status"] == "would_load");
  CHECK(shown["outcomes"][1]["status"] == "already_loaded");
  auto text = control::describe_stream_message(shown);
  REQUIRE(text);
  CHECK(text->find("usbhid would load") != std::string::npos);
  CHECK(text->find("ms)") == std::string::npos);
  auto unload = nlohmann::json::parse(R"J({"type":"unload","module":"usb_hello","status":"unloaded","message":"",
    "duration_ms":0.0,"removed_dependencies":[]})J");
  auto said = control::describe_stream_message(as_would(unload));
  REQUIRE(said);
  CHECK(*said == "unload   usb_hello would unload (dry run: nothing unloaded)");
  auto refused = unload;
  refused["status"] = "in_use";
  refused["message"] = "held by usbhid";
  CHECK(as_would(refused) == refused);
  CHECK(*control::describe_stream_message(refused) == "unload   usb_hello kept: still in use: held by usbhid");
  CHECK(as_would(nlohmann::json::array()) == nlohmann::json::array());
  CHECK(as_would(nlohmann::json{{"type", 3}}) == nlohmann::json{{"type", 3}});
}
