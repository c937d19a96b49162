// Per-device ordering: events that touch the same device, or an ancestor or descendant
// of it, are handled one after the other in arrival (SEQNUM) order; unrelated events do
// not wait for each other. A `move` touches its old path (DEVPATH_OLD) as well. Pure bookkeeping: the daemon says when an event's work is done.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
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
  // True when a running event, or a waiting one queued before TICKET, touches DEVPATH's
  // tree.
  bool blocked(Ticket ticket, const std::string& devpath) const;
  bool blocked(Ticket ticket, const Uevent& event) const;
  // For a move, the old path it orders on beside its devpath (DEVPATH_OLD).
  static std::optional<std::string> old_path(const Uevent& event);
  void start(Ticket ticket, Uevent event);

  // Waiting events by ticket (arrival order), and their tickets by devpath: sorted paths
  // find a device's ancestors by walking up its path and its descendants by prefix, so
  // each push and each finish costs O(log n) for the usual shallow trees -- never a scan
  // of the whole queue (a burst of 10^6 events stays linear).
  std::map<Ticket, Uevent> waiting_;
  std::map<std::string, std::set<Ticket>> waiting_paths_;
  std::multiset<std::string> running_paths_;
  std::unordered_map<Ticket, std::vector<std::multiset<std::string>::iterator>> running_;  // into running_paths_
  std::vector<std::pair<Ticket, Uevent>> ready_;  // started, not yet handed out
  Ticket next_ = 1;
};

}  // namespace kplug
