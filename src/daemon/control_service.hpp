// The control service: kplugd's side of the control socket. It checks who may ask what,
// answers through the daemon's hooks, keeps the `settle` waiters until kplugd is idle
// and has handled every kernel event up to the SEQNUM of their request, and streams
// decisions and outcomes to `events` subscribers.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "base/clock.hpp"
#include "control/events.hpp"
#include "control/protocol.hpp"
#include "daemon/control_server.hpp"
#include "daemon/named_timers.hpp"
#include "rules/settings.hpp"
#include "sysfs/system_view.hpp"

namespace kplug {

// The control socket's limits the config sets (control_max_sessions, ...).
ControlLimits control_limits(const DaemonOptions& options);

class ControlService {
 public:
  // Where the daemon stands, for settle.
  struct Progress {
    bool idle = false;              // ready, nothing in flight, no coldplug or rescan running or due
    std::uint64_t last_seqnum = 0;  // the highest kernel SEQNUM handled
    std::size_t in_flight = 0;      // for the time-out message
    int unread_bytes = 0;           // waiting on the uevent socket
    // The boot-critical part is done: every present device decided, no critical event in
    // flight (settle --critical).
    bool critical_done = false;
  };
  struct Hooks {
    std::function<control::StatusReply()> status;
    std::function<control::LoadedReply()> loaded;
    std::function<control::ReloadReply()> reload;
    std::function<Progress()> progress;
  };

  // TIMERS: its own set (one timer, "settle": the poll while a settle waits).
  ControlService(boost::asio::io_context& io, std::unique_ptr<NamedTimers> timers, SystemView& system, Clock clock,
                 Hooks hooks);

  // Opens the socket at PATH; an error stops start-up.
  Result<bool, std::string> open(const std::string& path, const ControlLimits& limits);
  // Sends MESSAGE to every `events` subscriber (a slow one is dropped, never waited for).
  void publish(const control::EventMessage& message);
  bool has_subscribers() const { return !subscribers_.empty(); }
  // Answers the settle waiters whose wait is over (call after any progress).
  void check_settles();
  // The socket's counters and gauges, into a status reply.
  void add_stats(control::StatusReply& reply) const;
  // Closes the socket; settle waiters are told kplugd is stopping.
  void stop();

 private:
  void on_request(const std::shared_ptr<ControlSession>& session, const control::Request& request);
  void do_settle_poll();

  boost::asio::io_context& io_;
  std::unique_ptr<NamedTimers> timers_;
  SystemView& system_;
  Clock clock_;
  Hooks hooks_;
  std::unique_ptr<ControlServer> server_;
  std::vector<std::weak_ptr<ControlSession>> subscribers_;  // `events` streams
  struct PendingSettle {
    std::shared_ptr<ControlSession> session;
    std::uint64_t target_seqnum;
    std::chrono::steady_clock::time_point deadline;
    int quiet_checks = 0;
    bool critical = false;  // waits for the boot-critical part only
  };
  std::vector<PendingSettle> settles_;
  bool stopping_ = false;
};

}  // namespace kplug
