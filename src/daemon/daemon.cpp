// The wiring of kplugd's parts and the flow of one event: decide, act, plan, load.
#include "daemon/daemon.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "base/logging.hpp"
#include "base/text.hpp"
#include "daemon/control_json.hpp"
#include "daemon/ledger_store.hpp"
#include "daemon/event_plan.hpp"
#include "daemon/notify.hpp"
#include "daemon/reload.hpp"
#include "rules/decision.hpp"

namespace kplug {

namespace {
std::unique_ptr<NamedTimers> timers_for(boost::asio::io_context& io, const DaemonSeams& seams, const char* part) {
  return seams.timers ? seams.timers(part) : make_asio_timers(io);
}
}  // namespace

Daemon::Daemon(boost::asio::io_context& io, DaemonOptions options, DaemonSeams seams, RuleSet rules)
    : io_(io),
      options_(std::move(options)),
      system_(std::move(seams.system)),
      clock_(std::move(seams.clock)),
      wall_clock_(std::move(seams.wall_clock)),
      resolver_(std::move(seams.resolver)),
      timers_(timers_for(io, seams, "grace")),
      metrics_timers_(timers_for(io, seams, "metrics")),
      observer_(std::move(seams.observer)),
      rebroadcaster_(std::move(seams.rebroadcaster)),
      rules_(std::make_shared<const RuleSet>(std::move(rules))),
      attrs_([this](const std::string& devpath, const std::string& name) {
        return system_->read_attribute(devpath, name);
      }),
      scheduler_(io, std::move(seams.loaders), timers_for(io, seams, "loads"), options_.slow_load, counters_, clock_,
                 options_.boot_priority),
      control_(io, timers_for(io, seams, "settle"), *system_, clock_,
               {[this] { return status_reply(); },
                [this] { return control::LoadedReply{to_wire(unloader_.ledger()), options_.dry_run}; },
                [this] {
                  auto problems = reload();
                  return reload_reply(problems, rules_->rules.size());
                },
                [this] { return progress(); }}),
      unloader_(*timers_, scheduler_, *system_, counters_, wall_clock_,
                [this](const control::EventMessage& message) {
                  if (observed()) publish(message);
                }),
      coldplug_(timers_for(io, seams, "rescan"), *system_, counters_, clock_, options_.dry_run,
                {// Devices with a MODALIAS, and those a rule loads a module for without one
                 // (udevd's 80-drivers.rules loads, such as ppdev for /module/parport_pc).
                 [this](const Uevent& ev) {
                   return !ev.modalias().empty() || !decide(*rules_, options_, ev, attrs_, false).load.empty();
                 },
                 [this](Uevent&& ev) { on_uevent(std::move(ev)); },
                 [this] { return unloader_.forget_gone_devices(spdlog::level::debug); },
                 [this](bool initial) { on_coldplug_finished(initial); },
                 [this] { return flight_.from_walks(); },
                 [this] { return flight_.boot_pending(); },
                 [this] { on_boot_critical_done(); }}),
      commands_(io, RuleCommands::settings_of(options_), counters_, std::move(seams.commands)),
      intake_(io, std::move(seams.source), counters_,
              {[this](Uevent&& ev) { on_uevent(std::move(ev)); },
               [this] { coldplug_.request_rescan("receive buffer overrun"); },
               [this] { stop(exit_runtime_error); }}),
      systemd_(io, {[this] { reload(); },
                    [this](int signal) {
                      spdlog::info("received {}, stopping", strsignal(signal));
                      stop();
                    }}),
      idle_release_(timers_for(io, seams, "idle"), clock_,
                    options_.idle_release_after, {[this] { return idle(); },
                     [this] {
                       spdlog::debug("idle: {} loader thread(s) stopped, a fresh one waiting",
                                     scheduler_.threads_running());
                       scheduler_.renew_threads();
                       intake_.release_idle_memory();
                     }}),
      status_({counters_, *resolver_, queue_, flight_, scheduler_, unloader_, coldplug_, commands_, failures_, control_},
              clock_, [this] { return StatusReport::Facts{ready_, options_.dry_run, rules_->rules.size(), last_seqnum_}; }) {
  scheduler_.set_after_each([this] {
    control_.check_settles();
    idle_release_.note_work();
  });
}

Daemon::~Daemon() { scheduler_.stop_threads(); }

// ---- the flow of one event ----

void Daemon::on_uevent(Uevent event) {
  idle_release_.note_work();
  EventSource source = event.source;
  flight_.queued(queue_.push(std::move(event)), source);
  do_dispatch();
}

void Daemon::do_dispatch() {
  // An event that finishes at once (nothing to load) may free the next one of its tree.
  for (auto ready = queue_.take_ready(); !ready.empty(); ready = queue_.take_ready())
    for (auto& [ticket, event] : ready) on_event_ready(ticket, std::move(event));
}

void Daemon::on_event_ready(EventQueue::Ticket ticket, Uevent arrived) {
  EventFlight::Flight& flight = flight_.start(ticket, std::move(arrived));
  const Uevent& event = flight.event;  // valid until finish(ticket)
  // 1. Apply the rules and the config's defaults to the event.
  Decision decision = decide(*rules_, options_, event, attrs_, observed());
  flight_.decided(ticket, decision.priority);
  last_seqnum_ = std::max(last_seqnum_, event.seqnum);
  if (observed()) publish(decision_message(event, decision));
  // A trigger's replay of a device handled with this very decision: nothing to do again.
  if (coldplug_.unchanged_replay(event, decision)) {
    ++counters_.replays_unchanged;
    if (spdlog::should_log(spdlog::level::debug))
      spdlog::debug("{}: a replayed add, decided as when it was handled: nothing to do again", describe_event(event));
    return finish(ticket);
  }
  bool first_time = coldplug_.note_event(event, decision);  // a rescan's repeat is not
  if (decision.ignore) {
    if (spdlog::should_log(spdlog::level::debug)) spdlog::debug("{}: ignored by a rule", describe_event(event));
    return finish(ticket);
  }
  // 2. Say what the rules ask to say, run what they ask to run (once per appearance).
  if (first_time) commands_.run_actions(event, decision);
  // 3. A device that went away may leave a module kplugd loaded with no user.
  if (event.action == "remove") {
    unloader_.on_device_removed(event.devpath);
    return finish(ticket);
  }
  // 4. The modules: those rules name, and those MODALIAS resolves to (cached).
  if (decision.load.empty() && !decision.autoload) {
    // Most events (change, bind, ... and devices without MODALIAS) end here.
    if (spdlog::should_log(spdlog::level::debug))
      spdlog::debug("{}: no autoload ({})", describe_event(event), decision.reason);
    return finish(ticket);
  }
  flight.unload_on_remove = decision.unload_on_remove;
  flight.unload_grace = decision.unload_grace;
  auto jobs = plan_event(event, decision, *resolver_, counters_, flight.report);
  if (jobs.empty()) {
    if (!flight.report.outcomes.empty()) tell(flight.report);  // all skipped (blacklisted)
    return finish(ticket);
  }
  // 5. Modules kplugd loaded earlier now serve this device too: no unload while it stays.
  unloader_.keep_loaded_for(jobs, event);
  // 6. Hand each module to a loader thread; one line is logged when all have answered.
  flight.loads_waiting = jobs.size();
  for (auto& job : jobs)
    scheduler_.load(job, [this, ticket, job](const LoadResult& result, bool coalesced) {
      on_load_done(ticket, job, result, coalesced);
    });
}

void Daemon::finish(EventQueue::Ticket ticket) {
  EventFlight::Flight flight = flight_.land(ticket);
  // Only what the kernel sent and the sender check passed: never coldplug's own events.
  if (rebroadcaster_ && flight.source == EventSource::kernel)
    if (auto sent = rebroadcaster_->send(flight.event); !sent) spdlog::warn("{}", sent.error());
  queue_.finish(ticket);
  coldplug_.landed(flight.source, flight.report.outcomes);
}

void Daemon::on_load_done(EventQueue::Ticket ticket, const LoadJob& job, const LoadResult& result, bool coalesced) {
  switch (result.status) {
    case LoadStatus::loaded:
    case LoadStatus::would_load: ++(coalesced ? counters_.loads_coalesced : counters_.loads_ok); break;
    case LoadStatus::failed:
      ++counters_.loads_failed;
      failures_.record(job.module, job.devpath, result.error, result.message, wall_clock_());
      coldplug_.note_failure(job.devpath);
      break;
    default: ++counters_.loads_skipped; break;
  }
  const EventFlight::Flight& flight = flight_.at(ticket);
  unloader_.on_loaded(job, result, flight.unload_on_remove, flight.unload_grace);
  if (!flight_.answered(ticket, job.module, result)) return;
  tell(flight.report);
  unloader_.save();  // once per event, not per module
  finish(ticket);
  do_dispatch();
}

void Daemon::tell(const LoadReport& report) {
  log_fields(report_level(report), report.journal_fields(), report.line());
  if (observed()) publish(loads_message(report));
}

// ---- start, ready, stop ----

void Daemon::start() {
  systemd_.start();
  // The socket is open before sysfs is read, so a device that appears meanwhile is
  // seen by one path or the other (or both: loading twice is harmless).
  intake_.start();
  if (options_.coldplug) {
    coldplug_.start();
  } else {
    on_ready();
    if (options_.exit_after_coldplug) stop();
  }
  if (!options_.metrics_file.empty())
    status_.start_metrics(std::move(metrics_timers_), options_.metrics_file, options_.metrics_dir_shared);
}

void Daemon::on_boot_critical_done() {
  if (options_.ready_after == "critical" && options_.boot_priority) on_ready();
}

void Daemon::on_coldplug_finished(bool initial) {
  if (initial) {
    if (!ready_) on_ready();
    else notify_status("coldplug complete: " + counters_.summary());
    if (options_.exit_after_coldplug) stop();
  }
  control_.check_settles();
  idle_release_.note_work();
}

void Daemon::on_ready() {
  ready_ = true;
  bool everything = !coldplug_.running();
  notify_ready(everything ? counters_.summary()
                          : fmt::format("ready: the boot-critical loads are done; {} event(s) still loading",
                                        flight_.events()));
  control_.check_settles();
}

void Daemon::stop(int exit_code) {
  if (stopping_) return;
  stopping_ = true;
  if (exit_code != exit_ok) exit_code_ = exit_code;
  systemd_.stop();
  idle_release_.stop();
  intake_.stop();
  unloader_.stop();
  scheduler_.stop();
  control_.stop();
  coldplug_.stop();
  status_.stop();
  // Rule commands: what runs is killed with its process group, what waits is dropped,
  // so stopping takes moments whatever the rules run.
  commands_.stop();
}

// ---- reload, state, control ----

Diagnostics Daemon::reload() {
  coldplug_.rules_changed();  // the index is refreshed even when the rules are refused
  return reload_settings(reloader_, options_, rules_, *resolver_, counters_);
}

void Daemon::restore_state(const std::string& path) { unloader_.restore(path); }

Result<bool, std::string> Daemon::open_control(const std::string& path) {
  return control_.open(path, control_limits(options_));
}

void Daemon::publish(const control::EventMessage& message) {
  if (observer_) observer_(control::to_json(message));
  if (control_.has_subscribers()) control_.publish(message);
}

ControlService::Progress Daemon::progress() const {
  std::size_t in_flight = flight_.events() + scheduler_.operations();
  bool critical_done = (!options_.coldplug || coldplug_.boot_critical_done()) && flight_.boot_pending() == 0;
  return {ready_ && in_flight == 0 && !coldplug_.busy(), last_seqnum_, in_flight, intake_.unread_bytes(),
          critical_done};
}

}  // namespace kplug
