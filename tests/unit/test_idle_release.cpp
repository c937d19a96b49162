// The idle release on manual timers and a manual clock: one release per quiet spell, none
// while work is in flight, none after stop.
#include <catch2/catch.hpp>

#include "daemon/idle_release.hpp"
#include "fakes.hpp"

using namespace kplug;
using namespace std::chrono_literals;

namespace {
struct Harness {
  std::shared_ptr<test::ManualTimerState> timers = std::make_shared<test::ManualTimerState>();
  test::FakeClock clock;
  bool busy = false;
  int released = 0;
  IdleRelease idle{std::make_unique<test::ManualTimers>(timers), clock.clock(), 2000ms,
                   {[this] { return !busy; }, [this] { ++released; }}};
};
}  // namespace

TEST_CASE("after a quiet spell the burst is given back once", "[idle_release]") {
  Harness h;
  h.idle.note_work();
  REQUIRE(h.timers->timers.count("idle") == 1);
  CHECK(h.timers->timers.at("idle").after == 2000ms);
  h.clock.now += 2000ms;
  REQUIRE(h.timers->fire("idle"));
  CHECK(h.released == 1);
  CHECK(h.timers->timers.empty());  // nothing more until the next work
}

TEST_CASE("work during the spell moves the release to the end of the new spell", "[idle_release]") {
  Harness h;
  h.idle.note_work();
  h.clock.now += 1500ms;
  h.idle.note_work();  // one timer per spell: no second timer started
  CHECK(h.timers->started == 1);
  h.clock.now += 500ms;
  REQUIRE(h.timers->fire("idle"));
  CHECK(h.released == 0);
  REQUIRE(h.timers->timers.count("idle") == 1);
  CHECK(h.timers->timers.at("idle").after == 1500ms);  // what is left of the new spell
  h.clock.now += 1500ms;
  REQUIRE(h.timers->fire("idle"));
  CHECK(h.released == 1);
}

TEST_CASE("nothing is given back while work is in flight", "[idle_release]") {
  Harness h;
  h.idle.note_work();
  h.busy = true;
  h.clock.now += 10s;
  REQUIRE(h.timers->fire("idle"));
  CHECK(h.released == 0);
  REQUIRE(h.timers->timers.count("idle") == 1);  // looks again a spell later
  h.busy = false;
  h.clock.now += 2s;
  REQUIRE(h.timers->fire("idle"));
  CHECK(h.released == 1);
  CHECK(h.idle.releases() == 1);
}

TEST_CASE("after stop nothing is armed or released", "[idle_release]") {
  Harness h;
  h.idle.note_work();
  h.idle.stop();
  CHECK(h.timers->timers.empty());
  h.idle.note_work();
  CHECK(h.timers->timers.empty());
  CHECK(h.released == 0);
}
