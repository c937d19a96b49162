// The status reply, gathered from the parts that own each number: uptime on the daemon's
// clock, work in flight while a load is held and after it answered.
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include "daemon_fixtures.hpp"

using namespace kplug;
using kplug::test::add;

using kplug::test::spin;

TEST_CASE("the status reply counts work in flight from the parts that own it", "[status_report]") {
  boost::asio::io_context io;
  test::StepKernel k;
  test::FakeClock clock;
  DaemonSeams seams = test::seams(test::resolver(), std::make_unique<test::StepLoader>(k));
  seams.clock = clock.clock();
  DaemonOptions options = test::daemon_options();
  options.dry_run = true;
  Daemon daemon(io, options, std::move(seams));
  clock.now += std::chrono::seconds(5);
  auto r = daemon.status_reply();
  CHECK(r.uptime_s == Approx(5.0));
  CHECK(r.dry_run);
  CHECK_FALSE(r.ready);

  daemon.start();
  daemon.on_uevent(add("/devices/p", "virtio:d00000005v00001AF4"));    // its load is held
  daemon.on_uevent(add("/devices/p/c", "virtio:d00000004v00001AF4"));  // waits for its parent
  spin(io);
  r = daemon.status_reply();
  CHECK(r.ready);
  CHECK(r.gauges.at("in_flight") == 1);            // the scheduler's one load
  CHECK(r.gauges.at("events_in_progress") == 1);   // the parent's event
  CHECK(r.gauges.at("queue_depth") == 1);          // the child's
  CHECK(r.gauges.at("cache_misses") == 1);

  k.release("load virtio_balloon");
  spin(io);
  k.release("load virtio_rng");
  spin(io);
  r = daemon.status_reply();
  CHECK(r.gauges.at("in_flight") == 0);
  CHECK(r.gauges.at("events_in_progress") == 0);
  CHECK(r.gauges.at("queue_depth") == 0);
  CHECK(r.counters.at("loads_ok") == 2);
  daemon.stop();
  io.restart();
  io.run();
}
