// Giving back what a burst took, after a quiet spell.
#include "daemon/idle_release.hpp"

#include <malloc.h>

namespace kplug {

IdleRelease::IdleRelease(std::unique_ptr<NamedTimers> timers, Clock clock, std::chrono::milliseconds quiet,
                         Hooks hooks)
    : timers_(std::move(timers)), clock_(std::move(clock)), quiet_(quiet), hooks_(std::move(hooks)) {}

void IdleRelease::note_work() {
  last_work_ = clock_();
  if (!armed_) arm(quiet_);
}

void IdleRelease::stop() {
  stopped_ = true;
  armed_ = false;
  timers_->cancel_all();
}

void IdleRelease::arm(std::chrono::milliseconds after) {
  if (stopped_) return;
  armed_ = true;
  timers_->start("idle", after, [this] {
    armed_ = false;
    on_timer();
  });
}

void IdleRelease::on_timer() {
  auto quiet = std::chrono::duration_cast<std::chrono::milliseconds>(clock_() - last_work_);
  if (!hooks_.idle()) {
    arm(quiet_);
  } else if (quiet < quiet_) {
    arm(quiet_ - quiet);
  } else {
    ++releases_;
    hooks_.release();
    // The burst's heap, freed but kept by malloc, back to the kernel.
    malloc_trim(0);
  }
}

}  // namespace kplug
