// Per-device ordering: events that touch the same device, or an ancestor or descendant
// of it, are handled one after the other in arrival (SEQNUM) order; unrelated events do
// not wait for each other. Pure bookkeeping: the daemon says when an event's work is done.
#pragma once

#include <cstdint>
#include <list>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "uevent/uevent.hpp"

namespace kplug {

class EventQueue {
 public:
  using Ticket = std::uint64_t;

  // Queues EVENT and returns its ticket.
  Ticket push(Uevent event);
  // The queued events that may start now, in arrival order: no earlier event that is
  // still queued or running touches the same device tree. They count as running.
  std::vector<std::pair<Ticket, Uevent>> take_ready();
  // The work for TICKET is done; related events behind it may start.
  void finish(Ticket ticket);

  std::size_t waiting() const;  // queued, not started
  std::size_t running() const;  // started, not finished

 private:
  struct Entry {
    Ticket ticket;
    Uevent event;
  };
  // Moves the events of [from, end) that nothing earlier blocks into READY; the others
  // stay, their devpaths added to held_.
  void scan(std::list<Entry>::iterator from, std::vector<std::pair<Ticket, Uevent>>& ready);

  std::list<Entry> waiting_;  // arrival order
  // Devpaths of the waiting events already looked at (blocked). A new event behind them
  // that touches one of their trees must wait too. Until something finishes, only new
  // events need a look, so a burst costs O(log n) per event, not a rescan of the queue.
  std::multiset<std::string> held_;
  std::size_t unscanned_ = 0;  // the events at the back of waiting_ not looked at yet
  bool rescan_ = false;  // something finished: held events may be free
  // Running events by devpath, sorted so that a device's descendants are found by
  // prefix and its ancestors by walking up its path: a burst of thousands of unrelated
  // events costs O(log n) each, not O(n).
  std::multiset<std::string> running_paths_;
  std::unordered_map<Ticket, std::string> running_;
  Ticket next_ = 1;
};

// True when A and B are the same device, or one lies below the other.
bool related_devices(const std::string& a, const std::string& b);

}  // namespace kplug
