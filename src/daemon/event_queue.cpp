// Ordering by device ancestry.
#include "daemon/event_queue.hpp"

#include <iterator>

#include "daemon/ledger.hpp"

namespace kplug {

bool related_devices(const std::string& a, const std::string& b) {
  return is_same_or_below(a, b) || is_same_or_below(b, a);
}

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
  waiting_.push_back({next_, std::move(event)});
  ++unscanned_;
  return next_++;
}

void EventQueue::scan(std::list<Entry>::iterator from, std::vector<std::pair<Ticket, Uevent>>& ready) {
  for (auto it = from; it != waiting_.end();) {
    const std::string& devpath = it->event.devpath;
    if (touches(running_paths_, devpath) || touches(held_, devpath)) {
      held_.insert(devpath);
      ++it;
      continue;
    }
    running_paths_.insert(devpath);
    running_.emplace(it->ticket, devpath);
    ready.emplace_back(it->ticket, std::move(it->event));
    it = waiting_.erase(it);
  }
  unscanned_ = 0;
}

std::vector<std::pair<EventQueue::Ticket, Uevent>> EventQueue::take_ready() {
  std::vector<std::pair<Ticket, Uevent>> ready;
  if (rescan_) {
    held_.clear();
    rescan_ = false;
    scan(waiting_.begin(), ready);
  } else {
    scan(std::prev(waiting_.end(), static_cast<std::ptrdiff_t>(unscanned_)), ready);
  }
  return ready;
}

void EventQueue::finish(Ticket ticket) {
  auto it = running_.find(ticket);
  if (it == running_.end()) return;
  running_paths_.erase(running_paths_.find(it->second));
  running_.erase(it);
  rescan_ = true;
}

std::size_t EventQueue::waiting() const { return waiting_.size(); }

std::size_t EventQueue::running() const { return running_.size(); }

}  // namespace kplug
