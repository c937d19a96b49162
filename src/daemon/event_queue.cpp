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

std::optional<std::string> EventQueue::old_path(const Uevent& event) {
  // A move renames a device: it waits for the events of its old path as well as its new
  // one (as udevd does), and what comes after it for either path waits for it.
  if (event.action != "move") return std::nullopt;
  if (auto old = event.get("DEVPATH_OLD"); old && *old != event.devpath && is_safe_devpath(*old))
    return std::string(*old);
  return std::nullopt;
}

EventQueue::Ticket EventQueue::push(Uevent event) {
  Ticket ticket = next_++;
  if (!blocked(ticket, event)) {
    start(ticket, std::move(event));
  } else {
    waiting_paths_[event.devpath].insert(ticket);
    if (auto old = old_path(event)) waiting_paths_[*old].insert(ticket);
    waiting_.emplace(ticket, std::move(event));
  }
  return ticket;
}

bool EventQueue::blocked(Ticket ticket, const Uevent& event) const {
  if (blocked(ticket, event.devpath)) return true;
  auto old = old_path(event);
  return old && blocked(ticket, *old);
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
  auto& paths = running_[ticket];
  paths.push_back(running_paths_.insert(event.devpath));
  if (auto old = old_path(event)) paths.push_back(running_paths_.insert(*old));
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
  std::vector<std::string> finished;
  for (auto path : it->second) finished.push_back(std::move(running_paths_.extract(path).value()));
  running_.erase(it);
  // Only events of the finished device's tree can be free now; of each path, only the
  // first waiting event (the later ones wait for it).
  std::vector<Ticket> candidates;
  for (const auto& devpath : finished) {
    for (std::size_t end = devpath.size(); end > 0 && end != std::string::npos; end = devpath.rfind('/', end - 1))
      if (auto p = waiting_paths_.find(devpath.substr(0, end)); p != waiting_paths_.end())
        candidates.push_back(*p->second.begin());
    std::string below = devpath + "/";
    for (auto p = waiting_paths_.lower_bound(below); p != waiting_paths_.end() && p->first.starts_with(below); ++p)
      candidates.push_back(*p->second.begin());
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  for (Ticket candidate : candidates) {
    auto w = waiting_.find(candidate);
    if (w == waiting_.end() || blocked(candidate, w->second)) continue;
    auto unwait = [&](const std::string& path) {
      auto p = waiting_paths_.find(path);
      p->second.erase(candidate);
      if (p->second.empty()) waiting_paths_.erase(p);
    };
    unwait(w->second.devpath);
    if (auto old = old_path(w->second)) unwait(*old);
    start(candidate, std::move(w->second));
    waiting_.erase(w);
  }
}

std::size_t EventQueue::waiting() const { return waiting_.size(); }

std::size_t EventQueue::running() const { return running_.size(); }

}  // namespace kplug
