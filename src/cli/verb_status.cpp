// `kplug status [--json]`: what kplugd has seen and done, from its control socket.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "base/text.hpp"
#include "control/client.hpp"
#include "control/protocol.hpp"
#include "cli/verbs.hpp"
#include "control/metrics.hpp"

namespace kplug::cli {

namespace {

struct StatusOptions {
  std::string socket = default_control_socket;
  bool json = false;
  std::string format = "text";
};

int run_status(const StatusOptions& o) {
  auto client = ControlClient::connect(o.socket);
  // A scrape of a stopped kplugd says so: kplug_up 0 (and exit 3, with the reason).
  if (!client && o.format == "prometheus") std::cout << control::prometheus_down_text();
  if (!client) return std::cerr << "kplug status: " << client.error() << '\n', exit_cannot;
  auto reply = client->request(control::to_json(control::Request{control::RequestKind::status}));
  if (!reply) return std::cerr << "kplug status: " << reply.error() << '\n', exit_cannot;
  auto status = control::status_from_json(*reply);
  if (!status) return std::cerr << "kplug status: " << status.error() << '\n', exit_cannot;
  if (o.json || o.format == "json") {
    std::cout << control::to_line(control::to_json(*status));
    return exit_ok;
  }
  if (o.format == "prometheus") {
    std::cout << control::prometheus_text(*status);
    return exit_ok;
  }
  const auto& r = *status;
  auto c = [&](const char* name) { return r.counter(name); };
  auto g = [&](const char* name) { return r.gauge(name); };
  std::string reasons;
  for (const auto& [reason, n] : r.rejected_by_reason)
    reasons += fmt::format("{}{} {}", reasons.empty() ? " (" : ", ", printable(reason, 64), n);
  if (!reasons.empty()) reasons += ")";
  std::cout << fmt::format("kplugd {}, up {:.1f} s, {}{}\n", printable(r.version, 64), r.uptime_s,
                           r.ready ? "ready" : "coldplugging", r.dry_run ? ", dry run" : "");
  std::cout << fmt::format("events:  received {}, coldplug {}, rejected {}{}, overruns {}, missed {}, rescans {}\n",
                           c("events_received"), c("coldplug_events"), c("rejected"), reasons, c("overruns"),
                           c("missed_events"), c("rescans"));
  if (!r.forged_by_shape.empty()) {
    std::string shapes;
    for (const auto& [shape, n] : r.forged_by_shape)
      shapes += fmt::format("{}{} {}", shapes.empty() ? "" : ", ", printable(shape, 64), n);
    std::cout << fmt::format("forged:  {} (what the datagrams rejected for their sender held)\n", shapes);
  }
  // A dry run loads nothing: its "ok" loads are loads it would have done.
  std::cout << fmt::format("loads:   {} {}, failed {}, skipped {}, no module {}, retried {}; in flight {}\n",
                           r.dry_run ? "would load (dry run, nothing loaded)" : "ok", c("loads_ok"), c("loads_failed"),
                           c("loads_skipped"), c("no_module"), c("loads_retried"), g("in_flight"));
  std::cout << fmt::format("unloads: done {}, refused {}, waiting for their grace period {}\n", c("unloads"),
                           c("unloads_refused"), g("pending_unloads"));
  std::cout << fmt::format("commands: ran {}, running {}, queued {}, dropped (queue full) {}, killed {}\n",
                           c("commands_run"), g("commands_running"), g("commands_queued"), c("commands_dropped"),
                           c("commands_killed"));
  std::cout << fmt::format("control: {} session(s) open; refused as busy {}, lagging subscribers dropped {}, "
                           "accept errors {}\n",
                           g("sessions"), c("sessions_refused"), c("subscribers_lagged"), c("accept_errors"));
  std::cout << fmt::format("resolver cache: {} hits, {} misses; ledger: {} module(s); rules: {}\n", g("cache_hits"),
                           g("cache_misses"), g("ledger_modules"), g("rules"));
  if (c("metrics_writes_refused"))
    std::cout << fmt::format("metrics file: {} write(s) refused (kplugd's log says why)\n",
                             c("metrics_writes_refused"));
  return exit_ok;
}

}  // namespace

VerbRun setup_status(CLI::App& command) {
  auto o = std::make_shared<StatusOptions>();
  command.add_option("--socket", o->socket, "kplugd's control socket")->capture_default_str()->type_name("PATH");
  command.add_flag("--json", o->json, "print kplugd's answer as JSON (/usr/share/doc/kplug/control-protocol.md); --format json");
  command.add_option("--format", o->format, "text, json, or prometheus (metrics in Prometheus's text format)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json", "prometheus"}));
  return [o] { return run_status(*o); };
}

}  // namespace kplug::cli
