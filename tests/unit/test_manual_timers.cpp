// Timers on manual time, as the unit tests and `kplug replay` run them: fired by name,
// or taken in order of when they fall due on a time the holder moves.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "daemon/manual_timers.hpp"

using namespace kplug;
using namespace std::chrono_literals;

TEST_CASE("a manual timer fires only when told, once, and can be cancelled", "[manual_timers]") {
  auto state = std::make_shared<ManualTimerState>();
  ManualTimers timers(state);
  int fired = 0;
  timers.start("a", 100ms, [&] { ++fired; });
  timers.start("b", 100ms, [&] { fired += 10; });
  CHECK(timers.running() == 2);
  CHECK(state->timers.at("a").after == 100ms);
  CHECK(state->fire("a"));
  CHECK(fired == 1);
  CHECK_FALSE(state->fire("a"));  // gone once fired
  CHECK(timers.cancel("b"));
  CHECK_FALSE(state->fire("b"));
  CHECK(fired == 1);
  CHECK(state->started == 2);
}

TEST_CASE("timers fall due on the holder's time, earliest first, ties in start order", "[manual_timers]") {
  auto state = std::make_shared<ManualTimerState>();
  double now = 10;
  state->now = [&] { return now; };
  ManualTimers timers(state);
  std::vector<std::string> order;
  timers.start("late", 5s, [&] { order.push_back("late"); });
  timers.start("early", 1s, [&] { order.push_back("early"); });
  now = 12;
  timers.start("tie", 3s, [&] { order.push_back("tie"); });  // due at 15, as "late"
  CHECK_FALSE(state->take_due(10.5).has_value());
  while (auto due = state->take_due(20)) {
    order.push_back(std::to_string(static_cast<int>(due->first)));
    due->second();
  }
  CHECK(order == std::vector<std::string>{"11", "early", "15", "late", "15", "tie"});
  CHECK(timers.running() == 0);
}

TEST_CASE("a timer started again under its name replaces the first", "[manual_timers]") {
  auto state = std::make_shared<ManualTimerState>();
  ManualTimers timers(state);
  std::string which;
  timers.start("grace", 1s, [&] { which = "first"; });
  timers.start("grace", 2s, [&] { which = "second"; });
  CHECK(timers.running() == 1);
  CHECK(state->fire("grace"));
  CHECK(which == "second");
}
