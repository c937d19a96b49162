// The unloader on a fake system view and manual timers: restoring the ledger a previous
// kplugd left (modules unloaded meanwhile dropped, devices gone meanwhile handled as
// removed, grace periods cut short by the stop started again), unloading after the grace
// period; and, through the whole daemon on a step-by-step kernel, a device that comes back
// before, during and after its module's unload.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "daemon/daemon.hpp"
#include "daemon/ledger_store.hpp"
#include "daemon/unloader.hpp"
#include "daemon_fixtures.hpp"
#include "fakes.hpp"
#include "temp_tree.hpp"

using namespace kplug;
using namespace std::chrono_literals;

// An unloader on a fake system, a loader that records unloads, and grace periods on
// manual timers.
struct Rig {
  std::shared_ptr<test::FakeSystem> system = std::make_shared<test::FakeSystem>();
  test::FakeSystemView view{system};
  test::FakeClock clock;
  boost::asio::io_context io;
  Counters counters;
  std::vector<std::string> unloaded, published;
  LoadScheduler scheduler{io, recording_loaders(unloaded), test::manual_timers()("loads"), 10s, counters,
                          clock.clock()};
  std::shared_ptr<test::ManualTimerState> timers = std::make_shared<test::ManualTimerState>();
  test::ManualTimers manual{timers};
  Unloader unloader{manual, scheduler, view, counters, [] { return 1.7e9; },
                    [this](const control::EventMessage& m) { published.push_back(std::get<control::UnloadMessage>(m).module); }};
  ~Rig() { scheduler.stop_threads(); }

  static std::vector<std::unique_ptr<ModuleLoader>> recording_loaders(std::vector<std::string>& unloaded) {
    std::vector<std::unique_ptr<ModuleLoader>> loaders;
    loaders.push_back(std::make_unique<test::RecordingLoader>(nullptr, &unloaded));
    return loaders;
  }
};

TEST_CASE("restoring the ledger keeps what is still loaded and unloads what lost its devices", "[unloader]") {
  test::TempTree t;
  std::string path = (t.root / "state.json").string();
  Ledger before;
  before.record_load("kept", "/devices/present", "usb:v1", 1000us, true, 20ms);
  before.record_load("orphaned", "/devices/gone", "usb:v2", 1000us, true, 20ms);
  before.record_load("stays", "/devices/gone-too", "usb:v3", 1000us, false, 20ms);  // unload on removal off
  before.record_load("vanished", "/devices/present", "usb:v4", 1000us, true, 20ms);  // someone rmmod'ed it
  REQUIRE(save_ledger(path, before).has_value());

  Rig r;
  Uevent present;
  present.devpath = "/devices/present";
  r.system->devices = {present};
  r.system->modules = {"kept", "orphaned", "stays"};
  r.unloader.restore(path);
  const auto& entries = r.unloader.ledger().entries();
  CHECK(entries.count("kept") == 1);
  CHECK(entries.count("vanished") == 0);
  CHECK(entries.at("orphaned").devices.empty());  // its device went while no kplugd listened
  CHECK(entries.at("stays").devices.empty());
  CHECK(r.unloader.pending() == 1);                 // orphaned, after its grace
  CHECK(r.timers->timers.at("orphaned").after == 20ms);

  r.timers->fire("orphaned");
  r.io.run();
  CHECK(r.unloaded == std::vector<std::string>{"orphaned"});
  CHECK(r.published == std::vector<std::string>{"orphaned"});
  CHECK(r.counters.unloads == 1);
  CHECK(r.unloader.ledger().entries().count("orphaned") == 0);
  CHECK(r.unloader.ledger().entries().count("stays") == 1);  // unload on removal was off

  // What was saved is what is in memory.
  auto saved = load_ledger(path);
  REQUIRE(saved.has_value());
  CHECK(saved->entries().count("kept") == 1);
  CHECK(saved->entries().count("orphaned") == 0);
}

