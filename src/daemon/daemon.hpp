// kplugd's core: the wiring of its parts and the one flow every event takes. The parts
// each own their state: NetlinkIntake reads the socket, Coldplug walks the present
// devices (at start and after lost events), LoadScheduler runs loads on the loader
// threads (one module's operations in order), Unloader keeps the ledger and unloads,
// RuleCommands runs the rules' actions, ControlService answers the control socket,
// IdleRelease gives back what a burst took, SystemdLink takes signals and pings the
// watchdog. Daemon decides and plans (on_event_ready).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/clock.hpp"
#include "daemon/coldplug.hpp"
#include "daemon/control_service.hpp"
#include "daemon/counters.hpp"
#include "daemon/event_flight.hpp"
#include "daemon/event_queue.hpp"
#include "daemon/failure_history.hpp"
#include "daemon/idle_release.hpp"
#include "daemon/named_timers.hpp"
#include "daemon/load_scheduler.hpp"
#include "daemon/netlink_intake.hpp"
#include "daemon/reload.hpp"
#include "daemon/rule_commands.hpp"
#include "daemon/status_report.hpp"
#include "daemon/systemd_link.hpp"
#include "daemon/unloader.hpp"
#include "kmod/module_loader.hpp"
#include "kmod/module_resolver.hpp"
#include "plan/load_report.hpp"
#include "rules/rule.hpp"
#include "rules/settings.hpp"
#include "sysfs/system_view.hpp"
#include "uevent/uevent_source.hpp"
#include "uevent/rebroadcast.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

// Every effect the daemon has, passed in: real ones in kplugd, fakes in the tests.
struct DaemonSeams {
  std::unique_ptr<UeventSource> source;  // null: events come only through on_uevent
  std::unique_ptr<ModuleResolver> resolver;
  std::vector<std::unique_ptr<ModuleLoader>> loaders;  // one per loader thread
  std::unique_ptr<SystemView> system;     // required: make_sysfs_view() in kplugd
  Clock clock;                            // required: steady_clock() in kplugd
  WallClock wall_clock;                   // required: system_wall_clock() in kplugd
  // Every part's timers, a set each, asked for by the part: "grace" (the unloader's),
  // "idle" (the idle release), "loads" (slow-load reports, retries), "rescan" (coldplug's
  // debounce), "settle" (the control service's poll), "metrics" (the metrics file's
  // interval). Null: Asio's for all.
  std::function<std::unique_ptr<NamedTimers>(const std::string& part)> timers;
  CommandRunner commands;                 // required: run_command in kplugd (rules' run:)
  std::unique_ptr<Rebroadcaster> rebroadcaster;  // null: handled events are not sent on
  // Also given every message of the `events` stream (decisions, loads, unloads), as
  // subscribers on the control socket get them: kplug replay's output.
  std::function<void(const nlohmann::json&)> observer;
};

class Daemon {
 public:
  Daemon(boost::asio::io_context& io, DaemonOptions options, DaemonSeams seams, RuleSet rules = {});
  ~Daemon();

  // Called on SIGHUP to read the config and rules again; without one, SIGHUP is ignored.
  void set_reloader(Reloader reloader) { reloader_ = std::move(reloader); }
  // Replaces config and rules at once, or keeps the old ones and logs why; returns the
  // problems that stopped it (empty on success).
  Diagnostics reload();
  // Opens the control socket (before start()); an error stops start-up.
  Result<bool, std::string> open_control(const std::string& path);
  // Loads the ledger a previous kplugd left in PATH; modules no longer loaded and devices
  // gone meanwhile are dealt with. Later changes are saved there.
  void restore_state(const std::string& path);

  // Coldplug the present devices (unless disabled), then read the socket until a
  // signal or stop(). Returns at once; the work happens in io.run().
  void start();
  // Close every source so io.run() drains and returns.
  void stop(int exit_code = exit_ok);

  // Queues the event; it is handled as soon as no earlier event of its device tree is
  // still being handled.
  void on_uevent(Uevent event);

  const Counters& counters() const { return counters_; }
  const Ledger& ledger() const { return unloader_.ledger(); }
  const EventQueue& queue() const { return queue_; }
  const EventFlight& flight() const { return flight_; }
  bool ready() const { return ready_; }
  // Nothing queued, in flight, or waiting for a loader (grace timers may be running).
  bool idle() const { return flight_.events() == 0 && scheduler_.operations() == 0; }
  int exit_code() const { return exit_code_; }
  control::StatusReply status_reply() const { return status_.reply(); }

  // Where kplugd stands, as settle sees it (settle --critical: critical_done).
  ControlService::Progress progress() const;

 private:
  void do_dispatch();
  void on_event_ready(EventQueue::Ticket ticket, Uevent event);
  // TICKET is handled (its loads answered): it lands, is sent on if asked, frees its tree.
  void finish(EventQueue::Ticket ticket);
  // The one log line (and `loads` message) of an event's loads.
  void tell(const LoadReport& report);
  void on_load_done(EventQueue::Ticket ticket, const LoadJob& job, const LoadResult& result, bool coalesced);
  void on_boot_critical_done();
  void on_coldplug_finished(bool initial);
  void on_ready();
  // The `events` stream: to control subscribers and the observer, built only when wanted.
  bool observed() const { return observer_ || control_.has_subscribers(); }
  void publish(const control::EventMessage& message);

  boost::asio::io_context& io_;
  DaemonOptions options_;
  std::unique_ptr<SystemView> system_;
  Clock clock_;
  WallClock wall_clock_;
  std::unique_ptr<ModuleResolver> resolver_;
  std::unique_ptr<NamedTimers> timers_;          // the unloader's grace periods
  std::unique_ptr<NamedTimers> metrics_timers_;  // the metrics file's, given to it at start
  std::function<void(const nlohmann::json&)> observer_;
  std::unique_ptr<Rebroadcaster> rebroadcaster_;
  std::shared_ptr<const RuleSet> rules_;
  Reloader reloader_;
  AttrReader attrs_;
  Counters counters_;
  FailureHistory failures_;  // for `kplug doctor`, through the status reply
  EventQueue queue_;   // the order events may start in
  EventFlight flight_;  // every event from queued to handled: the one count of work in flight
  // The parts, in the order they are built (each may use those above it).
  LoadScheduler scheduler_;
  ControlService control_;
  Unloader unloader_;
  Coldplug coldplug_;
  RuleCommands commands_;
  NetlinkIntake intake_;
  SystemdLink systemd_;  // signals and the watchdog
  IdleRelease idle_release_;
  StatusReport status_;  // status, doctor and the metrics file read the parts through it
  std::uint64_t last_seqnum_ = 0;  // highest kernel SEQNUM handled
  bool ready_ = false;
  bool stopping_ = false;
  int exit_code_ = exit_ok;
};

}  // namespace kplug
