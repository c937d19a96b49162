// Timers on manual time (see the header).
#include "daemon/manual_timers.hpp"

#include <tuple>

namespace kplug {

bool ManualTimerState::fire(const std::string& name) {
  auto it = timers.find(name);
  if (it == timers.end()) return false;
  auto callback = std::move(it->second.fire);
  timers.erase(it);
  callback();
  return true;
}

std::optional<std::pair<double, std::function<void()>>> ManualTimerState::take_due(double until) {
  auto first = timers.end();
  auto earlier = [](const Timer& a, const Timer& b) { return std::tie(a.due, a.order) < std::tie(b.due, b.order); };
  for (auto it = timers.begin(); it != timers.end(); ++it)
    if (it->second.due <= until && (first == timers.end() || earlier(it->second, first->second))) first = it;
  if (first == timers.end()) return std::nullopt;
  std::pair<double, std::function<void()>> due{first->second.due, std::move(first->second.fire)};
  timers.erase(first);
  return due;
}

void ManualTimers::start(const std::string& name, std::chrono::milliseconds after, std::function<void()> fire) {
  ++s_->started;
  double now = s_->now ? s_->now() : 0;
  s_->timers[name] = {after, now + std::chrono::duration<double>(after).count(),
                      static_cast<std::uint64_t>(s_->started), std::move(fire)};
}

}  // namespace kplug
