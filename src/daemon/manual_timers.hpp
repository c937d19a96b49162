// Named timers on manual time: nothing fires by itself. Whoever holds the state fires a
// timer by name (the unit tests) or takes, in order, those due by a time it moves
// (`kplug replay`, on the recorded receive times). One implementation for both.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "daemon/named_timers.hpp"

namespace kplug {

// Shared by the ManualTimers a part owns and whoever moves the time.
struct ManualTimerState {
  struct Timer {
    std::chrono::milliseconds after;  // as started
    double due = 0;                   // NOW at the start, plus AFTER (seconds)
    std::uint64_t order = 0;          // when it was started, for ties
    std::function<void()> fire;
  };
  std::map<std::string, Timer> timers;  // running, by name
  int started = 0;
  std::function<double()> now;  // the manual time in seconds; none: 0

  // Fires the timer NAME (taken out first, as a real one is); false if none is running.
  bool fire(const std::string& name);
  // The timer due first at or before UNTIL (of two due at once, the one started first):
  // its time and its callback, taken out to be fired.
  std::optional<std::pair<double, std::function<void()>>> take_due(double until);
};

class ManualTimers : public NamedTimers {
 public:
  explicit ManualTimers(std::shared_ptr<ManualTimerState> state) : s_(std::move(state)) {}
  void start(const std::string& name, std::chrono::milliseconds after, std::function<void()> fire) override;
  bool cancel(const std::string& name) override { return s_->timers.erase(name) > 0; }
  void cancel_all() override { s_->timers.clear(); }
  std::size_t running() const override { return s_->timers.size(); }

 private:
  std::shared_ptr<ManualTimerState> s_;
};

}  // namespace kplug
