// The event loop: netlink → decide → resolve → load, one log line per decision.
#include "daemon/daemon.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "daemon/command_runner.hpp"
#include "daemon/ledger_store.hpp"
#include "daemon/control_json.hpp"
#include "daemon/logging.hpp"
#include "daemon/notify.hpp"
#include "kmod/kmod_loader.hpp"
#include "rules/decision.hpp"
#include "sysfs/attributes.hpp"
#include "sysfs/enumerate.hpp"

namespace kplug {

namespace {

// At most this many datagrams per wake-up, so signals and load results get their turn.
constexpr int max_reads_per_wakeup = 256;
// After lost events, wait this long for the storm to pass before reading sysfs again.
constexpr std::chrono::milliseconds rescan_delay{200};
// A load that failed for lack of file descriptors is tried this many times in all.
constexpr int max_load_attempts = 5;
constexpr std::chrono::milliseconds load_retry_delay{500};

}  // namespace

namespace {
std::vector<std::unique_ptr<ModuleLoader>> one(std::unique_ptr<ModuleLoader> loader) {
  std::vector<std::unique_ptr<ModuleLoader>> v;
  v.push_back(std::move(loader));
  return v;
}
}  // namespace

Daemon::Daemon(boost::asio::io_context& io, DaemonOptions options, std::unique_ptr<NetlinkSource> source,
               std::unique_ptr<Resolver> resolver, std::unique_ptr<ModuleLoader> loader, RuleSet rules)
    : Daemon(io, std::move(options), std::move(source), std::move(resolver), one(std::move(loader)),
             std::move(rules)) {}

Daemon::Daemon(boost::asio::io_context& io, DaemonOptions options, std::unique_ptr<NetlinkSource> source,
               std::unique_ptr<Resolver> resolver, std::vector<std::unique_ptr<ModuleLoader>> loaders, RuleSet rules)
    : io_(io),
      options_(std::move(options)),
      source_(std::move(source)),
      resolver_(std::move(resolver)),
      loaders_(std::move(loaders)),
      rules_(std::make_shared<const RuleSet>(std::move(rules))),
      attrs_([](const std::string& devpath, const std::string& name) { return read_attribute(devpath, name); }),
      signals_(io, SIGINT, SIGTERM, SIGHUP),
      commands_(io, options_.command_workers, options_.command_queue) {}

Daemon::~Daemon() {
  loaders_.join();
  // libnl owns the descriptor; asio must not close it a second time.
  if (socket_) socket_->release();
}

void Daemon::do_wait_signal() {
  signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (!ec) on_signal(signal);
  });
}

void Daemon::start() {
  do_wait_signal();
  if (source_) {
    socket_.emplace(io_, source_->fd());
    do_read();
  }
  // The socket is open before sysfs is read, so a device that appears meanwhile is
  // seen by one path or the other (or both: loading twice is harmless).
  if (options_.coldplug) do_coldplug();
  else on_ready();
  if (auto interval = watchdog_interval()) {
    watchdog_timer_.emplace(io_, *interval / 2);
    do_watchdog();
  }
}

void Daemon::on_ready() {
  ready_ = true;
  notify_ready(counters_.summary());
  check_settles();
  if (options_.exit_after_coldplug) stop();
}

void Daemon::do_watchdog() {
  notify_watchdog();
  watchdog_timer_->expires_after(*watchdog_interval() / 2);
  watchdog_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !stopping_) do_watchdog();
  });
}

void Daemon::stop(int exit_code) {
  if (stopping_) return;
  stopping_ = true;
  if (exit_code != exit_ok) exit_code_ = exit_code;
  signals_.cancel();
  if (socket_) socket_->cancel();
  // Pending unloads are abandoned: the modules stay loaded, which is always safe.
  for (auto& [module, timer] : unload_timers_) timer->cancel();
  unload_timers_.clear();
  for (auto& [module, timer] : slow_timers_) timer->cancel();
  if (control_) control_->close();
  if (settle_timer_) settle_timer_->cancel();
  if (watchdog_timer_) watchdog_timer_->cancel();
  if (rescan_timer_) rescan_timer_->cancel();
  for (auto& s : settles_) s.session->send(control::error_reply("kplugd is stopping"));
  settles_.clear();
  // Rule commands: what runs is killed with its process group, what waits is dropped,
  // so stopping takes moments whatever the rules run.
  if (auto stopped = commands_.stop(); stopped.killed || stopped.dropped) {
    counters_.commands_killed += stopped.killed;
    spdlog::info("stopping: killed {} running rule command(s), dropped {} queued", stopped.killed, stopped.dropped);
  }
}

