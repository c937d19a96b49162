// Giving back what a burst took: once kplugd has had no work for a quiet spell (2 s by
// default; udevd stops its workers after 3 s), RELEASE runs once (loader threads stopped
// but one fresh one, free memory returned). One timer per quiet spell, not one per event:
// when it fires it looks again at when the last work was.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "base/clock.hpp"
#include "daemon/named_timers.hpp"

namespace kplug {

class IdleRelease {
 public:
  struct Hooks {
    std::function<bool()> idle;     // nothing queued, running or loading
    std::function<void()> release;  // give back what the burst took
  };

  // TIMERS: a set of its own (one timer, "idle"); CLOCK: when work was last noted.
  IdleRelease(std::unique_ptr<NamedTimers> timers, Clock clock, std::chrono::milliseconds quiet, Hooks hooks);

  // Work happened: the quiet spell starts again.
  void note_work();
  // No more releases (kplugd is stopping).
  void stop();
  std::size_t releases() const { return releases_; }

 private:
  void arm(std::chrono::milliseconds after);
  void on_timer();

  std::unique_ptr<NamedTimers> timers_;
  Clock clock_;
  std::chrono::milliseconds quiet_;
  Hooks hooks_;
  bool armed_ = false;
  bool stopped_ = false;
  std::size_t releases_ = 0;
  std::chrono::steady_clock::time_point last_work_;
};

}  // namespace kplug
