// The events in flight, with plain values: queued, started, answered, landed; the counts
// coldplug, settle and the status read.
#include <catch2/catch.hpp>

#include "daemon/event_flight.hpp"
#include "daemon_fixtures.hpp"

using namespace kplug;
using kplug::test::add;

namespace {

Uevent walked(const std::string& devpath, EventSource source) {
  Uevent ev = add(devpath, "m:1");
  ev.source = source;
  return ev;
}

LoadResult loaded() { return LoadResult{LoadStatus::loaded}; }

}  // namespace

TEST_CASE("an event is in flight from queued to landed, started only once handed out", "[event_flight]") {
  EventFlight f;
  f.queued(1, EventSource::kernel);
  f.queued(2, EventSource::kernel);
  CHECK(f.events() == 2);
  CHECK(f.started() == 0);
  auto& one = f.start(1, add("/devices/a", "m:1"));
  CHECK(one.event.devpath == "/devices/a");
  CHECK(f.started() == 1);
  auto landed = f.land(1);
  CHECK(landed.event.devpath == "/devices/a");
  CHECK(f.events() == 1);
  CHECK(f.started() == 0);
  f.start(2, add("/devices/b", ""));
  f.land(2);
  CHECK(f.events() == 0);
  CHECK(f.land(2).event.devpath.empty());  // landing twice is nothing
  CHECK(f.events() == 0);
}

TEST_CASE("an event lands after its last load answers, with every outcome in its report", "[event_flight]") {
  EventFlight f;
  f.queued(7, EventSource::kernel);
  auto& flight = f.start(7, add("/devices/a", "m:1"));
  flight.loads_waiting = 2;
  CHECK_FALSE(f.answered(7, "a", loaded()));
  CHECK(f.answered(7, "b", LoadResult{LoadStatus::already_loaded}));
  auto done = f.land(7);
  REQUIRE(done.report.outcomes.size() == 2);
  CHECK(done.report.outcomes[0].first == "a");
  CHECK(done.report.outcomes[1].second.status == LoadStatus::already_loaded);
}

TEST_CASE("a walk's events are counted until they land, waiting ones included", "[event_flight][coldplug]") {
  EventFlight f;
  f.queued(1, EventSource::coldplug);
  f.queued(2, EventSource::kernel);
  f.queued(3, EventSource::rescan);  // still waiting behind an event of its tree
  CHECK(f.from_walks() == 2);
  f.start(1, walked("/devices/a", EventSource::coldplug));
  f.land(1);
  CHECK(f.from_walks() == 1);
  f.land(2);
  CHECK(f.from_walks() == 1);
  f.start(3, walked("/devices/b", EventSource::rescan));
  f.land(3);
  CHECK(f.from_walks() == 0);
  CHECK(f.events() == 0);
}

TEST_CASE("an event started without being queued first is counted once", "[event_flight]") {
  EventFlight f;
  f.start(4, walked("/devices/a", EventSource::coldplug));
  CHECK(f.events() == 1);
  CHECK(f.from_walks() == 1);
  CHECK(f.started() == 1);
  f.land(4);
  CHECK(f.from_walks() == 0);
  CHECK(f.started() == 0);
}