void Daemon::on_signal(int signal) {
  if (signal == SIGHUP) {
    reload();
    do_wait_signal();
    return;
  }
  spdlog::info("received {}, stopping", strsignal(signal));
  stop();
}

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
  const DaemonOptions& next = settings->options;
  if (next.modules_dir != options_.modules_dir || next.dry_run != options_.dry_run ||
      next.receive_buffer != options_.receive_buffer)
    spdlog::warn("modules_dir, dry_run and receive_buffer take effect at the next start");
  options_.rules_dirs = next.rules_dirs;
  options_.autoload = next.autoload;
  options_.unload = next.unload;
  options_.unload_grace = next.unload_grace;
  options_.unload_subsystems = next.unload_subsystems;
  options_.log_level = next.log_level;
  spdlog::set_level(spdlog::level::from_str(next.log_level));
  rules_ = std::make_shared<const RuleSet>(std::move(settings->rules));
  spdlog::info("reloaded: {} rules from {} files", rules_->rules.size(), rules_->files.size());
  notify_ready(counters_.summary());
  return {};
}

Result<bool, std::string> Daemon::open_control(const std::string& path) {
  ControlLimits limits;
  limits.max_sessions = options_.control_max_sessions;
  limits.max_line = options_.control_max_line;
  limits.idle_timeout = options_.control_idle_timeout;
  limits.max_output = options_.control_max_output;
  control_ = std::make_unique<ControlServer>(
      io_, [this](const std::shared_ptr<ControlSession>& s, const control::Request& r) { on_control(s, r); },
      limits);
  return control_->listen(path);
}

void Daemon::restore_state(const std::string& path) {
  state_path_ = path;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  auto loaded = load_ledger(path);
  if (!loaded) {
    spdlog::warn("{}; starting with an empty ledger", loaded.error());
    return;
  }
  auto live = live_modules();
  for (const auto& [module, entry] : loaded->entries()) {
    if (!live.count(module)) continue;  // unloaded meanwhile, by someone
    for (const auto& dev : entry.devices)
      ledger_.record_load(module, dev, entry.cause, entry.load_time, entry.unload_on_remove, entry.unload_grace,
                          entry.pulled_in);
    ledger_.set_loaded_at(module, entry.loaded_at);
  }
  spdlog::info("restored the ledger from {}: {} module(s) kplugd loaded are still loaded", path,
               ledger_.entries().size());
  // Devices that went away while no kplugd was listening: as if removed now.
  forget_gone_devices();
  save_state();
}

std::size_t Daemon::forget_gone_devices(spdlog::level::level_enum level) {
  std::error_code ec;
  std::set<std::string> gone;
  for (const auto& [module, entry] : ledger_.entries())
    for (const auto& dev : entry.devices)
      if (!std::filesystem::exists("/sys" + dev, ec)) gone.insert(dev);
  for (const auto& dev : gone) {
    spdlog::log(level, "{} is gone (its remove event was lost): handled as removed now", printable(dev));
    Uevent ev;
    ev.action = "remove";
    ev.devpath = dev;
    handled_.note_remove(dev);
    on_device_removed(ev);
  }
  return gone.size();
}

void Daemon::save_state() {
  if (state_path_.empty() || ledger_.revision() == saved_revision_) return;
  if (auto saved = save_ledger(state_path_, ledger_); !saved)
    spdlog::warn("{}; the ledger stays in memory only", saved.error());
  else
    saved_revision_ = ledger_.revision();
}

