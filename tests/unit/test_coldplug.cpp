// Coldplug and rescan on a fake system view: what is fed into the pipeline, what a rescan
// repeats and what it does not, gone devices, a walk that runs out of descriptors; and
// a whole daemon's coldplug over the fake, with no /sys and no kernel tree.
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "daemon/coldplug.hpp"
#include "daemon/daemon.hpp"
#include "daemon_fixtures.hpp"
#include "fakes.hpp"

using namespace kplug;
using kplug::test::add;

namespace {

struct Harness {
  boost::asio::io_context io;
  std::shared_ptr<test::FakeSystem> system = std::make_shared<test::FakeSystem>();
  test::FakeSystemView view{system};
  test::FakeClock clock;
  Counters counters;
  std::vector<Uevent> fed;
  std::vector<std::string> gone;  // what forget_gone reports next
  std::vector<bool> finished;     // initial?
  std::size_t in_flight = 0;      // events fed and not handled, as the daemon's EventFlight counts them
  std::size_t boot_pending = 0;   // undecided walk events and critical events in flight
  int boot_done = 0;
  std::shared_ptr<test::ManualTimerState> timers = std::make_shared<test::ManualTimerState>();
  Coldplug coldplug{std::make_unique<test::ManualTimers>(timers), view, counters, clock.clock(), false,
                    {[](const Uevent& ev) { return !ev.modalias().empty(); },
                     [this](Uevent&& ev) { fed.push_back(std::move(ev)); },
                     [this] { return std::exchange(gone, {}); },
                     [this](bool initial) { finished.push_back(initial); },
                     [this] { return in_flight; },
                     [this] { return boot_pending; },
                     [this] { ++boot_done; }}};
};

Decision with_actions() {
  Decision d;
  d.logs.emplace_back("say", "hello");
  return d;
}

}  // namespace

TEST_CASE("coldplug feeds every wanted present device and completes when its loads are answered", "[coldplug]") {
  Harness h;
  h.system->devices = {add("/devices/a", "virtio:d00000005v00001AF4"), add("/devices/b", ""),
                       add("/devices/c", "pci:v1")};
  h.coldplug.start();
  REQUIRE(h.fed.size() == 2);  // /devices/b has no MODALIAS
  CHECK(h.fed[0].devpath == "/devices/a");
  CHECK(h.fed[0].source == EventSource::coldplug);
  CHECK(h.counters.coldplug_events == 2);
  CHECK(h.finished == std::vector<bool>{true});  // nothing was handed to a loader
  CHECK_FALSE(h.coldplug.busy());

}

TEST_CASE("coldplug stays running until every load its walk handed out is answered", "[coldplug]") {
  boost::asio::io_context io;
  auto system = std::make_shared<test::FakeSystem>();
  system->devices = {add("/devices/a", "virtio:d1")};
  test::FakeSystemView view(system);
  test::FakeClock clock;
  Counters counters;
  bool complete = false;
  // The fed event waits for a load, as the daemon's does for a device that needs one.
  std::size_t in_flight = 0;
  Coldplug c(test::manual_timers()("rescan"), view, counters, clock.clock(), false,
             {[](const Uevent&) { return true; }, [&](Uevent&&) { ++in_flight; },
              [] { return std::vector<std::string>{}; }, [&](bool) { complete = true; },
              [&] { return in_flight; }, [] { return std::size_t{0}; }, [] {}});
  c.start();
  CHECK(c.running());
  CHECK_FALSE(complete);
  --in_flight;
  c.landed(EventSource::coldplug, {{"virtio_x", LoadResult{}}});
  CHECK_FALSE(c.running());
  CHECK(complete);
}

