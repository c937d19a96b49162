// kplugd's numbers in one reply, for `kplug status` (and --json), `kplug doctor` and the
// metrics file. Each part is asked for what it owns; nothing is counted here. With a
// metrics file, it also keeps that file written.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "base/clock.hpp"
#include "control/protocol.hpp"
#include "daemon/coldplug.hpp"
#include "daemon/control_service.hpp"
#include "daemon/counters.hpp"
#include "daemon/event_flight.hpp"
#include "daemon/event_queue.hpp"
#include "daemon/failure_history.hpp"
#include "daemon/load_scheduler.hpp"
#include "daemon/metrics_file.hpp"
#include "daemon/rule_commands.hpp"
#include "daemon/unloader.hpp"
#include "kmod/module_resolver.hpp"

namespace kplug {

class StatusReport {
 public:
  // The parts whose numbers the reply holds (they outlive the report).
  struct Parts {
    const Counters& counters;
    const ModuleResolver& resolver;
    const EventQueue& queue;
    const EventFlight& flight;
    const LoadScheduler& scheduler;
    const Unloader& unloader;
    const Coldplug& coldplug;
    const RuleCommands& commands;
    const FailureHistory& failures;
    const ControlService& control;
  };
  // What only the daemon knows, asked at each reply.
  struct Facts {
    bool ready = false;
    bool dry_run = false;
    std::size_t rules = 0;
    std::uint64_t last_seqnum = 0;
  };

  StatusReport(Parts parts, Clock clock, std::function<Facts()> facts);

  control::StatusReply reply() const;
  // Keeps PATH written with the reply in Prometheus' text format (MetricsFile).
  void start_metrics(std::unique_ptr<NamedTimers> timers, const std::string& path, bool shared_dir);
  void stop();

 private:
  Parts parts_;
  Clock clock_;
  std::function<Facts()> facts_;
  std::chrono::steady_clock::time_point started_;
  std::optional<MetricsFile> metrics_;
};

}  // namespace kplug
