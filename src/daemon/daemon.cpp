// The event loop: netlink → decide → resolve → load, one log line per decision.
#include "daemon/daemon.hpp"

#include <cstring>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "rules/decision.hpp"
#include "sysfs/enumerate.hpp"

namespace kplug {

namespace {

// At most this many datagrams per wake-up, so signals and load results get their turn.
constexpr int max_reads_per_wakeup = 256;

}  // namespace

Daemon::Daemon(boost::asio::io_context& io, DaemonOptions options, std::unique_ptr<NetlinkSource> source,
               std::unique_ptr<Resolver> resolver, std::unique_ptr<ModuleLoader> loader)
    : io_(io),
      options_(std::move(options)),
      source_(std::move(source)),
      resolver_(std::move(resolver)),
      loader_(std::move(loader)),
      signals_(io, SIGINT, SIGTERM) {}

Daemon::~Daemon() {
  loader_threads_.join();
  // libnl owns the descriptor; asio must not close it a second time.
  if (socket_) socket_->release();
}

void Daemon::start() {
  signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (!ec) on_signal(signal);
  });
  if (source_) {
    socket_.emplace(io_, source_->fd());
    do_read();
  }
  // The socket is open before sysfs is read, so a device that appears meanwhile is
  // seen by one path or the other (or both: loading twice is harmless).
  if (options_.coldplug) do_coldplug();
  else if (options_.exit_after_coldplug) stop();
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
}

void Daemon::on_signal(int signal) {
  spdlog::info("received {}, stopping", strsignal(signal));
  stop();
}

void Daemon::on_uevent(const Uevent& event) {
  // 1. A device that went away may leave a module kplugd loaded with no user.
  if (event.action == "remove") return on_device_removed(event);
  // 2. Decide what the event asks for (kplug's default policy until rules land).
  Decision decision = default_decision(event);
  if (!decision.autoload) {
    spdlog::debug("{}: nothing to do ({})", describe_event(event), decision.reason);
    return;
  }
  // 3. Resolve its MODALIAS to module names through modules.alias (cached).
  auto modules = resolver_->resolve(decision.modalias);
  if (!modules) {
    spdlog::warn("{}: MODALIAS={}: {}", describe_event(event), decision.modalias, modules.error());
    return;
  }
  if (modules->empty()) {
    ++counters_.no_module;
    // Most present devices have no module; that is only news for a device that just came.
    spdlog::log(event.source == EventSource::coldplug ? spdlog::level::debug : spdlog::level::info,
                "{} MODALIAS={}: no module matches", describe_event(event), shorten(decision.modalias, 96));
    return;
  }
  // 4. Modules kplugd loaded earlier now serve this device too: no unload while it stays.
  keep_loaded_for(*modules, event);
  // 5. Hand each module to a loader thread; one line is logged when all have answered.
  auto report = std::make_shared<LoadReport>();
  report->event = describe_event(event);
  report->modalias = decision.modalias;
  report->coldplug = event.source == EventSource::coldplug;
  report->remaining = modules->size();
  for (const auto& module : *modules) do_load(LoadJob{module, true, event.devpath, decision.modalias}, report);
}

void Daemon::do_coldplug() {
  coldplug_started_ = std::chrono::steady_clock::now();
  auto devices = enumerate_modalias_devices();
  if (!devices) {
    spdlog::error("coldplug failed: {}", devices.error());
    return;
  }
  spdlog::info("coldplug: {} present devices carry a MODALIAS", devices->size());
  // The +1 keeps coldplug open until every event has been handed out.
  coldplug_running_ = true;
  coldplug_pending_ = 1;
  for (const auto& ev : *devices) {
    ++counters_.coldplug_events;
    on_uevent(ev);
  }
  on_coldplug_step_done();
}

void Daemon::on_coldplug_step_done() {
  if (!coldplug_running_ || --coldplug_pending_ > 0) return;
  coldplug_running_ = false;
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - coldplug_started_);
  spdlog::info("coldplug complete in {:.1f} ms: {}", static_cast<double>(took.count()) / 1000.0, counters_.summary());
  if (options_.exit_after_coldplug) stop();
}

template <typename Fn, typename Done>
void Daemon::on_loader_thread(Fn fn, Done done) {
  // The work guard keeps io.run() alive until DONE has run.
  auto guard = boost::asio::make_work_guard(io_);
  boost::asio::post(loader_threads_, [this, fn = std::move(fn), done = std::move(done),
                                      guard = std::move(guard)]() mutable {
    auto result = fn();
    boost::asio::post(io_, [done = std::move(done), result = std::move(result), guard = std::move(guard)] {
      done(result);
    });
  });
}