TEST_CASE("a corrupt state file starts an empty ledger", "[unloader]") {
  test::TempTree t;
  std::string path = t.write("state.json", "{not json");
  Rig r;
  r.unloader.restore(path);
  CHECK(r.unloader.ledger().entries().empty());
}

TEST_CASE("restored during a grace period: the unload comes; a module without devices is still owned", "[unloader]") {
  test::TempTree t;
  std::string path = (t.root / "state.json").string();
  Ledger before;
  before.record_load("in_grace", "/devices/gone", "usb:v1", 1000us, true, 20ms);
  before.record_load("kept_loaded", "/devices/gone-too", "usb:v2", 1000us, false, 20ms);
  before.remove_device("/devices/gone");
  before.remove_device("/devices/gone-too");
  REQUIRE(save_ledger(path, before).has_value());

  Rig r;
  r.system->modules = {"in_grace", "kept_loaded"};
  r.unloader.restore(path);
  CHECK(r.unloader.ledger().owns("in_grace"));
  CHECK(r.unloader.ledger().owns("kept_loaded"));  // before: forgotten at restart
  REQUIRE(r.timers->timers.count("in_grace") == 1);
  CHECK(r.timers->timers.at("in_grace").after == 20ms);
  CHECK(r.timers->timers.count("kept_loaded") == 0);
  r.timers->fire("in_grace");
  r.io.run();
  CHECK(r.unloaded == std::vector<std::string>{"in_grace"});
  auto saved = load_ledger(path);
  REQUIRE(saved.has_value());
  CHECK(saved->owns("kept_loaded"));
  CHECK_FALSE(saved->owns("in_grace"));
}

// ---- a device that comes and goes around its module's unload (the whole daemon, a
// step-by-step kernel on two loader threads, grace periods on manual timers) ----

namespace {

constexpr const char* balloon = "virtio:d00000005v00001AF4";  // virtio_balloon (test::resolver)

struct Replug {
  test::StepKernel k;
  std::shared_ptr<test::ManualTimerState> timers = std::make_shared<test::ManualTimerState>();
  boost::asio::io_context io;
  std::unique_ptr<Daemon> daemon;

  Replug() {
    std::vector<std::unique_ptr<ModuleLoader>> loaders;
    for (int i = 0; i < 2; ++i) loaders.push_back(std::make_unique<test::StepLoader>(k));
    DaemonSeams seams = test::seams(test::resolver(), std::move(loaders));
    seams.timers = test::manual_timers({{"grace", timers}});
    DaemonOptions o = test::daemon_options();
    o.unload_subsystems = {};  // every device's module is unloaded on removal
    daemon = std::make_unique<Daemon>(io, o, std::move(seams));
  }
  template <typename Pred>
  bool run_until(Pred pred) {
    return test::run_until(io, pred);
  }
  void settle() { test::spin(io, 5); }
  static Uevent remove(const std::string& devpath) {
    Uevent ev = test::add(devpath, "");
    ev.action = "remove";
    ev.properties[0].second = "remove";
    return ev;
  }
  std::set<std::string> devices(const std::string& module) const {
    auto it = daemon->ledger().entries().find(module);
    return it == daemon->ledger().entries().end() ? std::set<std::string>{} : it->second.devices;
  }
  // Plugs /devices/a in and lets its load finish.
  void plug_and_load() {
    daemon->on_uevent(test::add("/devices/a", balloon));
    REQUIRE(run_until([&] { return k.started_count("load virtio_balloon") == 1; }));
    k.release("load virtio_balloon");
    REQUIRE(run_until([&] { return devices("virtio_balloon") == std::set<std::string>{"/devices/a"}; }));
  }
};

}  // namespace