TEST_CASE("the boot-critical part is done once every device is decided and no critical event is in flight",
          "[coldplug][priority]") {
  Harness h;
  h.system->devices = {add("/devices/disk", "pci:bc01sc08"), add("/devices/sound", "pci:bc04sc03")};
  h.in_flight = 2;     // both wait for loads
  h.boot_pending = 1;  // the disk controller's load is critical
  h.coldplug.start();
  CHECK(h.boot_done == 0);
  CHECK_FALSE(h.coldplug.boot_critical_done());
  h.boot_pending = 0;  // the critical load answered; the sound card's still runs
  h.in_flight = 1;
  h.coldplug.landed(EventSource::coldplug, {});
  CHECK(h.boot_done == 1);
  CHECK(h.coldplug.boot_critical_done());
  CHECK(h.finished.empty());
  CHECK(h.coldplug.running());
  h.in_flight = 0;
  h.coldplug.landed(EventSource::coldplug, {});
  CHECK(h.boot_done == 1);  // told once
  CHECK(h.finished == std::vector<bool>{true});
}

TEST_CASE("a critical kernel event landing can finish the boot-critical part", "[coldplug][priority]") {
  Harness h;
  h.system->devices = {add("/devices/usb", "pci:bc0csc03")};
  h.in_flight = 1;
  h.boot_pending = 1;  // the USB disk's event, from the kernel, waits for usb_storage
  h.coldplug.start();
  CHECK(h.boot_done == 0);
  h.boot_pending = 0;
  h.coldplug.landed(EventSource::kernel, {});
  CHECK(h.boot_done == 1);
  CHECK(h.finished.empty());  // the walk's own event is still loading
}

TEST_CASE("a rescan decides every device again but repeats no rule action, and forgets gone devices", "[coldplug][rescan]") {
  Harness h;
  h.system->devices = {add("/devices/a", "m:1"), add("/devices/b", "m:2")};
  h.coldplug.start();
  for (const auto& ev : h.fed) CHECK(h.coldplug.note_event(ev, with_actions()));  // first time: actions due
  h.fed.clear();

  // /devices/c appeared while events were lost; /devices/b went.
  h.system->devices = {add("/devices/a", "m:1"), add("/devices/c", "m:3")};
  h.gone = {"/devices/b"};
  h.coldplug.request_rescan("receive buffer overrun");
  h.coldplug.request_rescan("receive buffer overrun");  // a storm gets one rescan
  CHECK(h.coldplug.busy());
  CHECK(h.timers->timers.at("rescan").after == std::chrono::milliseconds(200));
  REQUIRE(h.timers->fire("rescan"));  // the debounce, then the walk
  CHECK(h.counters.rescans == 1);
  REQUIRE(h.fed.size() == 2);
  CHECK(h.fed[0].source == EventSource::rescan);
  CHECK_FALSE(h.coldplug.note_event(h.fed[0], with_actions()));  // a: handled before, nothing repeated
  CHECK(h.coldplug.note_event(h.fed[1], with_actions()));        // c: not seen before, its actions run
  CHECK(h.finished == std::vector<bool>{true, false});
  CHECK_FALSE(h.coldplug.handled().contains("/devices/b"));
  CHECK(h.coldplug.handled().contains("/devices/c"));
}

TEST_CASE("a walk that ran out of descriptors is done again once it completes", "[coldplug][rescan]") {
  Harness h;
  h.system->walk_error = std::string("cannot open /sys/devices: ") + std::strerror(EMFILE);
  h.coldplug.start();
  CHECK(h.finished == std::vector<bool>{true});
  CHECK(h.coldplug.busy());  // a rescan is due
  h.system->walk_error.reset();
  h.system->devices = {add("/devices/a", "m:1")};
  REQUIRE(h.timers->fire("rescan"));
  CHECK(h.system->walks == 2);
  CHECK(h.fed.size() == 1);
}

