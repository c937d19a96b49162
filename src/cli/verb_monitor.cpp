// `kplug monitor`: print live kernel uevents, every property, as text blocks or JSON lines.
// Only datagrams the kernel itself sent are shown; forged ones are reported on stderr.
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "control/client.hpp"
#include "control/protocol.hpp"
#include "cli/verbs.hpp"
#include "uevent/netlink_source.hpp"

namespace kplug::cli {

namespace {

struct MonitorOptions {
  bool json = false;
  bool decisions = false;
  std::string socket = default_control_socket;
  std::vector<std::string> subsystems;
  std::size_t count = 0;  // 0 = forever
};

double monotonic_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string as_json(const Uevent& ev) {
  nlohmann::ordered_json props = nlohmann::ordered_json::object();
  for (const auto& [k, v] : ev.properties) props[k] = v;
  nlohmann::ordered_json j = {{"action", ev.action},       {"devpath", ev.devpath}, {"subsystem", ev.subsystem},
                              {"seqnum", ev.seqnum},       {"timestamp", monotonic_seconds()},
                              {"properties", props}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string as_text(const Uevent& ev) {
  std::string out = fmt::format("KERNEL[{:.6f}] {:<8} {} ({})\n", monotonic_seconds(), ev.action, ev.devpath, ev.subsystem);
  for (const auto& [k, v] : ev.properties) out += k + "=" + v + "\n";
  return out + "\n";
}

int run_decisions(const MonitorOptions& o) {
  auto client = ControlClient::connect(o.socket);
  if (!client) return std::cerr << "kplug monitor: " << client.error() << '\n', exit_failure;
  auto started = client->request(control::to_json(control::Request{control::RequestKind::events}));
  if (!started) return std::cerr << "kplug monitor: " << started.error() << '\n', exit_failure;
  if (auto error = control::reply_error(*started); !error.empty())
    return std::cerr << "kplug monitor: " << error << '\n', exit_failure;
  std::size_t shown = 0;
  for (;;) {
    auto m = client->receive();
    if (!m) return std::cerr << "kplug monitor: " << m.error() << '\n', exit_failure;
    auto text = control::describe_stream_message(*m);
    if (!text) return std::cerr << "kplug monitor: " << text.error() << '\n', exit_failure;
    if (m->contains("lagged")) return std::cerr << "kplug monitor: " << *text << '\n', exit_failure;
    if (!o.subsystems.empty() && m->contains("subsystem")) {
      const auto& sub = (*m)["subsystem"];
      if (!sub.is_string() || std::find(o.subsystems.begin(), o.subsystems.end(), sub.get<std::string>()) ==
                                  o.subsystems.end())
        continue;
    }
    std::cout << (o.json ? control::to_line(*m) : *text + "\n") << std::flush;
    if (o.count && ++shown >= o.count) return exit_ok;
  }
}

int run_monitor(const MonitorOptions& o) {
  if (o.decisions) return run_decisions(o);
  NetlinkOptions netlink;
  netlink.receive_buffer = 8u << 20;
  auto source = NetlinkSource::open(netlink);
  if (!source) {
    std::cerr << "kplug monitor: " << source.error() << '\n';
    return exit_failure;
  }
  std::set<std::string> wanted(o.subsystems.begin(), o.subsystems.end());
  if (!o.json) std::cout << "monitoring kernel uevents (Ctrl-C to stop)\n\n" << std::flush;
  std::size_t shown = 0;
  while (o.count == 0 || shown < o.count) {
    pollfd pfd{(*source)->fd(), POLLIN, 0};
    if (poll(&pfd, 1, -1) < 0) {
      if (errno == EINTR) continue;
      std::cerr << "kplug monitor: poll failed: " << std::strerror(errno) << '\n';
      return exit_failure;
    }
    for (;;) {
      ReceiveOutcome outcome = (*source)->receive();
      if (std::holds_alternative<WouldBlock>(outcome)) break;
      if (auto* r = std::get_if<Received>(&outcome)) {
        if (r->missed_before) std::cerr << "kplug monitor: " << r->missed_before << " events possibly missed\n";
        if (!wanted.empty() && !wanted.count(r->event.subsystem)) continue;
        std::cout << (o.json ? as_json(r->event) + "\n" : as_text(r->event)) << std::flush;
        if (o.count && ++shown >= o.count) break;
      } else if (auto* rej = std::get_if<Rejected>(&outcome)) {
        std::cerr << "kplug monitor: ignored a datagram not from the kernel (" << to_string(rej->reason)
                  << "): " << rej->detail << '\n';
      } else if (std::holds_alternative<Overrun>(outcome)) {
        std::cerr << "kplug monitor: receive buffer overrun: the kernel dropped events\n";
      } else if (auto* f = std::get_if<ReceiveFailed>(&outcome)) {
        std::cerr << "kplug monitor: reading the uevent socket failed: " << std::strerror(f->error) << '\n';
        return exit_failure;
      }
    }
  }
  return exit_ok;
}

}  // namespace

VerbRun setup_monitor(CLI::App& command) {
  auto o = std::make_shared<MonitorOptions>();
  command.footer(
      "Each event is printed as a header line (KERNEL[monotonic seconds] ACTION DEVPATH (SUBSYSTEM))\n"
      "followed by its KEY=VALUE properties and a blank line; with --json, one JSON object per line:\n"
      "{\"action\",\"devpath\",\"subsystem\",\"seqnum\",\"timestamp\",\"properties\":{...}}.\n\n"
      "Try it: kplug monitor & echo change > /sys/class/net/lo/uevent");
  command.add_flag("--json", o->json, "one JSON object per line instead of text blocks");
  command.add_option("--subsystem", o->subsystems, "only events of this subsystem (repeatable)");
  command.add_option("--count", o->count, "exit after printing N events");
  command.add_flag("--decisions", o->decisions,
                   "instead of raw kernel events, what kplugd did with each one (from its control socket)");
  command.add_option("--socket", o->socket, "kplugd's control socket, for --decisions")->capture_default_str();
  return [o] { return run_monitor(*o); };
}

}  // namespace kplug::cli