TEST_CASE("a device back while its module's unload runs gets the module loaded again", "[unloader][module_order]") {
  for (int cycle = 0; cycle < 3; ++cycle) {  // the same interleaving, several times over
    Replug r;
    r.plug_and_load();
    r.daemon->on_uevent(Replug::remove("/devices/a"));
    REQUIRE(r.run_until([&] { return r.timers->timers.count("virtio_balloon") == 1; }));
    r.timers->fire("virtio_balloon");  // the grace period ends: the unload goes to a loader thread
    REQUIRE(r.run_until([&] { return r.k.started_count("unload virtio_balloon") == 1; }));
    r.daemon->on_uevent(test::add("/devices/a", balloon));  // plugged back in, mid-unload
    r.settle();
    CHECK(r.k.started_count("load virtio_balloon") == 1);  // its load waits for the unload
    r.k.release("unload virtio_balloon");
    REQUIRE(r.run_until([&] { return r.k.started_count("load virtio_balloon") == 2; }));
    r.k.release("load virtio_balloon");
    REQUIRE(r.run_until([&] { return r.daemon->idle(); }));
    CHECK(r.k.is_live("virtio_balloon"));  // the device has its driver
    CHECK(r.devices("virtio_balloon") == std::set<std::string>{"/devices/a"});  // and kplugd knows it
    CHECK(r.daemon->counters().unloads == 1);
    CHECK(r.daemon->counters().loads_ok == 2);
    CHECK(r.timers->timers.empty());
  }
}

TEST_CASE("a device back before its module's unload starts keeps the module", "[unloader][module_order]") {
  Replug r;
  r.plug_and_load();
  r.daemon->on_uevent(Replug::remove("/devices/a"));
  REQUIRE(r.run_until([&] { return r.timers->timers.count("virtio_balloon") == 1; }));
  r.daemon->on_uevent(test::add("/devices/a", balloon));  // back within the grace period
  REQUIRE(r.run_until([&] { return r.k.started_count("load virtio_balloon") == 2; }));
  CHECK(r.timers->timers.empty());  // the unload was cancelled
  r.k.release("load virtio_balloon");
  REQUIRE(r.run_until([&] { return r.daemon->idle(); }));
  CHECK(r.k.started_count("unload virtio_balloon") == 0);
  CHECK(r.devices("virtio_balloon") == std::set<std::string>{"/devices/a"});
}

TEST_CASE("two devices share one load; the module goes only with the last of them", "[unloader][module_order]") {
  Replug r;
  r.daemon->on_uevent(test::add("/devices/a", balloon));
  r.daemon->on_uevent(test::add("/devices/b", balloon));
  REQUIRE(r.run_until([&] { return r.k.started_count("load virtio_balloon") == 1; }));
  r.settle();
  CHECK(r.k.started_count("load virtio_balloon") == 1);  // coalesced
  r.k.release("load virtio_balloon");
  REQUIRE(r.run_until([&] { return r.devices("virtio_balloon").size() == 2; }));
  r.daemon->on_uevent(Replug::remove("/devices/a"));
  r.settle();
  CHECK(r.timers->timers.empty());  // b still needs it
  r.daemon->on_uevent(Replug::remove("/devices/b"));
  REQUIRE(r.run_until([&] { return r.timers->timers.count("virtio_balloon") == 1; }));
  r.timers->fire("virtio_balloon");
  REQUIRE(r.run_until([&] { return r.k.started_count("unload virtio_balloon") == 1; }));
  r.k.release("unload virtio_balloon");
  REQUIRE(r.run_until([&] { return r.daemon->idle(); }));
  CHECK_FALSE(r.k.is_live("virtio_balloon"));
  CHECK(r.daemon->ledger().entries().empty());
}

TEST_CASE("a reload while a load runs changes nothing about that load", "[unloader][module_order]") {
  Replug r;
  r.daemon->on_uevent(test::add("/devices/a", balloon));
  REQUIRE(r.run_until([&] { return r.k.started_count("load virtio_balloon") == 1; }));
  r.daemon->set_reloader([] { return Result<Settings, Diagnostics>(Settings{}); });
  CHECK(r.daemon->reload().empty());
  r.k.release("load virtio_balloon");
  REQUIRE(r.run_until([&] { return r.daemon->idle(); }));
  CHECK(r.devices("virtio_balloon") == std::set<std::string>{"/devices/a"});
  CHECK(r.daemon->counters().loads_ok == 1);
}
