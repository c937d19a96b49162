// The events kplugd is handling, each from the moment it is queued until its last load
// has answered: the one owner of "in flight". Per event: the event itself (sent on once
// handled), the loads it still waits for, their outcomes (its one report) and its unload
// policy. Coldplug's completion, settle, rebroadcast-after-loads and the events stream's
// `loads` message all read it, and kplugd's READY: every present device decided
// (undecided_walks) and no critical event in flight (critical). Pure bookkeeping: the
// daemon says what happened.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "base/priority.hpp"
#include "kmod/module_loader.hpp"
#include "plan/load_report.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

class EventFlight {
 public:
  using Ticket = std::uint64_t;  // the EventQueue's
  struct Flight {
    EventSource source = EventSource::kernel;
    bool started = false;                        // handed out by the queue
    Uevent event;                                // once started
    LoadReport report;                           // what its loads came to
    bool unload_on_remove = false;               // its decision's unload policy, for the ledger
    std::chrono::milliseconds unload_grace{0};
    std::size_t loads_waiting = 0;               // loads handed out, not yet answered
    Priority priority = Priority::normal;        // its decision's
  };

  // TICKET was queued; it may wait behind earlier events of its device tree.
  void queued(Ticket ticket, EventSource source);
  // TICKET may start now: its flight, holding EVENT, to fill in (report, policy, loads).
  Flight& start(Ticket ticket, Uevent event);
  Flight& at(Ticket ticket) { return flights_.at(ticket); }
  // TICKET's decision gave its loads PRIORITY.
  void decided(Ticket ticket, Priority priority);
  // One of TICKET's loads answered with RESULT: added to its report. True when it was the
  // last one it waited for.
  bool answered(Ticket ticket, const std::string& module, const LoadResult& result);
  // TICKET is handled: its flight, taken out.
  Flight land(Ticket ticket);

  std::size_t events() const { return flights_.size(); }  // queued or started, not landed
  std::size_t started() const { return started_; }        // started, not landed
  // Coldplug's and rescans' events not landed: a walk is complete at zero.
  std::size_t from_walks() const {
    return by_source_[static_cast<std::size_t>(EventSource::coldplug)] +
           by_source_[static_cast<std::size_t>(EventSource::rescan)];
  }
  // Events fed by walks that have not started (been decided) yet.
  std::size_t undecided_walks() const { return undecided_walks_; }
  // Started events whose decision made them critical, not landed.
  std::size_t critical() const { return critical_; }
  // What READY waits for: walk events not decided yet and critical events in flight.
  std::size_t boot_pending() const { return undecided_walks_ + critical_; }

 private:
  std::map<Ticket, Flight> flights_;
  std::array<std::size_t, 3> by_source_{};  // kernel, coldplug, rescan: counts of flights_
  std::size_t started_ = 0;                 // of flights_
  std::size_t undecided_walks_ = 0;         // of flights_: from walks, not started
  std::size_t critical_ = 0;                // of flights_: started, critical
};

}  // namespace kplug
