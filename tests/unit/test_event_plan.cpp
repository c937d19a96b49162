// One event's loads planned in the daemon: resolved through the (fake) index, skipped
// modules put in the report, a device no module matches counted; and how loudly a report
// is logged.
#include <catch2/catch.hpp>

#include <cerrno>

#include "daemon/event_plan.hpp"
#include "daemon_fixtures.hpp"

using namespace kplug;
using kplug::test::add;

namespace {

Decision autoload(const std::string& modalias) {
  Decision d;
  d.autoload = true;
  d.modalias = modalias;
  return d;
}

}  // namespace

TEST_CASE("an event's MODALIAS resolves to jobs and fills the report's header", "[event_plan]") {
  auto resolver = test::resolver();
  Counters counters;
  LoadReport report;
  Uevent ev = add("/devices/v0", "virtio:d00000005v00001AF4");
  auto jobs = plan_event(ev, autoload("virtio:d00000005v00001AF4"), *resolver, counters, report);
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].module == "virtio_balloon");
  CHECK(jobs[0].devpath == "/devices/v0");
  CHECK(report.event == "add /devices/v0 (test)");
  CHECK(report.modalias == "virtio:d00000005v00001AF4");
  CHECK(report.outcomes.empty());
  CHECK(counters.no_module == 0);
}

TEST_CASE("a blacklisted module is an outcome of the report, not a job", "[event_plan]") {
  auto resolver = test::resolver();
  Counters counters;
  LoadReport report;
  Decision d = autoload("virtio:d00000005v00001AF4");
  d.blacklist = {"virtio_balloon"};
  auto jobs = plan_event(add("/devices/v0", d.modalias), d, *resolver, counters, report);
  CHECK(jobs.empty());
  REQUIRE(report.outcomes.size() == 1);
  CHECK(report.outcomes[0].first == "virtio_balloon");
  CHECK(report.outcomes[0].second.status == LoadStatus::blacklisted);
  CHECK(counters.loads_skipped == 1);
}

TEST_CASE("a device no module matches is counted, with nothing to load or tell", "[event_plan]") {
  auto resolver = test::resolver();
  Counters counters;
  LoadReport report;
  Uevent ev = add("/devices/x", "nothing:here");
  ev.source = EventSource::coldplug;
  auto jobs = plan_event(ev, autoload("nothing:here"), *resolver, counters, report);
  CHECK(jobs.empty());
  CHECK(report.outcomes.empty());
  CHECK(counters.no_module == 1);
  CHECK(report.source == EventSource::coldplug);
}

TEST_CASE("a report is logged by its worst outcome; a rescan's at debug", "[event_plan]") {
  LoadReport report;
  report.outcomes = {{"a", LoadResult{LoadStatus::loaded}}};
  CHECK(report_level(report) == spdlog::level::info);
  LoadResult missing{LoadStatus::failed};
  missing.error = ENOENT;
  report.outcomes.emplace_back("b", missing);
  CHECK(report_level(report) == spdlog::level::warn);
  LoadResult refused{LoadStatus::failed};
  refused.error = EPERM;
  report.outcomes.emplace_back("c", refused);
  CHECK(report_level(report) == spdlog::level::err);
  report.source = EventSource::rescan;
  CHECK(report_level(report) == spdlog::level::debug);
}
