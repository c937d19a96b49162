// kplugd's numbers, gathered from the parts that own them (see the header).
#include "daemon/status_report.hpp"

#include "control/metrics.hpp"
#include "daemon/control_json.hpp"

namespace kplug {

StatusReport::StatusReport(Parts parts, Clock clock, std::function<Facts()> facts)
    : parts_(parts), clock_(std::move(clock)), facts_(std::move(facts)), started_(clock_()) {}

control::StatusReply StatusReport::reply() const {
  Facts facts = facts_();
  control::StatusReply r;
  r.version = KPLUG_VERSION;
  r.uptime_s = std::chrono::duration<double>(clock_() - started_).count();
  r.ready = facts.ready;
  r.dry_run = facts.dry_run;
  r.counters = counter_values(parts_.counters);
  r.rejected_by_reason = parts_.counters.rejected;
  r.forged_by_shape = parts_.counters.forged_shapes;
  parts_.control.add_stats(r);
  r.counters["index_reloads"] = parts_.resolver.reloads();
  r.counters["metrics_writes_refused"] = metrics_ ? metrics_->refused() : 0;
  r.counters["handled_devices_not_remembered"] = parts_.coldplug.handled().overflow();
  r.counters["failed_loads_forgotten"] = parts_.failures.evicted();
  r.gauges["cache_hits"] = parts_.resolver.cache_hits();
  r.gauges["cache_misses"] = parts_.resolver.cache_misses();
  r.gauges["in_flight"] = parts_.scheduler.operations();
  r.gauges["queue_depth"] = parts_.queue.waiting();
  r.gauges["events_in_progress"] = parts_.flight.started();
  r.gauges["loader_threads"] = parts_.scheduler.threads();
  r.gauges["loader_threads_running"] = parts_.scheduler.threads_running();
  r.gauges["pending_unloads"] = parts_.unloader.pending();
  r.gauges["ledger_modules"] = parts_.unloader.ledger().entries().size();
  r.gauges["rules"] = facts.rules;
  r.gauges["last_seqnum"] = facts.last_seqnum;
  r.gauges["commands_running"] = parts_.commands.running();
  r.gauges["commands_queued"] = parts_.commands.queued();
  for (const auto& slow : parts_.scheduler.slow_loads()) r.slow_loads.push_back({slow.module, slow.devpath, slow.seconds});
  r.failed_loads = parts_.failures.entries();
  return r;
}

void StatusReport::start_metrics(std::unique_ptr<NamedTimers> timers, const std::string& path, bool shared_dir) {
  metrics_.emplace(std::move(timers), path, shared_dir, std::chrono::seconds(5), [this](bool up) { return control::prometheus_text(reply(), up); });
  metrics_->start();
}

void StatusReport::stop() {
  if (metrics_) metrics_->stop();
}

}  // namespace kplug