void Daemon::on_uevent(Uevent event) {
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
  Decision decision = decide(*rules_, options_, event, attrs_, !subscribers_.empty());
  last_seqnum_ = std::max(last_seqnum_, event.seqnum);
  if (!subscribers_.empty()) publish(decision_json(event, decision));
  // A rescan decides every present device again, but what the rules do for a device
  // (run:, log:) is done once per appearance, not once per rescan.
  bool repeat = false;
  if (event.action == "add")
    repeat = handled_.note_add(event.devpath) && event.source == EventSource::rescan;
  else if (event.action == "remove")
    handled_.note_remove(event.devpath);
  if (event.source == EventSource::rescan) {
    ++rescan_tally_.devices;
    if (!repeat) ++rescan_tally_.not_seen;
    else if (!decision.run.empty() || !decision.logs.empty()) ++rescan_tally_.quiet;
  }
  if (decision.ignore) {
    queue_.finish(ticket);
    if (spdlog::should_log(spdlog::level::debug)) spdlog::debug("{}: ignored by a rule", describe_event(event));
    return;
  }
  // 2. Say what the rules ask to say, run what they ask to run.
  if (!repeat) do_rule_actions(event, decision);
  // 3. A device that went away may leave a module kplugd loaded with no user.
  if (event.action == "remove") {
    on_device_removed(event);
    return queue_.finish(ticket);
  }
  // 4. The modules: those rules name, and those MODALIAS resolves to (cached).
  if (decision.load.empty() && !decision.autoload) {
    // Most events (change, bind, ... and devices without MODALIAS) end here.
    if (spdlog::should_log(spdlog::level::debug))
      spdlog::debug("{}: no autoload ({})", describe_event(event), decision.reason);
    return queue_.finish(ticket);
  }
  auto report = std::make_shared<LoadReport>();
  report->ticket = ticket;
  auto jobs = plan_loads(event, decision, *report);
  if (jobs.empty()) return queue_.finish(ticket);
  // 5. Modules kplugd loaded earlier now serve this device too: no unload while it stays.
  keep_loaded_for(jobs, event);
  // 6. Hand each module to a loader thread; one line is logged when all have answered.
  report->remaining = jobs.size();
  for (auto& job : jobs) do_load(std::move(job), report);
}

std::vector<LoadJob> Daemon::plan_loads(const Uevent& event, const Decision& decision, LoadReport& report) {
  report.event = describe_event(event);
  report.event_fields = event_fields(event);
  report.modalias = decision.modalias;
  report.coldplug = event.source != EventSource::kernel;
  report.rescan = event.source == EventSource::rescan;
  report.unload_on_remove = decision.unload_on_remove;
  report.unload_grace = decision.unload_grace;
  std::vector<LoadJob> jobs;
  auto add_job = [&](const std::string& module, bool via_alias) {
    for (const auto& j : jobs)
      if (j.module == module) return;
    auto opts = decision.options.find(module);
    jobs.push_back(LoadJob{module, via_alias, event.devpath, decision.modalias,
                           opts == decision.options.end() ? "" : opts->second});
  };
  for (const auto& [module, rule] : decision.load) add_job(module, false);
  if (!decision.autoload) {
    spdlog::debug("{}: no autoload ({})", describe_event(event), decision.reason);
    return jobs;
  }
  auto modules = resolver_->resolve(decision.modalias);
  if (!modules) {
    spdlog::warn("{} MODALIAS={}: {}", describe_event(event), printable(decision.modalias), modules.error());
    return jobs;
  }
  if (modules->empty() && jobs.empty()) {
    ++counters_.no_module;
    // Most present devices have no module; that is only news for a device that just came.
    LogFields fields = event_fields(event);
    fields.emplace_back("KPLUG_ACTION", "no_module");
    log_fields(event.source != EventSource::kernel ? spdlog::level::debug : spdlog::level::info, fields,
               fmt::format("{} MODALIAS={}: no module matches", describe_event(event),
                           printable(shorten(decision.modalias, 96))));
  }
  for (const auto& module : *modules) {
    if (decision.blacklist.count(module)) {
      LoadResult r;
      r.status = LoadStatus::blacklisted;
      r.message = "blacklisted by a rule";
      ++counters_.loads_skipped;
      report.outcomes.emplace_back(module, r);
      continue;
    }
    add_job(module, true);
  }
  if (jobs.empty() && !report.outcomes.empty())
    log_fields(report.rescan ? spdlog::level::debug : spdlog::level::info, report.journal_fields(), report.line());
  return jobs;
}

