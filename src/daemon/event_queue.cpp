// Ordering by device ancestry.
#include "daemon/event_queue.hpp"

#include <algorithm>

#include "daemon/ledger.hpp"

namespace kplug {

bool related_devices(const std::string& a, const std::string& b) {
  return is_same_or_below(a, b) || is_same_or_below(b, a);
}

EventQueue::Ticket EventQueue::push(Uevent event) {
  waiting_.push_back({next_, std::move(event)});
  return next_++;
}

bool EventQueue::blocked_by_running(const std::string& devpath) const {
  // The device itself or an ancestor of it.
  for (std::size_t end = devpath.size(); end > 0 && end != std::string::npos; end = devpath.rfind('/', end - 1))
    if (running_paths_.count(devpath.substr(0, end))) return true;
  // A descendant: the first running path at or after "DEVPATH/".
  auto it = running_paths_.lower_bound(devpath + "/");
  return it != running_paths_.end() && it->compare(0, devpath.size() + 1, devpath + "/") == 0;
}

std::vector<std::pair<EventQueue::Ticket, Uevent>> EventQueue::take_ready() {
  std::vector<std::pair<Ticket, Uevent>> ready;
  std::vector<std::string> held;  // devpaths of waiting events that stay queued
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    const std::string& devpath = it->event.devpath;
    bool blocked = blocked_by_running(devpath) ||
                   std::any_of(held.begin(), held.end(), [&](const std::string& h) { return related_devices(h, devpath); });
    if (blocked) {
      held.push_back(devpath);
      ++it;
      continue;
    }
    running_paths_.insert(devpath);
    running_.emplace(it->ticket, devpath);
    ready.emplace_back(it->ticket, std::move(it->event));
    it = waiting_.erase(it);
  }
  return ready;
}

void EventQueue::finish(Ticket ticket) {
  auto it = running_.find(ticket);
  if (it == running_.end()) return;
  running_paths_.erase(running_paths_.find(it->second));
  running_.erase(it);
}

std::size_t EventQueue::waiting() const { return waiting_.size(); }

std::size_t EventQueue::running() const { return running_.size(); }

}  // namespace kplug
