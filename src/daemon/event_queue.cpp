// Ordering by device ancestry.
#include "daemon/event_queue.hpp"

#include <algorithm>

#include "base/names.hpp"

namespace kplug {

namespace {

// True when SET holds DEVPATH, an ancestor of it, or a descendant of it. Sorted paths
// make that a walk up DEVPATH's components plus one lower_bound.
bool touches(const std::multiset<std::string>& set, const std::string& devpath) {
  for (std::size_t end = devpath.size(); end > 0 && end != std::string::npos; end = devpath.rfind('/', end - 1))
    if (set.count(devpath.substr(0, end))) return true;
  auto it = set.lower_bound(devpath + "/");
  return it != set.end() && it->compare(0, devpath.size() + 1, devpath + "/") == 0;
}

}  // namespace

EventQueue::Ticket EventQueue::push(Uevent event) {
  Ticket ticket = next_++;
  if (!blocked(ticket, event.devpath)) {
    start(ticket, std::move(event));
  } else {
    waiting_paths_[event.devpath].insert(ticket);
    waiting_.emplace(ticket, std::move(event));
  }
  return ticket;
}

bool EventQueue::blocked(Ticket ticket, const std::string& devpath) const {
  if (touches(running_paths_, devpath)) return true;
  auto earlier = [&](const std::set<Ticket>& tickets) { return !tickets.empty() && *tickets.begin() < ticket; };
  // The device itself and its ancestors.
  for (std::size_t end = devpath.size(); end > 0 && end != std::string::npos; end = devpath.rfind('/', end - 1))
    if (auto it = waiting_paths_.find(devpath.substr(0, end)); it != waiting_paths_.end() && earlier(it->second))
      return true;
  // Its descendants.
  std::string below = devpath + "/";
  for (auto it = waiting_paths_.lower_bound(below); it != waiting_paths_.end() && it->first.starts_with(below); ++it)
    if (earlier(it->second)) return true;
  return false;
}

void EventQueue::start(Ticket ticket, Uevent event) {
  running_.emplace(ticket, running_paths_.insert(event.devpath));
  ready_.emplace_back(ticket, std::move(event));
}

std::vector<std::pair<EventQueue::Ticket, Uevent>> EventQueue::take_ready() {
  std::vector<std::pair<Ticket, Uevent>> out;
  out.swap(ready_);
  return out;
}

void EventQueue::finish(Ticket ticket) {
  auto it = running_.find(ticket);
  if (it == running_.end()) return;
  std::string devpath = std::move(running_paths_.extract(it->second).value());
  running_.erase(it);
  // Only events of the finished device's tree can be free now; of each path, only the
  // first waiting event (the later ones wait for it).
  std::vector<Ticket> candidates;
  for (std::size_t end = devpath.size(); end > 0 && end != std::string::npos; end = devpath.rfind('/', end - 1))
    if (auto p = waiting_paths_.find(devpath.substr(0, end)); p != waiting_paths_.end())
      candidates.push_back(*p->second.begin());
  std::string below = devpath + "/";
  for (auto p = waiting_paths_.lower_bound(below); p != waiting_paths_.end() && p->first.starts_with(below); ++p)
    candidates.push_back(*p->second.begin());
  std::sort(candidates.begin(), candidates.end());
  for (Ticket candidate : candidates) {
    auto w = waiting_.find(candidate);
    if (blocked(candidate, w->second.devpath)) continue;
    auto p = waiting_paths_.find(w->second.devpath);
    p->second.erase(candidate);
    if (p->second.empty()) waiting_paths_.erase(p);
    start(candidate, std::move(w->second));
    waiting_.erase(w);
  }
}

std::size_t EventQueue::waiting() const { return waiting_.size(); }

std::size_t EventQueue::running() const { return running_.size(); }

}  // namespace kplug