void Daemon::do_rule_actions(const Uevent& event, const Decision& decision) {
  for (const auto& [rule, text] : decision.logs)
    spdlog::info("{}: rule '{}': {}", describe_event(event), printable(rule, 256), printable(text));
  for (const auto& [rule, argv] : decision.run) do_run(rule, argv, describe_event(event));
}

void Daemon::do_run(const std::string& rule, const std::vector<std::string>& argv, const std::string& about) {
  // Placeholders may have put event bytes into the argv: escaped for the log.
  std::string shown;
  for (const auto& a : argv) shown += (shown.empty() ? "" : " ") + fmt::format("'{}'", printable(a, 512));
  std::string rule_name = printable(rule, 256);
  if (options_.dry_run) return spdlog::info("{}: rule '{}': would run {} (dry run)", about, rule_name, shown);
  bool queued = commands_.submit(argv, options_.command_timeout, [this, rule_name, shown, about](const CommandResult& r) {
    if (!r.started) {
      if (r.stopped) return spdlog::info("{}: rule '{}': {} not run: kplugd is stopping", about, rule_name, shown);
      return spdlog::warn("{}: rule '{}': cannot run {}: {}", about, rule_name, shown, printable(r.error));
    }
    ++counters_.commands_run;
    if (r.timed_out) ++counters_.commands_killed;
    auto level = r.exit_status == 0 && !r.timed_out ? spdlog::level::info : spdlog::level::warn;
    std::string how = r.timed_out  ? std::string("killed with its process group after the time limit")
                      : r.stopped ? std::string("killed with its process group: kplugd is stopping")
                                  : fmt::format("exit status {}", r.exit_status);
    spdlog::log(level, "{}: rule '{}': ran {}: {} in {} ms", about, rule_name, shown, how, r.duration.count());
    for (const auto& line : r.output) spdlog::info("  {} | {}", rule_name, printable(line));
  });
  if (!queued) {
    ++counters_.commands_dropped;
    log_fields(spdlog::level::warn, {{"KPLUG_ACTION", "command_dropped"}},
               fmt::format("{}: rule '{}': {} not run: {} commands are already waiting (commands.queue); "
                           "dropped {} so far",
                           about, rule_name, shown, options_.command_queue, counters_.commands_dropped));
  }
}

void Daemon::do_coldplug(bool rescan) {
  coldplug_started_ = std::chrono::steady_clock::now();
  // The +1 keeps coldplug open until every event has been handed out.
  coldplug_running_ = true;
  rescanning_ = rescan;
  coldplug_pending_ = 1;
  // Each device goes into the pipeline as the walk finds it: its module loads on a
  // loader thread while the walk goes on.
  // Devices with a MODALIAS, and those a rule loads a module for without one (udevd's
  // 80-drivers.rules loads, such as ppdev for /module/parport_pc).
  auto wanted = [this](const Uevent& ev) {
    return !ev.modalias().empty() || !decide(*rules_, options_, ev, attrs_, false).load.empty();
  };
  auto walked = for_each_present_device(wanted, [this, rescan](Uevent&& ev) {
    ++counters_.coldplug_events;
    if (rescan) ev.source = EventSource::rescan;
    on_uevent(std::move(ev));
  });
  auto took = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - coldplug_started_);
  if (!walked) {
    spdlog::error("{} failed: {}", rescan ? "rescan" : "coldplug", walked.error());
    // Out of descriptors is passing: read sysfs again once this pass is done.
    if (walked.error().find(std::strerror(EMFILE)) != std::string::npos ||
        walked.error().find(std::strerror(ENFILE)) != std::string::npos)
      rescan_again_ = true;
  }
  else if (rescan)
    spdlog::debug("rescan ({}): {} present devices to decide (sysfs read in {:.1f} ms)", rescan_why_, *walked,
                  took.count());
  else
    spdlog::info("coldplug: {} present devices to decide: those with a MODALIAS and those a rule loads for "
                 "(sysfs read in {:.1f} ms)", *walked, took.count());
  on_coldplug_step_done();
}

