// Ordering by device ancestry.
#include "daemon/event_queue.hpp"

#include <algorithm>

#include "daemon/ledger.hpp"

namespace kplug {

bool related_devices(const std::string& a, const std::string& b) {
  return is_same_or_below(a, b) || is_same_or_below(b, a);
}

EventQueue::Ticket EventQueue::push(Uevent event) {
  entries_.push_back({next_, std::move(event), false});
  return next_++;
}

std::vector<std::pair<EventQueue::Ticket, Uevent>> EventQueue::take_ready() {
  std::vector<std::pair<Ticket, Uevent>> ready;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    if (e.started) continue;
    bool blocked = false;
    for (std::size_t j = 0; j < i && !blocked; ++j)
      blocked = related_devices(entries_[j].event.devpath, e.event.devpath);
    if (blocked) continue;
    e.started = true;
    ready.emplace_back(e.ticket, e.event);
  }
  return ready;
}

void EventQueue::finish(Ticket ticket) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.ticket == ticket; });
  if (it != entries_.end()) entries_.erase(it);
}

std::size_t EventQueue::waiting() const {
  return static_cast<std::size_t>(std::count_if(entries_.begin(), entries_.end(), [](const Entry& e) { return !e.started; }));
}

std::size_t EventQueue::running() const { return entries_.size() - waiting(); }

}  // namespace kplug
