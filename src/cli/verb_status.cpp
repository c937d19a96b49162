// `kplug status [--json]`: what kplugd has seen and done, from its control socket.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/control_client.hpp"
#include "cli/verbs.hpp"

namespace kplug::cli {

namespace {

struct StatusOptions {
  std::string socket = default_control_socket;
  bool json = false;
};

int run_status(const StatusOptions& o) {
  auto client = ControlClient::connect(o.socket);
  if (!client) return std::cerr << "kplug status: " << client.error() << '\n', exit_failure;
  auto reply = client->request({{"request", "status"}});
  if (!reply) return std::cerr << "kplug status: " << reply.error() << '\n', exit_failure;
  const auto& r = *reply;
  if (o.json) {
    std::cout << r.dump() << '\n';
    return exit_ok;
  }
  const auto& c = r.at("counters");
  std::string reasons;
  for (const auto& [reason, n] : c.at("rejected_by_reason").items())
    reasons += fmt::format("{}{} {}", reasons.empty() ? " (" : ", ", reason, n.get<std::uint64_t>());
  if (!reasons.empty()) reasons += ")";
  std::cout << fmt::format("kplugd {}, up {:.1f} s, {}{}\n", r.at("version").get<std::string>(),
                           r.at("uptime_s").get<double>(), r.at("ready").get<bool>() ? "ready" : "coldplugging",
                           r.at("dry_run").get<bool>() ? ", dry run" : "");
  std::cout << fmt::format("events:  received {}, coldplug {}, rejected {}{}, overruns {}, missed {}, rescans {}\n",
                           c.at("events_received").get<std::uint64_t>(), c.at("coldplug_events").get<std::uint64_t>(),
                           c.at("rejected").get<std::uint64_t>(), reasons, c.at("overruns").get<std::uint64_t>(),
                           c.at("missed_events").get<std::uint64_t>(), c.value("rescans", std::uint64_t{0}));
  if (c.contains("forged_by_shape") && !c.at("forged_by_shape").empty()) {
    std::string shapes;
    for (const auto& [shape, n] : c.at("forged_by_shape").items())
      shapes += fmt::format("{}{} {}", shapes.empty() ? "" : ", ", shape, n.get<std::uint64_t>());
    std::cout << fmt::format("forged:  {} (what the datagrams rejected for their sender held)\n", shapes);
  }
  std::cout << fmt::format("loads:   ok {}, failed {}, skipped {}, no module {}; in flight {}\n",
                           c.at("loads_ok").get<std::uint64_t>(), c.at("loads_failed").get<std::uint64_t>(),
                           c.at("loads_skipped").get<std::uint64_t>(), c.at("no_module").get<std::uint64_t>(),
                           r.at("in_flight").get<std::uint64_t>());
  std::cout << fmt::format("unloads: done {}, refused {}, waiting for their grace period {}\n",
                           c.at("unloads").get<std::uint64_t>(), c.at("unloads_refused").get<std::uint64_t>(),
                           r.at("pending_unloads").get<std::uint64_t>());
  std::cout << fmt::format("resolver cache: {} hits, {} misses; ledger: {} module(s); rules: {}\n",
                           r.at("cache_hits").get<std::uint64_t>(), r.at("cache_misses").get<std::uint64_t>(),
                           r.at("ledger_modules").get<std::uint64_t>(), r.at("rules").get<std::uint64_t>());
  return exit_ok;
}

}  // namespace

VerbRun setup_status(CLI::App& command) {
  auto o = std::make_shared<StatusOptions>();
  command.add_option("--socket", o->socket, "kplugd's control socket")->capture_default_str();
  command.add_flag("--json", o->json, "print kplugd's answer as JSON (docs/control-protocol.md)");
  return [o] { return run_status(*o); };
}

}  // namespace kplug::cli