void Daemon::on_coldplug_step_done() {
  if (!coldplug_running_ || --coldplug_pending_ > 0) return;
  coldplug_running_ = false;
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - coldplug_started_);
  double ms = static_cast<double>(took.count()) / 1000.0;
  bool initial = !rescanning_;
  rescanning_ = false;
  if (initial) {
    spdlog::info("coldplug complete in {:.1f} ms: {}", ms, counters_.summary());
    on_ready();
  } else {
    log_fields(rescan_tally_.failed.empty() ? spdlog::level::info : spdlog::level::warn, {{"KPLUG_ACTION", "rescan"}},
               fmt::format("rescan complete in {:.1f} ms ({}): {}", ms, rescan_why_, rescan_tally_.summary()));
  }
  // Events lost while it ran may concern devices it had already read: once more.
  if (rescan_again_ && !stopping_) {
    rescan_again_ = false;
    request_rescan(initial ? "events were lost during coldplug" : "events were lost during the last rescan");
  }
  check_settles();
}

void Daemon::request_rescan(const std::string& why) {
  if (stopping_) return;
  if (coldplug_running_) {
    rescan_again_ = true;
    return;
  }
  if (rescan_timer_) return;  // one is already due: a storm gets one rescan
  rescan_why_ = why;
  rescan_timer_.emplace(io_, rescan_delay);
  rescan_timer_->async_wait([this](const boost::system::error_code& ec) {
    rescan_timer_.reset();
    if (!ec && !stopping_) do_rescan();
  });
}

void Daemon::do_rescan() {
  if (coldplug_running_) {
    rescan_again_ = true;
    return;
  }
  ++counters_.rescans;
  rescan_tally_ = RescanTally{};
  rescan_tally_.dry_run = options_.dry_run;
  // Removals first: a device that went while events were lost frees its modules.
  rescan_tally_.gone = forget_gone_devices(spdlog::level::debug);
  save_state();
  do_coldplug(true);
}

namespace {
// Hands RESULT to DONE on the event loop; the guard has kept io.run() alive until now.
template <typename Result, typename Done, typename Guard>
void complete_on_loop(boost::asio::io_context& io, Result result, Done done, Guard guard) {
  boost::asio::post(io, [done = std::move(done), result = std::move(result), guard = std::move(guard)] { done(result); });
}
}  // namespace

template <typename Fn, typename Done>
void Daemon::on_loader(Fn fn, Done done) {
  loaders_.post([this, fn = std::move(fn), done = std::move(done),
                 guard = boost::asio::make_work_guard(io_)](ModuleLoader& loader) mutable {
    complete_on_loop(io_, fn(loader), std::move(done), std::move(guard));
  });
}

void Daemon::do_load(LoadJob job, std::shared_ptr<LoadReport> report) {
  if (report->coldplug && coldplug_running_) ++coldplug_pending_;
  ++in_flight_;
  // At most one load of a module at a time: later requests share the result.
  if (auto it = coalesced_.find(job.module); it != coalesced_.end()) {
    it->second.emplace_back(std::move(job), std::move(report));
    return;
  }
  coalesced_[job.module];
  auto& timer = slow_timers_[job.module];
  timer = std::make_unique<boost::asio::steady_timer>(io_, options_.slow_load);
  timer->async_wait([this, job](const boost::system::error_code& ec) {
    if (!ec) on_slow_load(job);
  });
  do_load_attempt(job, report, 1);
}

void Daemon::do_load_attempt(const LoadJob& job, const std::shared_ptr<LoadReport>& report, int attempt) {
  on_loader([job](ModuleLoader& loader) { return loader.load(job); },
            [this, job, report, attempt](const LoadResult& result) { on_load_result(job, report, attempt, result); });
}

void Daemon::on_load_result(const LoadJob& job, const std::shared_ptr<LoadReport>& report, int attempt,
                            const LoadResult& result) {
  // Out of descriptors says nothing about the module: try again shortly (kplugd's own
  // descriptors are bounded, so this passes once whoever holds the rest lets go).
  bool no_fds = result.status == LoadStatus::failed && (result.error == EMFILE || result.error == ENFILE);
  if (no_fds && attempt < max_load_attempts && !stopping_) {
    ++counters_.loads_retried;
    spdlog::warn("{}; trying again in {} ms (try {} of {})", printable(result.message), load_retry_delay.count(),
                 attempt + 1, max_load_attempts);
    auto timer = std::make_shared<boost::asio::steady_timer>(io_, load_retry_delay);
    timer->async_wait([this, job, report, attempt, result, timer](const boost::system::error_code& ec) {
      if (!ec && !stopping_) do_load_attempt(job, report, attempt + 1);
      else on_load_result(job, report, max_load_attempts, result);  // stopping: report it as it stands
    });
    return;
  }
  slow_timers_.erase(job.module);
  if (slow_loads_.erase(job.module))
    spdlog::info("the slow load of {} finished after {:.1f} s", job.module,
                 static_cast<double>(result.duration.count()) / 1e6);
  auto waiters = std::move(coalesced_[job.module]);
  coalesced_.erase(job.module);
  on_load_done(job, result, report, false);
  for (const auto& [waiting_job, waiting_report] : waiters) on_load_done(waiting_job, result, waiting_report, true);
}

