// The unloader on a fake system view: restoring the ledger a previous kplugd left
// (modules unloaded meanwhile dropped, devices gone meanwhile handled as removed), and
// unloading after the grace period.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "daemon/ledger_store.hpp"
#include "daemon/unloader.hpp"
#include "fakes.hpp"
#include "temp_tree.hpp"

using namespace kplug;
using namespace std::chrono_literals;

namespace {

struct Unloads : ModuleLoader {
  std::vector<std::string>& unloaded;
  explicit Unloads(std::vector<std::string>& u) : unloaded(u) {}
  LoadResult load(const LoadJob&) override { return {}; }
  UnloadResult unload(const std::string& module, const std::vector<std::string>&) override {
    unloaded.push_back(module);
    return {UnloadStatus::unloaded, "", {}, {}};
  }
};

}  // namespace

TEST_CASE("restoring the ledger keeps what is still loaded and unloads what lost its devices", "[unloader]") {
  test::TempTree t;
  std::string path = (t.root / "state.json").string();
  Ledger before;
  before.record_load("kept", "/devices/present", "usb:v1", 1000us, true, 20ms);
  before.record_load("orphaned", "/devices/gone", "usb:v2", 1000us, true, 20ms);
  before.record_load("stays", "/devices/gone-too", "usb:v3", 1000us, false, 20ms);  // unload on removal off
  before.record_load("vanished", "/devices/present", "usb:v4", 1000us, true, 20ms);  // someone rmmod'ed it
  REQUIRE(save_ledger(path, before).has_value());

  auto system = std::make_shared<test::FakeSystem>();
  Uevent present;
  present.devpath = "/devices/present";
  system->devices = {present};
  system->modules = {"kept", "orphaned", "stays"};
  test::FakeSystemView view(system);
  test::FakeClock clock;
  boost::asio::io_context io;
  Counters counters;
  std::vector<std::string> unloaded;
  std::vector<std::unique_ptr<ModuleLoader>> loaders;
  loaders.push_back(std::make_unique<Unloads>(unloaded));
  LoadScheduler scheduler(io, std::move(loaders), 10s, counters, clock.clock());
  std::vector<std::string> published;
  auto timers = make_asio_timers(io);
  Unloader unloader(*timers, scheduler, view, counters,
                    [&](const nlohmann::json& m) { published.push_back(m["module"].get<std::string>()); });

  unloader.restore(path);
  const auto& entries = unloader.ledger().entries();
  CHECK(entries.count("kept") == 1);
  CHECK(entries.count("vanished") == 0);
  CHECK(entries.at("orphaned").devices.empty());  // its device went while no kplugd listened
  CHECK(entries.at("stays").devices.empty());
  CHECK(unloader.pending() == 1);                 // orphaned, after its grace

  io.run();
  CHECK(unloaded == std::vector<std::string>{"orphaned"});
  CHECK(published == std::vector<std::string>{"orphaned"});
  CHECK(counters.unloads == 1);
  CHECK(unloader.ledger().entries().count("orphaned") == 0);
  CHECK(unloader.ledger().entries().count("stays") == 1);  // unload on removal was off

  // What was saved is what is in memory.
  auto saved = load_ledger(path);
  REQUIRE(saved.has_value());
  CHECK(saved->entries().count("kept") == 1);
  CHECK(saved->entries().count("orphaned") == 0);
  scheduler.stop_threads();
}

TEST_CASE("a corrupt state file starts an empty ledger", "[unloader]") {
  test::TempTree t;
  std::string path = t.write("state.json", "{not json");
  auto system = std::make_shared<test::FakeSystem>();
  test::FakeSystemView view(system);
  boost::asio::io_context io;
  Counters counters;
  std::vector<std::unique_ptr<ModuleLoader>> none;
  std::vector<std::string> unloaded;
  none.push_back(std::make_unique<Unloads>(unloaded));
  LoadScheduler scheduler(io, std::move(none), 10s, counters, steady_clock());
  auto timers = make_asio_timers(io);
  Unloader unloader(*timers, scheduler, view, counters, {});
  unloader.restore(path);
  CHECK(unloader.ledger().entries().empty());
  scheduler.stop_threads();
}