void Daemon::do_load(LoadJob job, std::shared_ptr<LoadReport> report) {
  if (report->coldplug && coldplug_running_) ++coldplug_pending_;
  on_loader_thread([this, job] { return loader_->load(job); },
                   [this, job, report](const LoadResult& result) { on_load_done(job, result, report); });
}

void Daemon::on_load_done(const LoadJob& job, const LoadResult& result, const std::shared_ptr<LoadReport>& report) {
  switch (result.status) {
    case LoadStatus::loaded:
    case LoadStatus::would_load:
      ++counters_.loads_ok;
      // Only what kplugd itself inserted is ever a candidate for unloading.
      ledger_.record_load(job.module, job.devpath, job.modalias, result.duration);
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
  if (--report->remaining == 0)
    spdlog::log(report->any_failed() ? spdlog::level::warn : spdlog::level::info, "{}", report->line());
  if (report->coldplug) on_coldplug_step_done();
}

void Daemon::keep_loaded_for(const std::vector<std::string>& modules, const Uevent& event) {
  for (const auto& module : modules) {
    if (!ledger_.owns(module)) continue;
    ledger_.add_device(module, event.devpath);
    if (auto it = unload_timers_.find(module); it != unload_timers_.end()) {
      it->second->cancel();
      unload_timers_.erase(it);
      spdlog::info("{}: {} is needed again, unload cancelled", describe_event(event), module);
    }
  }
}

void Daemon::on_device_removed(const Uevent& event) {
  if (!options_.unload) return;
  for (const auto& module : ledger_.remove_device(event.devpath)) do_schedule_unload(module, event.devpath);
}

void Daemon::do_schedule_unload(const std::string& module, const std::string& devpath) {
  spdlog::info("remove {}: {} has no device left, unloading in {:.1f} s unless one returns", devpath, module,
               static_cast<double>(options_.unload_grace.count()) / 1000.0);
  auto& timer = unload_timers_[module];
  timer = std::make_unique<boost::asio::steady_timer>(io_, options_.unload_grace);
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
  on_loader_thread([this, module] { return loader_->unload(module); },
                   [this, module](const UnloadResult& result) { on_unload_done(module, result); });
}

void Daemon::on_unload_done(const std::string& module, const UnloadResult& result) {
  double ms = static_cast<double>(result.duration.count()) / 1000.0;
  switch (result.status) {
    case UnloadStatus::unloaded:
      ++counters_.unloads;
      ledger_.forget(module);
      spdlog::info("unloaded {} in {:.1f} ms: its last device is gone", module, ms);
      break;
    case UnloadStatus::would_unload:
      ++counters_.unloads;
      ledger_.forget(module);
      spdlog::info("would unload {} (dry run): its last device is gone", module);
      break;
    case UnloadStatus::not_loaded:
      ledger_.forget(module);
      spdlog::info("{} was already unloaded by someone else", module);
      break;
    case UnloadStatus::in_use:
      // It stays in the ledger: a later removal of a device it gains may still free it.
      ++counters_.unloads_refused;
      spdlog::info("{} stays loaded: {}", module, result.message);
      break;
    case UnloadStatus::failed:
      ++counters_.unloads_refused;
      spdlog::warn("{}", result.message);
      break;
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
      spdlog::warn("SEQNUM jumped to {}: {} events possibly missed (sent to another network namespace, or lost)",
                   r->event.seqnum, r->missed_before);
    }
    on_uevent(r->event);
  } else if (auto* rej = std::get_if<Rejected>(&outcome)) {
    std::string reason = to_string(rej->reason);
    if (rej->reason == RejectReason::malformed) reason += ":" + rej->detail.substr(0, rej->detail.find(':'));
    ++counters_.rejected[reason];
    spdlog::warn("rejected a {}-byte datagram ({}): {}", rej->size, to_string(rej->reason), rej->detail);
  } else if (std::holds_alternative<Overrun>(outcome)) {
    ++counters_.overruns;
    spdlog::error("receive buffer overrun (ENOBUFS): the kernel dropped uevents; "
                  "raise --receive-buffer (a sysfs rescan on overrun is not implemented yet)");
  } else if (auto* f = std::get_if<ReceiveFailed>(&outcome)) {
    spdlog::critical("reading the uevent socket failed: {}", std::strerror(f->error));
    stop(exit_runtime_error);
  }
}

}  // namespace kplug