void Daemon::on_slow_load(const LoadJob& job) {
  ++counters_.slow_loads;
  slow_loads_[job.module] = {job.devpath, std::chrono::steady_clock::now() - options_.slow_load};
  log_fields(spdlog::level::warn, {{"KPLUG_ACTION", "slow_load"}, {"MODULE", job.module}, {"DEVPATH", job.devpath}},
             fmt::format("loading {} for {} is slow: still in the kernel's module init after {:.1f} s; other events go on",
                         job.module, printable(job.devpath), static_cast<double>(options_.slow_load.count()) / 1000.0));
}

void Daemon::on_load_done(const LoadJob& job, const LoadResult& result, const std::shared_ptr<LoadReport>& report,
                          bool coalesced) {
  switch (result.status) {
    case LoadStatus::loaded:
    case LoadStatus::would_load:
      ++(coalesced ? counters_.loads_coalesced : counters_.loads_ok);
      // Only what kplugd itself inserted is ever a candidate for unloading.
      ledger_.record_load(job.module, job.devpath, job.modalias, result.duration, report->unload_on_remove,
                          report->unload_grace, result.pulled_in);
      break;
    case LoadStatus::already_loaded:
      ++counters_.loads_skipped;
      // A second device that arrived while kplugd's own load of the module was in flight.
      ledger_.add_device(job.module, job.devpath);
      break;
    case LoadStatus::failed: ++counters_.loads_failed; break;
    default: ++counters_.loads_skipped; break;
  }
  report->outcomes.emplace_back(job.module, result);
  --in_flight_;
  if (report->rescan) {
    if (result.status == LoadStatus::loaded || result.status == LoadStatus::would_load)
      rescan_tally_.loaded.insert(job.module);
    else if (result.status == LoadStatus::failed && !found_no_device(result))
      rescan_tally_.failed.insert(job.module);
  }
  if (--report->remaining == 0) {
    auto level = report->rescan ? spdlog::level::debug : report->any_failed() ? spdlog::level::warn : spdlog::level::info;
    log_fields(level, report->journal_fields(), report->line());
    if (!subscribers_.empty()) publish(report_json(*report));
    save_state();
    queue_.finish(report->ticket);
    do_dispatch();
  }
  if (report->coldplug) on_coldplug_step_done();
  check_settles();
}

void Daemon::keep_loaded_for(const std::vector<LoadJob>& jobs, const Uevent& event) {
  for (const auto& job : jobs) {
    const std::string& module = job.module;
    if (!ledger_.owns(module)) continue;
    ledger_.add_device(module, event.devpath);
    if (auto it = unload_timers_.find(module); it != unload_timers_.end()) {
      it->second->cancel();
      unload_timers_.erase(it);
      LogFields fields = event_fields(event);
      fields.insert(fields.end(), {{"KPLUG_ACTION", "unload_cancelled"}, {"MODULE", module}});
      log_fields(spdlog::level::info, fields,
                 fmt::format("{}: {} is needed again, unload cancelled", describe_event(event), module));
    }
  }
  save_state();
}

void Daemon::on_device_removed(const Uevent& event) {
  for (const auto& module : ledger_.remove_device(event.devpath)) {
    const LedgerEntry& entry = ledger_.entries().at(module);
    if (entry.unload_on_remove) do_schedule_unload(module, event.devpath, entry.unload_grace);
    else spdlog::info("remove {}: {} has no device left and stays loaded (unload on removal is off)",
                      printable(event.devpath), module);
  }
  save_state();
}

