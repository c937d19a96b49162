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
#include "daemon/event_queue.hpp"
#include "daemon/failure_history.hpp"
#include "daemon/idle_release.hpp"
#include "daemon/metrics_file.hpp"
#include "daemon/named_timers.hpp"
#include "daemon/load_scheduler.hpp"
#include "daemon/netlink_intake.hpp"
#include "daemon/rule_commands.hpp"
#include "daemon/systemd_link.hpp"
#include "daemon/unloader.hpp"
#include "kmod/module_loader.hpp"
#include "kmod/module_resolver.hpp"
#include "plan/load_report.hpp"
#include "rules/rule.hpp"
#include "rules/settings.hpp"
#include "sysfs/system_view.hpp"
#include "uevent/netlink_source.hpp"
#include "uevent/rebroadcast.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

// Every effect the daemon has, passed in: real ones in kplugd, fakes in the tests.
struct DaemonSeams {
  std::unique_ptr<NetlinkSource> source;  // null: events come only through on_uevent
  std::unique_ptr<ModuleResolver> resolver;
  std::vector<std::unique_ptr<ModuleLoader>> loaders;  // one per loader thread
  std::unique_ptr<SystemView> system;     // required: make_sysfs_view() in kplugd
  Clock clock;                            // required: steady_clock() in kplugd
  std::unique_ptr<NamedTimers> timers;    // null: Asio's (the unloader's grace periods)
  std::unique_ptr<NamedTimers> idle_timers;  // null: Asio's (the idle release's quiet spell)
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
  using Reloader = std::function<Result<Settings, Diagnostics>()>;
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
  bool ready() const { return ready_; }
  // Nothing queued, in flight, or waiting for a loader (grace timers may be running).
  bool idle() const { return queue_.waiting() == 0 && queue_.running() == 0 && scheduler_.in_flight() == 0; }
  int exit_code() const { return exit_code_; }
  control::StatusReply status_reply() const;

 private:
  void do_dispatch();
  void on_event_ready(EventQueue::Ticket ticket, const Uevent& event);
  // EVENT is handled (its loads answered): rebroadcast if asked, then free its tree.
  void finish(EventQueue::Ticket ticket, const Uevent& event);
  std::vector<LoadJob> plan(const Uevent& event, const Decision& decision, LoadReport& report);
  void on_load_done(const LoadJob& job, const LoadResult& result, const std::shared_ptr<LoadReport>& report,
                    bool coalesced);
  void on_coldplug_finished(bool initial);
  // Work happened: once kplugd has been idle a while, it gives back what a burst took
  // (release_idle_memory).
  void note_work();
  void release_idle_memory();
  void on_ready();
  ControlService::Progress progress() const;
  // The `events` stream: to control subscribers and the observer, built only when wanted.
  bool observed() const { return observer_ || control_.has_subscribers(); }
  void publish(const nlohmann::json& message);

  boost::asio::io_context& io_;
  DaemonOptions options_;
  std::unique_ptr<SystemView> system_;
  Clock clock_;
  std::unique_ptr<ModuleResolver> resolver_;
  std::unique_ptr<NamedTimers> timers_;
  std::function<void(const nlohmann::json&)> observer_;
  std::unique_ptr<Rebroadcaster> rebroadcaster_;
  std::map<EventQueue::Ticket, Uevent> loading_;  // with a rebroadcaster: events whose loads are out
  std::shared_ptr<const RuleSet> rules_;
  Reloader reloader_;
  AttrReader attrs_;
  Counters counters_;
  FailureHistory failures_;  // for `kplug doctor`, through the status reply
  EventQueue queue_;
  // The parts, in the order they are built (each may use those above it).
  LoadScheduler scheduler_;
  ControlService control_;
  Unloader unloader_;
  Coldplug coldplug_;
  RuleCommands commands_;
  NetlinkIntake intake_;
  SystemdLink systemd_;  // signals and the watchdog
  IdleRelease idle_release_;
  std::optional<MetricsFile> metrics_;  // with metrics_file: set
  std::uint64_t last_seqnum_ = 0;  // highest kernel SEQNUM handled
  std::chrono::steady_clock::time_point started_;
  bool ready_ = false;
  bool stopping_ = false;
  int exit_code_ = exit_ok;
};

}  // namespace kplug
