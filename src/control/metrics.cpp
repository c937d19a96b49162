#include "control/metrics.hpp"

#include <fmt/format.h>

namespace kplug::control {

namespace {

// A label value as the format wants it: backslash, quote and newline escaped.
std::string label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

struct Writer {
  std::string out;
  void family(const std::string& name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(const std::string& name, double value, const std::string& labels = "") {
    out += fmt::format("{}{} {}\n", name, labels.empty() ? "" : "{" + labels + "}", value);
  }
  void counter(const std::string& name, const char* help, std::uint64_t value) {
    family(name, "counter", help);
    sample(name, static_cast<double>(value));
  }
  void gauge(const std::string& name, const char* help, double value) {
    family(name, "gauge", help);
    sample(name, value);
  }
};

// kplugd's own housekeeping: index reloads, refused metrics writes, what its bounded
// memories let go, the resolver cache.
void bookkeeping(Writer& w, const StatusReply& s) {
  auto c = [&](const char* key) { return s.counter(key); };
  w.counter("kplug_index_reloads_total", "Times kplugd re-read the module index or modprobe.d after a change.",
            c("index_reloads"));
  w.counter("kplug_metrics_writes_refused_total",
            "Writes of the metrics file refused (a file planted in its place, a directory not safe to write).",
            c("metrics_writes_refused"));
  w.counter("kplug_handled_devices_not_remembered_total",
            "Device adds not remembered (past 65,536 devices): a rescan would run their rules' actions again.",
            c("handled_devices_not_remembered"));
  w.counter("kplug_failed_loads_forgotten_total",
            "Modules dropped from the failed-load history (64 kept), the oldest failure first.",
            c("failed_loads_forgotten"));
  w.counter("kplug_resolver_cache_hits_total", "MODALIAS lookups answered from kplugd's cache.",
            s.gauge("cache_hits"));
  w.counter("kplug_resolver_cache_misses_total", "MODALIAS lookups that went to the module index.",
            s.gauge("cache_misses"));
}

}  // namespace

std::string prometheus_down_text() {
  Writer w;
  w.gauge("kplug_up", "1 while kplugd answers on its control socket.", 0);
  return w.out;
}

std::string prometheus_text(const StatusReply& s, bool up) {
  Writer w;
  auto c = [&](const char* key) { return s.counter(key); };
  auto g = [&](const char* key) { return static_cast<double>(s.gauge(key)); };
  w.family("kplug_info", "gauge", "kplugd's version, as a label; always 1.");
  w.sample("kplug_info", 1, fmt::format("version=\"{}\"", label(s.version)));
  w.gauge("kplug_up", "1 while kplugd answers on its control socket.", up ? 1 : 0);
  w.gauge("kplug_ready", "1 once kplugd's coldplug is complete.", up && s.ready ? 1 : 0);
  w.gauge("kplug_dry_run", "1 when kplugd loads nothing (--dry-run).", s.dry_run ? 1 : 0);
  w.gauge("kplug_uptime_seconds", "Seconds since kplugd started.", s.uptime_s);

  w.counter("kplug_events_received_total", "Kernel uevents kplugd received on its netlink socket.",
            c("events_received"));
  w.counter("kplug_coldplug_events_total", "Events kplugd made from the devices present at start and at rescans.",
            c("coldplug_events"));
  w.family("kplug_rejected_datagrams_total", "counter",
           "Datagrams on the uevent socket kplugd refused (not from the kernel, or malformed), by reason.");
  for (const auto& [reason, n] : s.rejected_by_reason)
    w.sample("kplug_rejected_datagrams_total", static_cast<double>(n), fmt::format("reason=\"{}\"", label(reason)));
  w.counter("kplug_overruns_total", "Times the kernel dropped uevents because kplugd's socket buffer was full.",
            c("overruns"));
  w.counter("kplug_missed_events_total", "Uevents lost to overruns, by the SEQNUM gaps they left.", c("missed_events"));
  w.counter("kplug_rescans_total", "Rescans of /sys after lost uevents.", c("rescans"));
  w.counter("kplug_replays_unchanged_total",
            "Replayed add events (udevadm trigger) of devices already handled with the same decision: nothing done again.",
            c("replays_unchanged"));

  w.family("kplug_loads_total", "counter", "Module loads kplugd asked for, by outcome.");
  for (const auto& [outcome, key] : {std::pair{"ok", "loads_ok"}, {"failed", "loads_failed"},
                                     {"coalesced", "loads_coalesced"}, {"skipped", "loads_skipped"},
                                     {"retried", "loads_retried"}})
    w.sample("kplug_loads_total", static_cast<double>(c(key)), fmt::format("outcome=\"{}\"", outcome));
  w.counter("kplug_no_module_total", "Events whose MODALIAS no module matched.", c("no_module"));
  w.counter("kplug_slow_loads_total", "Loads still in the module's init after the slow-load threshold.",
            c("slow_loads"));
  w.family("kplug_unloads_total", "counter", "Unloads of modules whose devices left, by outcome.");
  w.sample("kplug_unloads_total", static_cast<double>(c("unloads")), "outcome=\"done\"");
  w.sample("kplug_unloads_total", static_cast<double>(c("unloads_refused")), "outcome=\"refused\"");
  w.family("kplug_commands_total", "counter", "Rule run: commands, by outcome.");
  w.sample("kplug_commands_total", static_cast<double>(c("commands_run")), "outcome=\"run\"");
  w.sample("kplug_commands_total", static_cast<double>(c("commands_dropped")), "outcome=\"dropped\"");
  w.sample("kplug_commands_total", static_cast<double>(c("commands_killed")), "outcome=\"killed\"");
  bookkeeping(w, s);

  w.gauge("kplug_loads_in_flight", "Module loads running now.", g("in_flight"));
  w.gauge("kplug_slow_loads_in_flight", "Loads running now past the slow-load threshold.",
          static_cast<double>(s.slow_loads.size()));
  w.gauge("kplug_failed_load_history_modules", "Modules in kplugd's history of failed loads (kplug doctor).",
          static_cast<double>(s.failed_loads.size()));
  w.gauge("kplug_loader_threads", "Loader threads alive now (after 2 s without work, one).",
          g("loader_threads_running"));
  w.gauge("kplug_queue_depth", "Events waiting for an earlier event of a related device.", g("queue_depth"));
  w.gauge("kplug_pending_unloads", "Modules waiting for their unload grace period.", g("pending_unloads"));
  w.gauge("kplug_ledger_modules", "Modules kplugd loaded itself and still tracks.", g("ledger_modules"));
  w.gauge("kplug_rules", "Rules in force.", g("rules"));
  w.gauge("kplug_control_sessions", "Open control socket sessions.", g("sessions"));
  w.gauge("kplug_commands_running", "Rule commands running now.", g("commands_running"));
  w.gauge("kplug_commands_queued", "Rule commands waiting for a worker.", g("commands_queued"));
  return w.out;
}

}  // namespace kplug::control