void Daemon::do_schedule_unload(const std::string& module, const std::string& devpath,
                                std::chrono::milliseconds grace) {
  log_fields(spdlog::level::info, {{"KPLUG_ACTION", "unload_scheduled"}, {"MODULE", module}, {"DEVPATH", devpath}},
             fmt::format("remove {}: {} has no device left, unloading in {:.1f} s unless one returns", printable(devpath), module,
                         static_cast<double>(grace.count()) / 1000.0));
  auto& timer = unload_timers_[module];
  timer = std::make_unique<boost::asio::steady_timer>(io_, grace);
  timer->async_wait([this, module](const boost::system::error_code& ec) {
    if (!ec) on_unload_timer(module);
  });
}

void Daemon::on_unload_timer(const std::string& module) {
  unload_timers_.erase(module);
  auto it = ledger_.entries().find(module);
  if (it == ledger_.entries().end() || !it->second.devices.empty()) return;
  do_unload(module);
}

void Daemon::do_unload(const std::string& module) {
  ++in_flight_;
  // Dependencies it pulled in go with it, unless kplugd loaded them for a device of their own.
  std::vector<std::string> deps;
  for (const auto& dep : ledger_.entries().at(module).pulled_in)
    if (!ledger_.owns(dep)) deps.push_back(dep);
  on_loader([module, deps](ModuleLoader& loader) { return loader.unload(module, deps); },
                   [this, module](const UnloadResult& result) { on_unload_done(module, result); });
}

void Daemon::on_unload_done(const std::string& module, const UnloadResult& result) {
  --in_flight_;
  leftover_deps_.erase(module);
  if (result.status == UnloadStatus::unloaded && ledger_.owns(module)) {
    for (const auto& dep : ledger_.entries().at(module).pulled_in)
      if (!ledger_.owns(dep) &&
          std::find(result.removed_dependencies.begin(), result.removed_dependencies.end(), dep) ==
              result.removed_dependencies.end())
        leftover_deps_.insert(dep);
  }
  double ms = static_cast<double>(result.duration.count()) / 1000.0;
  if (!subscribers_.empty())
    publish({{"type", "unload"}, {"module", module}, {"status", to_string(result.status)}, {"message", result.message},
             {"duration_ms", ms}});
  LogFields fields{{"KPLUG_ACTION", "unload"}, {"MODULE", module}, {"KPLUG_DURATION_MS", fmt::format("{:.1f}", ms)}};
  switch (result.status) {
    case UnloadStatus::unloaded:
      ++counters_.unloads;
      ledger_.forget(module);
      for (const auto& dep : result.removed_dependencies) fields.emplace_back("MODULE", dep);
      log_fields(spdlog::level::info, fields,
                 fmt::format("unloaded {}{} in {:.1f} ms: its last device is gone", module,
                             result.removed_dependencies.empty()
                                 ? std::string()
                                 : fmt::format(" and {}, which it had pulled in",
                                               fmt::join(result.removed_dependencies, ", ")),
                             ms));
      break;
    case UnloadStatus::would_unload:
      ++counters_.unloads;
      ledger_.forget(module);
      fields[0].second = "would_unload";
      log_fields(spdlog::level::info, fields, fmt::format("would unload {} (dry run): its last device is gone", module));
      break;
    case UnloadStatus::not_loaded:
      ledger_.forget(module);
      spdlog::info("{} was already unloaded by someone else", module);
      break;
    case UnloadStatus::in_use:
      // It stays in the ledger: a later removal of a device it gains may still free it.
      ++counters_.unloads_refused;
      fields[0].second = "unload_refused";
      fields.emplace_back("KPLUG_REASON", result.message);
      log_fields(spdlog::level::info, fields, fmt::format("{} stays loaded: {}", module, printable(result.message)));
      break;
    case UnloadStatus::failed:
      ++counters_.unloads_refused;
      fields[0].second = "unload_refused";
      fields.emplace_back("KPLUG_REASON", result.message);
      log_fields(spdlog::level::warn, fields, printable(result.message));
      break;
  }
  save_state();
  check_settles();
  // Something went: dependencies that were held may be free now.
  if (result.status == UnloadStatus::unloaded && !leftover_deps_.empty()) do_unload_leftovers();
}

