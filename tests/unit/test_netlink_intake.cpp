// The intake over a fake uevent source: kernel events go on, SEQNUM gaps and forgeries
// are counted, an overrun asks for a rescan, a failed socket stops kplugd, and a burst is
// read a bounded batch per wake-up.
#include <catch2/catch.hpp>

#include <cerrno>

#include <boost/asio/io_context.hpp>

#include "daemon/netlink_intake.hpp"
#include "daemon_fixtures.hpp"

using namespace kplug;
using kplug::test::add;

namespace {

struct Rig {
  boost::asio::io_context io;
  std::shared_ptr<test::FakeUeventSource::State> source = std::make_shared<test::FakeUeventSource::State>();
  Counters counters;
  std::vector<Uevent> events;
  int overruns = 0, failures = 0;
  NetlinkIntake intake{io, std::make_unique<test::FakeUeventSource>(source), counters,
                       {[this](Uevent&& ev) { events.push_back(std::move(ev)); }, [this] { ++overruns; },
                        [this] { ++failures; }}};

  void run() {
    for (int i = 0; i < 10; ++i) {
      io.restart();
      io.run_for(std::chrono::milliseconds(2));
    }
  }
};

Received kernel_event(const std::string& devpath, std::uint64_t seqnum, std::uint64_t missed = 0) {
  Received r{add(devpath, "m:1"), missed};
  r.event.seqnum = seqnum;
  return r;
}

}  // namespace

TEST_CASE("kernel events go on in order; a SEQNUM gap alone is counted", "[netlink_intake]") {
  Rig rig;
  rig.intake.start();
  rig.source->push(kernel_event("/devices/a", 10));
  rig.source->push(kernel_event("/devices/b", 14, 3));  // other namespaces took 11..13
  rig.run();
  REQUIRE(rig.events.size() == 2);
  CHECK(rig.events[0].devpath == "/devices/a");
  CHECK(rig.events[1].seqnum == 14);
  CHECK(rig.counters.events_received == 2);
  CHECK(rig.counters.missed_events == 3);
  CHECK(rig.overruns == 0);
  rig.intake.stop();
}

TEST_CASE("a forgery is counted by reason and shape and goes no further", "[netlink_intake]") {
  Rig rig;
  rig.intake.start();
  Rejected forged;
  forged.reason = RejectReason::not_kernel_port;
  forged.detail = "pid 4242 uid 1000";
  forged.size = 120;
  forged.shape = "well_formed";
  forged.claims = "add /devices/evil";
  rig.source->push(forged);
  rig.source->push(kernel_event("/devices/a", 1));
  rig.run();
  REQUIRE(rig.events.size() == 1);  // only the kernel's
  CHECK(rig.counters.rejected.at(to_string(RejectReason::not_kernel_port)) == 1);
  CHECK(rig.counters.forged_shapes.at("well_formed") == 1);
  rig.intake.stop();
}

TEST_CASE("an overrun asks for a rescan; its gap, when it shows, is the same loss", "[netlink_intake]") {
  Rig rig;
  rig.intake.start();
  rig.source->push(Overrun{});
  rig.source->push(kernel_event("/devices/a", 100, 40));
  rig.run();
  CHECK(rig.overruns == 1);
  CHECK(rig.counters.overruns == 1);
  CHECK(rig.counters.missed_events == 40);
  CHECK(rig.events.size() == 1);
  rig.intake.stop();
}

TEST_CASE("a socket that fails stops kplugd", "[netlink_intake]") {
  Rig rig;
  rig.intake.start();
  rig.source->push(ReceiveFailed{EBADF});
  rig.run();
  CHECK(rig.failures == 1);
  rig.intake.stop();
}

TEST_CASE("a burst is read in bounded batches, every event delivered, none after stop", "[netlink_intake]") {
  Rig rig;
  rig.intake.start();
  for (std::uint64_t i = 1; i <= 1000; ++i) rig.source->push(kernel_event("/devices/d" + std::to_string(i), i));
  rig.io.restart();
  rig.io.run_one();  // one wake-up: at most one batch
  CHECK(rig.events.size() == 256);
  rig.run();
  CHECK(rig.events.size() == 1000);
  CHECK(rig.events.back().seqnum == 1000);
  rig.intake.release_idle_memory();
  CHECK(rig.source->released == 1);
  rig.intake.stop();
  rig.source->push(kernel_event("/devices/late", 1001));
  rig.run();
  CHECK(rig.events.size() == 1000);
}