TEST_CASE("a daemon's coldplug over a fake system loads what the present devices need", "[coldplug][daemon]") {
  boost::asio::io_context io;
  auto system = std::make_shared<test::FakeSystem>();
  system->devices = {add("/devices/virtio0", "virtio:d00000005v00001AF4"), add("/devices/none", "nothing:here"),
                     add("/devices/bare", "")};
  std::vector<std::string> loads;
  DaemonSeams seams = test::seams(
      test::resolver(), std::make_unique<test::RecordingLoader>(&loads, nullptr, LoadStatus::loaded), system);
  DaemonOptions options;
  options.exit_after_coldplug = true;
  Daemon daemon(io, options, std::move(seams));
  daemon.start();
  io.run();
  CHECK(daemon.ready());
  CHECK(loads == std::vector<std::string>{"virtio_balloon"});
  CHECK(daemon.counters().coldplug_events == 2);
  CHECK(daemon.counters().no_module == 1);
  CHECK(daemon.ledger().owns("virtio_balloon"));
}

TEST_CASE("coldplug is complete only once the events waiting behind a load have been handled", "[coldplug][daemon]") {
  boost::asio::io_context io;
  auto system = std::make_shared<test::FakeSystem>();
  // The child's event waits for its parent's, whose load the test holds.
  system->devices = {add("/devices/p", "virtio:d00000005v00001AF4"), add("/devices/p/c", "virtio:d00000004v00001AF4")};
  test::StepKernel k;
  Daemon daemon(io, DaemonOptions{}, test::seams(test::resolver(), std::make_unique<test::StepLoader>(k), system));
  daemon.start();
  auto spin = [&] { test::spin(io); };
  spin();
  CHECK(k.started_count("load virtio_balloon") == 1);
  CHECK(daemon.flight().from_walks() == 2);  // the parent loading, the child waiting
  CHECK_FALSE(daemon.ready());
  k.release("load virtio_balloon");
  spin();
  CHECK(k.started_count("load virtio_rng") == 1);  // the child started once its parent landed
  CHECK(daemon.flight().from_walks() == 1);
  CHECK_FALSE(daemon.ready());
  k.release("load virtio_rng");
  spin();
  CHECK(daemon.flight().events() == 0);
  CHECK(daemon.ready());
  daemon.stop();
  io.restart();
  io.run();
}

TEST_CASE("during coldplug a trigger's replay of a device handled with the same decision costs nothing",
          "[coldplug][daemon][replay]") {
  test::GateKernel k;  // virtio_balloon's load hangs until the gate opens: coldplug runs on
  boost::asio::io_context io;
  auto system = std::make_shared<test::FakeSystem>();
  Uevent net = add("/devices/n", "virtio:d00000001v00001AF4");
  system->devices = {add("/devices/h", "virtio:d00000005v00001AF4"), net};
  DaemonOptions options = test::daemon_options();
  options.coldplug = true;
  Daemon daemon(io, options, test::seams(test::resolver(), test::gate_loaders(k, 3), system));
  auto replayed = [](Uevent ev) {  // as the kernel sends an add written to the uevent file
    ev.properties.emplace_back("SYNTH_UUID", "0");
    return ev;
  };
  daemon.start();
  REQUIRE(test::run_until(io, [&] { return daemon.counters().loads_ok == 1; }));  // virtio_net
  daemon.on_uevent(replayed(net));  // handled, loaded, coldplug still running: nothing to do again
  test::spin(io, 5);
  CHECK(daemon.counters().replays_unchanged == 1);
  CHECK(k.count("virtio_net") == 1);
  daemon.on_uevent(net);  // no SYNTH_UUID: the kernel's own add (the device came back)
  REQUIRE(test::run_until(io, [&] { return k.count("virtio_net") == 2; }));
  daemon.reload();  // new rules or a new index may decide differently
  daemon.on_uevent(replayed(net));
  REQUIRE(test::run_until(io, [&] { return k.count("virtio_net") == 3; }));
  k.open_gate();  // coldplug completes
  REQUIRE(test::run_until(io, [&] { return daemon.progress().idle; }));
  daemon.on_uevent(replayed(net));  // after coldplug every replay is acted on
  REQUIRE(test::run_until(io, [&] { return k.count("virtio_net") == 4; }));
  CHECK(daemon.counters().replays_unchanged == 1);
}