void Daemon::do_unload_leftovers() {
  for (const auto& dep : std::vector<std::string>(leftover_deps_.begin(), leftover_deps_.end())) {
    if (ledger_.owns(dep)) {
      leftover_deps_.erase(dep);
      continue;
    }
    ++in_flight_;
    on_loader([dep](ModuleLoader& loader) { return loader.unload(dep, {}); },
              [this, dep](const UnloadResult& r) {
                --in_flight_;
                if (r.status == UnloadStatus::unloaded || r.status == UnloadStatus::not_loaded) {
                  leftover_deps_.erase(dep);
                  if (r.status == UnloadStatus::unloaded) {
                    ++counters_.unloads;
                    spdlog::info("unloaded {}, which kplugd had pulled in and nothing uses any more", dep);
                    do_unload_leftovers();
                  }
                }
                check_settles();
              });
  }
}

void Daemon::do_read() {
  socket_->async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    on_readable();
    if (!stopping_) do_read();
  });
}

void Daemon::on_readable() {
  for (int i = 0; i < max_reads_per_wakeup && !stopping_; ++i) {
    ReceiveOutcome outcome = source_->receive();
    if (std::holds_alternative<WouldBlock>(outcome)) return;
    on_receive(outcome);
  }
}

void Daemon::on_receive(ReceiveOutcome& outcome) {
  if (auto* r = std::get_if<Received>(&outcome)) {
    ++counters_.events_received;
    if (r->missed_before > 0) {
      counters_.missed_events += r->missed_before;
      if (overrun_gap_pending_) {
        // The kernel reports ENOBUFS before the datagrams queued ahead of the drop, so the
        // gap of an overrun shows up later, at the first event sent after it: the same
        // loss, already being rescanned for.
        log_fields(spdlog::level::warn,
                   {{"KPLUG_ACTION", "missed"}, {"SEQNUM", std::to_string(r->event.seqnum)},
                    {"KPLUG_MISSED", std::to_string(r->missed_before)}},
                   fmt::format("SEQNUM jumped to {}: {} events lost in the overrun", r->event.seqnum,
                               r->missed_before));
      } else if (spdlog::should_log(spdlog::level::debug)) {
        // SEQNUM is one counter for every network namespace: containers, PrivateNetwork=
        // units and any user's `unshare -rn` take numbers whose events never come here.
        // Only ENOBUFS means loss; a gap alone is counted and nothing more.
        spdlog::debug("SEQNUM jumped to {}: {} numbers went to events of other network namespaces", r->event.seqnum,
                      r->missed_before);
      }
      overrun_gap_pending_ = false;
    }
    on_uevent(std::move(r->event));
  } else if (auto* rej = std::get_if<Rejected>(&outcome)) {
    std::string reason = to_string(rej->reason);
    if (rej->reason == RejectReason::malformed) reason += ":" + rej->detail.substr(0, rej->detail.find(':'));
    ++counters_.rejected[reason];
    LogFields fields{{"KPLUG_ACTION", "reject"}, {"KPLUG_REASON", reason}};
    std::string what;
    if (!rej->shape.empty()) {
      ++counters_.forged_shapes[rej->shape];
      fields.emplace_back("KPLUG_SHAPE", rej->shape);
      what = rej->shape == "well_formed"
                 ? fmt::format("; a well-formed forgery claiming {}", printable(rej->claims, 200))
                 : fmt::format("; malformed too ({}: {})", rej->shape, printable(rej->claims, 200));
    }
    log_fields(spdlog::level::warn, fields,
               fmt::format("rejected a {}-byte datagram ({}): {}{}", rej->size, to_string(rej->reason),
                           printable(rej->detail, 300), what));
  } else if (std::holds_alternative<Overrun>(outcome)) {
    ++counters_.overruns;
    overrun_gap_pending_ = true;
    log_fields(spdlog::level::err, {{"KPLUG_ACTION", "overrun"}},
               "receive buffer overrun (ENOBUFS): the kernel dropped uevents; sysfs will be rescanned "
               "(raise --receive-buffer if this repeats)");
    request_rescan("receive buffer overrun");
  } else if (auto* f = std::get_if<ReceiveFailed>(&outcome)) {
    spdlog::critical("reading the uevent socket failed: {}", std::strerror(f->error));
    stop(exit_runtime_error);
  }
}

}  // namespace kplug
