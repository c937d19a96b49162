// Coldplug and rescan (see the header).
#include "daemon/coldplug.hpp"

#include <cstring>

#include <spdlog/spdlog.h>

#include "base/logging.hpp"
#include "plan/load_report.hpp"

namespace kplug {

namespace {
// After lost events, wait this long for the storm to pass before reading sysfs again.
constexpr std::chrono::milliseconds rescan_delay{200};
}  // namespace

Coldplug::Coldplug(std::unique_ptr<NamedTimers> timers, SystemView& system, Counters& counters, Clock clock,
                   bool dry_run, Hooks hooks)
    : timers_(std::move(timers)), system_(system), counters_(counters), clock_(std::move(clock)), dry_run_(dry_run),
      hooks_(std::move(hooks)) {}

void Coldplug::start() { do_walk(false); }

void Coldplug::do_walk(bool rescan) {
  started_ = clock_();
  running_ = true;
  walking_ = true;
  rescanning_ = rescan;
  // Each device goes into the pipeline as the walk finds it: its module loads on a
  // loader thread while the walk goes on.
  // The time in the pipeline (deciding, resolving, handing loads out) is told apart from
  // the time reading sysfs.
  std::chrono::steady_clock::duration deciding{};
  auto walked = system_.walk_devices(hooks_.wanted, [this, rescan, &deciding](Uevent&& ev) {
    ++counters_.coldplug_events;
    if (rescan) ev.source = EventSource::rescan;
    auto fed = clock_();
    hooks_.feed(std::move(ev));
    deciding += clock_() - fed;
  });
  auto took = std::chrono::duration<double, std::milli>(clock_() - started_ - deciding);
  auto decided = std::chrono::duration<double, std::milli>(deciding);
  if (!walked) {
    spdlog::error("{} failed: {}", rescan ? "rescan" : "coldplug", walked.error());
    // Out of descriptors is passing: read sysfs again once this pass is done.
    if (walked.error().find(std::strerror(EMFILE)) != std::string::npos ||
        walked.error().find(std::strerror(ENFILE)) != std::string::npos)
      rescan_again_ = true;
  } else if (rescan) {
    spdlog::debug("rescan ({}): {} present devices to decide (sysfs read in {:.1f} ms, deciding them took {:.1f} ms)",
                  rescan_why_, *walked, took.count(), decided.count());
  } else {
    spdlog::info("coldplug: {} present devices to decide: those with a MODALIAS and those a rule loads for "
                 "(sysfs read in {:.1f} ms, deciding them took {:.1f} ms)", *walked, took.count(), decided.count());
  }
  walking_ = false;
  check_complete();
}

bool Coldplug::note_event(const Uevent& event, const Decision& decision) {
  bool repeat = false;
  if (event.action == "add")
    repeat = handled_.note_add(event.devpath, decision_stamp(decision, generation_)) &&
             event.source == EventSource::rescan;
  else if (event.action == "remove")
    handled_.note_remove(event.devpath);
  if (event.source == EventSource::rescan) {
    ++tally_.devices;
    if (!repeat) ++tally_.not_seen;
    else if (!decision.run.empty() || !decision.logs.empty()) ++tally_.quiet;
  }
  return !repeat;
}

bool Coldplug::unchanged_replay(const Uevent& event, const Decision& decision) const {
  return running_ && event.source == EventSource::kernel && event.action == "add" && event.get("SYNTH_UUID") &&
         handled_.handled_as(event.devpath, decision_stamp(decision, generation_));
}

void Coldplug::landed(EventSource source, const std::vector<std::pair<std::string, LoadResult>>& outcomes) {
  if (source == EventSource::kernel) return check_boot_done();  // a critical one may have been the last
  if (source == EventSource::rescan)
    for (const auto& [module, result] : outcomes) {
      if (result.status == LoadStatus::loaded || result.status == LoadStatus::would_load)
        tally_.loaded.insert(module);
      else if (result.status == LoadStatus::failed && !found_no_device(result))
        tally_.failed.insert(module);
    }
  check_complete();
}

void Coldplug::check_boot_done() {
  if (boot_told_ || !running_ || rescanning_ || walking_ || hooks_.boot_pending() > 0) return;
  boot_told_ = true;
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(clock_() - started_);
  spdlog::info("coldplug: boot-critical part done in {:.1f} ms: every present device decided, no critical load "
               "in flight; {} event(s) still loading", static_cast<double>(took.count()) / 1000.0, hooks_.in_flight());
  hooks_.boot_done();
}

void Coldplug::check_complete() {
  check_boot_done();
  if (!running_ || walking_ || hooks_.in_flight() > 0) return;
  running_ = false;
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(clock_() - started_);
  double ms = static_cast<double>(took.count()) / 1000.0;
  bool initial = !rescanning_;
  rescanning_ = false;
  if (initial && !boot_told_) {  // a critical kernel event still in flight: the whole is done first
    boot_told_ = true;
    hooks_.boot_done();
  }
  if (initial)
    spdlog::info("coldplug complete in {:.1f} ms: {}", ms, counters_.summary());
  else
    log_fields(tally_.failed.empty() ? spdlog::level::info : spdlog::level::warn, {{"KPLUG_ACTION", "rescan"}},
               fmt::format("rescan complete in {:.1f} ms ({}): {}", ms, rescan_why_, tally_.summary()));
  // Events lost while it ran may concern devices it had already read: once more.
  if (rescan_again_ && !stopping_) {
    rescan_again_ = false;
    request_rescan(initial ? "events were lost during coldplug" : "events were lost during the last rescan");
  }
  hooks_.finished(initial);
}

void Coldplug::request_rescan(const std::string& why) {
  if (stopping_) return;
  if (running_) {
    rescan_again_ = true;
    return;
  }
  if (timers_->running()) return;  // one is already due: a storm gets one rescan
  rescan_why_ = why;
  timers_->start("rescan", rescan_delay, [this] {
    if (!stopping_) do_rescan();
  });
}

void Coldplug::do_rescan() {
  if (running_) {
    rescan_again_ = true;
    return;
  }
  ++counters_.rescans;
  tally_ = RescanTally{};
  tally_.dry_run = dry_run_;
  // Removals first: a device that went while events were lost frees its modules.
  auto gone = hooks_.forget_gone();
  for (const auto& devpath : gone) handled_.note_remove(devpath);
  tally_.gone = gone.size();
  do_walk(true);
}

void Coldplug::stop() {
  stopping_ = true;
  timers_->cancel_all();
}

}  // namespace kplug
