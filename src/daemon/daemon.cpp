// The wiring of kplugd's parts and the flow of one event: decide, act, plan, load.
#include "daemon/daemon.hpp"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "base/logging.hpp"
#include "base/text.hpp"
#include "control/metrics.hpp"
#include "daemon/control_json.hpp"
#include "daemon/ledger_store.hpp"
#include "daemon/notify.hpp"
#include "plan/load_plan.hpp"
#include "rules/decision.hpp"

namespace kplug {

namespace {

// A rescan's loads are told in its summary; others by how bad their worst outcome is.
spdlog::level::level_enum level_of(const LoadReport& report) {
  if (report.rescan()) return spdlog::level::debug;
  switch (report.severity()) {
    case LoadReport::Severity::error: return spdlog::level::err;
    case LoadReport::Severity::warning: return spdlog::level::warn;
    default: return spdlog::level::info;  // spdlog has no notice; the journal gets info
  }
}

}  // namespace

Daemon::Daemon(boost::asio::io_context& io, DaemonOptions options, DaemonSeams seams, RuleSet rules)
    : io_(io),
      options_(std::move(options)),
      system_(std::move(seams.system)),
      clock_(std::move(seams.clock)),
      resolver_(std::move(seams.resolver)),
      timers_(seams.timers ? std::move(seams.timers) : make_asio_timers(io)),
      observer_(std::move(seams.observer)),
      rebroadcaster_(std::move(seams.rebroadcaster)),
      rules_(std::make_shared<const RuleSet>(std::move(rules))),
      attrs_([this](const std::string& devpath, const std::string& name) {
        return system_->read_attribute(devpath, name);
      }),
      scheduler_(io, std::move(seams.loaders), options_.slow_load, counters_, clock_),
      control_(io, *system_, clock_,
               {[this] { return status_reply(); },
                [this] { return control::LoadedReply{to_wire(unloader_.ledger())}; },
                [this] {
                  control::ReloadReply reply;
                  for (const auto& d : reload()) reply.errors.push_back(d.to_string());
                  reply.ok = reply.errors.empty();
                  reply.rules = rules_->rules.size();
                  return reply;
                },
                [this] { return progress(); }}),
      unloader_(*timers_, scheduler_, *system_, counters_,
                [this](const nlohmann::json& message) {
                  if (observed()) publish(message);
                }),
      coldplug_(io, *system_, counters_, clock_, options_.dry_run,
                {// Devices with a MODALIAS, and those a rule loads a module for without one
                 // (udevd's 80-drivers.rules loads, such as ppdev for /module/parport_pc).
                 [this](const Uevent& ev) {
                   return !ev.modalias().empty() || !decide(*rules_, options_, ev, attrs_, false).load.empty();
                 },
                 [this](Uevent&& ev) { on_uevent(std::move(ev)); },
                 [this] { return unloader_.forget_gone_devices(spdlog::level::debug); },
                 [this](bool initial) { on_coldplug_finished(initial); }}),
      commands_(io, options_, counters_),
      intake_(io, std::move(seams.source), counters_,
              {[this](Uevent&& ev) { on_uevent(std::move(ev)); },
               [this] { coldplug_.request_rescan("receive buffer overrun"); },
               [this] { stop(exit_runtime_error); }}),
      systemd_(io, {[this] { reload(); },
                    [this](int signal) {
                      spdlog::info("received {}, stopping", strsignal(signal));
                      stop();
                    }}),
      idle_release_(seams.idle_timers ? std::move(seams.idle_timers) : make_asio_timers(io), clock_,
                    options_.idle_release_after, {[this] { return idle(); }, [this] { release_idle_memory(); }}),
      started_(clock_()) {
  scheduler_.set_after_each([this] {
    control_.check_settles();
    note_work();
  });
}

Daemon::~Daemon() { scheduler_.stop_threads(); }

// ---- the flow of one event ----

void Daemon::on_uevent(Uevent event) {
  note_work();
  queue_.push(std::move(event));
  do_dispatch();
}

void Daemon::do_dispatch() {
  // An event that finishes at once (nothing to load) may free the next one of its tree.
  for (auto ready = queue_.take_ready(); !ready.empty(); ready = queue_.take_ready())
    for (const auto& [ticket, event] : ready) on_event_ready(ticket, event);
}

void Daemon::on_event_ready(EventQueue::Ticket ticket, const Uevent& event) {
  // 1. Apply the rules and the config's defaults to the event.
  Decision decision = decide(*rules_, options_, event, attrs_, observed());
  last_seqnum_ = std::max(last_seqnum_, event.seqnum);
  if (observed()) publish(decision_json(event, decision));
  bool first_time = coldplug_.note_event(event, decision);  // a rescan's repeat is not
  if (decision.ignore) {
    if (spdlog::should_log(spdlog::level::debug)) spdlog::debug("{}: ignored by a rule", describe_event(event));
    return finish(ticket, event);
  }
  // 2. Say what the rules ask to say, run what they ask to run (once per appearance).
  if (first_time) commands_.run_actions(event, decision);
  // 3. A device that went away may leave a module kplugd loaded with no user.
  if (event.action == "remove") {
    unloader_.on_device_removed(event.devpath);
    return finish(ticket, event);
  }
  // 4. The modules: those rules name, and those MODALIAS resolves to (cached).
  if (decision.load.empty() && !decision.autoload) {
    // Most events (change, bind, ... and devices without MODALIAS) end here.
    if (spdlog::should_log(spdlog::level::debug))
      spdlog::debug("{}: no autoload ({})", describe_event(event), decision.reason);
    return finish(ticket, event);
  }
  auto report = std::make_shared<LoadReport>();
  report->ticket = ticket;
  auto jobs = plan(event, decision, *report);
  if (jobs.empty()) return finish(ticket, event);
  // 5. Modules kplugd loaded earlier now serve this device too: no unload while it stays.
  unloader_.keep_loaded_for(jobs, event);
  // 6. Hand each module to a loader thread; one line is logged when all have answered.
  report->remaining = jobs.size();
  if (rebroadcaster_) loading_.emplace(ticket, event);
  for (auto& job : jobs) {
    coldplug_.load_started(event);
    scheduler_.load(job, [this, job, report](const LoadResult& result, bool coalesced) {
      on_load_done(job, result, report, coalesced);
    });
  }
}

void Daemon::finish(EventQueue::Ticket ticket, const Uevent& event) {
  // Only what the kernel sent and the sender check passed: never coldplug's own events.
  if (rebroadcaster_ && event.source == EventSource::kernel)
    if (auto sent = rebroadcaster_->send(event); !sent) spdlog::warn("{}", sent.error());
  queue_.finish(ticket);
}

std::vector<LoadJob> Daemon::plan(const Uevent& event, const Decision& decision, LoadReport& report) {
  report.event = describe_event(event);
  report.event_fields = event_fields(event);
  report.modalias = decision.modalias;
  report.source = event.source;
  report.unload_on_remove = decision.unload_on_remove;
  report.unload_grace = decision.unload_grace;
  std::optional<std::vector<std::string>> resolved;
  if (decision.autoload) {
    auto modules = resolver_->resolve(decision.modalias);
    if (modules) resolved = std::move(*modules);
    else spdlog::warn("{} MODALIAS={}: {}", describe_event(event), printable(decision.modalias), modules.error());
  } else {
    spdlog::debug("{}: no autoload ({})", describe_event(event), decision.reason);
  }
  LoadPlan plan = plan_loads(event, decision, resolved);
  if (plan.no_module) {
    ++counters_.no_module;
    // Most present devices have no module; that is only news for a device that just came.
    LogFields fields = event_fields(event);
    fields.emplace_back("KPLUG_ACTION", "no_module");
    log_fields(event.source != EventSource::kernel ? spdlog::level::debug : spdlog::level::info, fields,
               fmt::format("{} MODALIAS={}: no module matches", describe_event(event),
                           printable(shorten(decision.modalias, 96))));
  }
  for (const auto& skipped : plan.skipped) {
    LoadResult r;
    r.status = LoadStatus::blacklisted;
    r.message = skipped.why;
    ++counters_.loads_skipped;
    report.outcomes.emplace_back(skipped.module, r);
  }
  std::vector<LoadJob> jobs;
  for (auto& load : plan.loads) jobs.push_back(std::move(load.job));
  if (jobs.empty() && !report.outcomes.empty()) {  // all skipped (blacklisted): told now, nothing to wait for
    log_fields(report.rescan() ? spdlog::level::debug : spdlog::level::info, report.journal_fields(), report.line());
    if (observed()) publish(report_json(report));
  }
  return jobs;
}

void Daemon::on_load_done(const LoadJob& job, const LoadResult& result, const std::shared_ptr<LoadReport>& report,
                          bool coalesced) {
  switch (result.status) {
    case LoadStatus::loaded:
    case LoadStatus::would_load: ++(coalesced ? counters_.loads_coalesced : counters_.loads_ok); break;
    case LoadStatus::failed:
      ++counters_.loads_failed;
      failures_.record(job.module, job.devpath, result.error, result.message,
                       std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
      break;
    default: ++counters_.loads_skipped; break;
  }
  unloader_.on_loaded(job, result, report->unload_on_remove, report->unload_grace);
  report->outcomes.emplace_back(job.module, result);
  if (--report->remaining == 0) {
    log_fields(level_of(*report), report->journal_fields(), report->line());
    if (observed()) publish(report_json(*report));
    unloader_.save();  // once per event, not per module
    if (auto it = loading_.find(report->ticket); it != loading_.end()) {
      finish(report->ticket, it->second);
      loading_.erase(it);
    } else {
      queue_.finish(report->ticket);
    }
    do_dispatch();
  }
  coldplug_.load_done(report->source, job.module, result);
}

// ---- start, ready, stop ----

void Daemon::start() {
  systemd_.start();
  // The socket is open before sysfs is read, so a device that appears meanwhile is
  // seen by one path or the other (or both: loading twice is harmless).
  intake_.start();
  if (options_.coldplug) coldplug_.start();
  else on_ready();
  if (!options_.metrics_file.empty()) {
    metrics_.emplace(io_, options_.metrics_file, options_.metrics_dir_shared, std::chrono::seconds(5),
                     [this] { return control::prometheus_text(status_reply()); });
    metrics_->start();
  }
}

void Daemon::on_coldplug_finished(bool initial) {
  if (initial) on_ready();
  control_.check_settles();
  note_work();
}

// ---- giving back what a burst took ----

void Daemon::note_work() { idle_release_.note_work(); }

void Daemon::release_idle_memory() {
  std::size_t threads = scheduler_.threads_running();
  scheduler_.renew_threads();
  intake_.release_idle_memory();
  // The burst's heap, freed but kept by malloc, back to the kernel.
  malloc_trim(0);
  spdlog::debug("idle: {} loader thread(s) stopped, a fresh one waiting; free memory returned to the kernel", threads);
}

void Daemon::on_ready() {
  ready_ = true;
  notify_ready(counters_.summary());
  control_.check_settles();
  if (options_.exit_after_coldplug) stop();
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
  if (metrics_) metrics_->stop();
  // Rule commands: what runs is killed with its process group, what waits is dropped,
  // so stopping takes moments whatever the rules run.
  commands_.stop();
}

// ---- reload, state, control ----

Diagnostics Daemon::reload() {
  if (!reloader_) {
    spdlog::info("nothing to reload");
    return {};
  }
  spdlog::info("reloading {} and the rules", options_.config_path);
  notify_reloading();
  // The module index and modprobe.d too (depmod, DKMS, a new blacklist); loader threads
  // check theirs before each load.
  resolver_->refresh();
  auto settings = reloader_();
  if (!settings) {
    for (const auto& d : settings.error()) spdlog::error("{}", d.to_string());
    spdlog::error("reload failed: {} problem(s); the current config and rules stay in force", settings.error().size());
    notify_ready("reload failed; " + counters_.summary());
    return settings.error();
  }
  if (auto later = take_reloadable(options_, settings->options); !later.empty())
    spdlog::warn("{} take(s) effect at the next start", fmt::join(later, ", "));
  spdlog::set_level(spdlog::level::from_str(options_.log_level));
  rules_ = std::make_shared<const RuleSet>(std::move(settings->rules));
  spdlog::info("reloaded: {} rules from {} files", rules_->rules.size(), rules_->files.size());
  notify_ready(counters_.summary());
  return {};
}

void Daemon::restore_state(const std::string& path) { unloader_.restore(path); }

Result<bool, std::string> Daemon::open_control(const std::string& path) {
  ControlLimits limits;
  limits.max_sessions = options_.control_max_sessions;
  limits.max_line = options_.control_max_line;
  limits.idle_timeout = options_.control_idle_timeout;
  limits.max_output = options_.control_max_output;
  return control_.open(path, limits);
}

void Daemon::publish(const nlohmann::json& message) {
  if (observer_) observer_(message);
  if (control_.has_subscribers()) control_.publish(message);
}

ControlService::Progress Daemon::progress() const {
  return {ready_ && scheduler_.in_flight() == 0 && !coldplug_.busy(), last_seqnum_, scheduler_.in_flight(),
          intake_.unread_bytes()};
}

control::StatusReply Daemon::status_reply() const {
  control::StatusReply r;
  r.version = KPLUG_VERSION;
  r.uptime_s = std::chrono::duration<double>(clock_() - started_).count();
  r.ready = ready_;
  r.dry_run = options_.dry_run;
  r.counters = counter_values(counters_);
  r.rejected_by_reason = counters_.rejected;
  r.forged_by_shape = counters_.forged_shapes;
  control_.add_stats(r);
  r.counters["index_reloads"] = resolver_->reloads();
  r.counters["metrics_writes_refused"] = metrics_ ? metrics_->refused() : 0;
  r.counters["handled_devices_not_remembered"] = coldplug_.handled().overflow();
  r.counters["failed_loads_forgotten"] = failures_.evicted();
  r.gauges["cache_hits"] = resolver_->cache_hits();
  r.gauges["cache_misses"] = resolver_->cache_misses();
  r.gauges["in_flight"] = scheduler_.in_flight();
  r.gauges["queue_depth"] = queue_.waiting();
  r.gauges["events_in_progress"] = queue_.running();
  r.gauges["loader_threads"] = scheduler_.threads();
  r.gauges["loader_threads_running"] = scheduler_.threads_running();
  r.gauges["pending_unloads"] = unloader_.pending();
  r.gauges["ledger_modules"] = unloader_.ledger().entries().size();
  r.gauges["rules"] = rules_->rules.size();
  r.gauges["last_seqnum"] = last_seqnum_;
  r.gauges["commands_running"] = commands_.running();
  r.gauges["commands_queued"] = commands_.queued();
  for (const auto& slow : scheduler_.slow_loads()) r.slow_loads.push_back({slow.module, slow.devpath, slow.seconds});
  for (const auto& f : failures_.entries())
    r.failed_loads.push_back({f.module, f.devpath, f.error, f.message, f.count, f.last_unix});
  return r;
}

}  // namespace kplug
