// The whole daemon's loads on gated fake loaders (test::GateKernel: virtio_balloon's load
// waits "in the kernel's init" until the test opens the gate): per-device ordering with
// parallel loads, coalescing, a slow load that holds nothing else up.
#include <catch2/catch.hpp>

#include "daemon/daemon.hpp"
#include "daemon_fixtures.hpp"

using namespace kplug;
using kplug::test::add;
using kplug::test::resolver;
using kplug::test::run_until;
using namespace std::chrono_literals;

namespace {

constexpr const char* balloon = "virtio:d00000005v00001AF4";  // virtio_balloon
constexpr const char* rng = "virtio:d00000004v00001AF4";      // virtio_rng
constexpr const char* net = "virtio:d00000001v00001AF4";      // virtio_net
constexpr const char* blk = "virtio:d00000002v00001AF4";      // virtio_blk: critical (a block device)

DaemonOptions options() {
  DaemonOptions o = test::daemon_options();
  o.unload_subsystems = {};
  return o;
}

}  // namespace

TEST_CASE("a child's event waits for its parent's load; unrelated events do not", "[load_scheduler][ordering]") {
  test::GateKernel k;
  boost::asio::io_context io;
  Daemon daemon(io, options(), test::seams(resolver(), test::gate_loaders(k, 2)));
  daemon.on_uevent(add("/devices/p", balloon));     // its load is held at the gate
  daemon.on_uevent(add("/devices/p/child", rng));   // must wait for the parent
  daemon.on_uevent(add("/devices/other", net));     // unrelated: must not wait
  CHECK(run_until(io, [&] { return k.count("virtio_net") == 1; }));
  CHECK(k.count("virtio_balloon") == 1);
  CHECK(k.count("virtio_rng") == 0);  // the child has not even been decided yet
  CHECK(daemon.queue().waiting() == 1);
  k.open_gate();
  CHECK(run_until(io, [&] { return k.count("virtio_rng") == 1; }));
  CHECK(run_until(io, [&] { return daemon.flight().events() == 0; }));
}

TEST_CASE("1536 events with the same MODALIAS: one resolution, one load attempt", "[load_scheduler][coalescing]") {
  test::GateKernel k;
  k.open_gate();
  boost::asio::io_context io;
  auto r = resolver();
  test::FakeResolver* res = r.get();
  Daemon daemon(io, options(), test::seams(std::move(r), test::gate_loaders(k, 2)));
  for (int cpu = 0; cpu < 1536; ++cpu) daemon.on_uevent(add("/devices/system/cpu/cpu" + std::to_string(cpu), balloon));
  io.run();
  CHECK(res->cache_misses() == 1);
  CHECK(res->cache_hits() == 1535);
  CHECK(k.count("virtio_balloon") == 1);
  CHECK(daemon.counters().loads_ok == 1);
  CHECK(daemon.counters().loads_coalesced == 1535);
  CHECK(daemon.ledger().entries().at("virtio_balloon").devices.size() == 1536);  // every cpu is recorded
}

TEST_CASE("a slow load is reported and does not hold up other modules", "[load_scheduler][slow]") {
  test::GateKernel k;
  boost::asio::io_context io;
  DaemonOptions o = options();
  o.slow_load = 50ms;
  // Three loaders: one is kept for critical loads, neither of these is one.
  Daemon daemon(io, o, test::seams(resolver(), test::gate_loaders(k, 3)));
  daemon.on_uevent(add("/devices/slow", balloon));
  CHECK(run_until(io, [&] { return daemon.counters().slow_loads == 1; }));
  daemon.on_uevent(add("/devices/fast", net));
  CHECK(run_until(io, [&] { return daemon.counters().loads_ok == 1; }));  // virtio_net, while balloon hangs
  CHECK(k.count("virtio_net") == 1);
  k.open_gate();
  io.restart();
  io.run();
  CHECK(daemon.counters().loads_ok == 2);
}

TEST_CASE("an event that needs no load frees the next event of its tree at once", "[load_scheduler][ordering]") {
  test::GateKernel k;
  k.open_gate();
  boost::asio::io_context io;
  Daemon daemon(io, options(), test::seams(resolver(), test::gate_loaders(k, 1)));
  daemon.on_uevent(add("/devices/p", rng));                  // a load: the children wait for it
  daemon.on_uevent(add("/devices/p/c1", "nothing:matches"));  // then done at once, nothing to load
  daemon.on_uevent(add("/devices/p/c1/c2", net));             // and no other event comes to wake it
  io.run();
  CHECK(k.count("virtio_net") == 1);
  CHECK(daemon.queue().waiting() == 0);
  CHECK(daemon.flight().events() == 0);
}


TEST_CASE("coldplug: a critical load never waits behind a hanging normal one, and kplugd is ready before the rest",
          "[load_scheduler][priority]") {
  test::GateKernel k;
  boost::asio::io_context io;
  auto system = std::make_shared<test::FakeSystem>();
  // Walk order: the hanging balloon first, then an rng, then the block device.
  system->devices = {add("/devices/a", balloon), add("/devices/b", rng), add("/devices/c", blk)};
  DaemonOptions o = options();
  o.coldplug = true;
  Daemon daemon(io, o, test::seams(resolver(), test::gate_loaders(k, 2), system));
  daemon.start();
  // Two loaders: the balloon holds the one normal loads may use; virtio_blk takes the other.
  CHECK(run_until(io, [&] { return daemon.ready(); }));
  CHECK(k.count("virtio_blk") == 1);
  CHECK(k.count("virtio_rng") == 0);  // behind the balloon: normal
  auto progress = daemon.progress();
  CHECK(progress.critical_done);
  CHECK_FALSE(progress.idle);  // settle (without --critical) still waits
  k.open_gate();
  CHECK(run_until(io, [&] { return daemon.counters().loads_ok == 3; }));
  CHECK(daemon.progress().idle);
}

TEST_CASE("with boot_priority off every load is normal and READY waits for all of them", "[load_scheduler][priority]") {
  test::GateKernel k;
  boost::asio::io_context io;
  auto system = std::make_shared<test::FakeSystem>();
  system->devices = {add("/devices/a", balloon), add("/devices/c", blk)};
  DaemonOptions o = options();
  o.coldplug = true;
  o.boot_priority = false;
  Daemon daemon(io, o, test::seams(resolver(), test::gate_loaders(k, 2), system));
  daemon.start();
  CHECK(run_until(io, [&] { return k.count("virtio_blk") == 1; }));  // no loader kept: both run at once
  test::spin(io, 5);
  CHECK_FALSE(daemon.ready());
  k.open_gate();
  CHECK(run_until(io, [&] { return daemon.ready(); }));
}
