// `kplug trigger`: make the kernel announce present devices again (coldplug on demand).
// With --settle, wait until kplugd has handled exactly the events this run caused.
#include <cerrno>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "control/client.hpp"
#include "control/events.hpp"
#include "control/json_fields.hpp"
#include "control/protocol.hpp"
#include "base/text.hpp"
#include "cli/verbs.hpp"
#include "sysfs/trigger.hpp"

namespace kplug::cli {

namespace {

struct TriggerOptions {
  std::string action = "add";
  std::vector<std::string> subsystems;
  bool dry_run = false;
  bool settle = false;
  double timeout = 60;
  std::string socket = default_control_socket;
};

// Reads STREAM until kplugd has decided WRITTEN events carrying UUID (SEEN counts them)
// or DEADLINE passes; false, and why said, when it cannot.
bool await_decisions(ControlClient& stream, const std::string& uuid, std::size_t written,
                     std::chrono::steady_clock::time_point deadline, std::size_t& seen) {
  while (seen < written) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto m = stream.receive(std::max(left, std::chrono::milliseconds(0)));
    if (!m) {
      std::cerr << fmt::format("kplug trigger: {} after kplugd handled {} of {} events\n", m.error(), seen, written);
      return false;
    }
    if (m->contains("lagged")) {
      std::cerr << fmt::format("kplug trigger: kplugd dropped this client for reading too slowly, after {} of {} "
                               "events\n", seen, written);
      return false;
    }
    auto message = control::event_from_json(*m);
    if (!message) {
      std::cerr << fmt::format("kplug trigger: {} after kplugd handled {} of {} events\n", message.error(), seen, written);
      return false;
    }
    if (const auto* d = std::get_if<control::DecisionMessage>(&*message); d && d->synth_uuid == uuid) ++seen;
  }
  return true;
}

int run_trigger(const TriggerOptions& o) {
  auto devices = list_devices(o.subsystems);
  if (!devices) return std::cerr << "kplug trigger: " << devices.error() << '\n', exit_cannot;
  if (o.dry_run) {
    for (const auto& d : *devices) std::cout << d << '\n';
    std::cerr << fmt::format("kplug trigger: would write '{}' to {} uevent file(s)\n", o.action, devices->size());
    return exit_ok;
  }
  // Subscribe before writing, so no event of ours can pass unseen.
  std::optional<ControlClient> stream;
  if (o.settle) {
    auto client = ControlClient::connect(o.socket);
    if (!client) return std::cerr << "kplug trigger: " << client.error() << '\n', exit_cannot;
    stream.emplace(std::move(*client));
    auto r = stream->request(control::to_json(control::Request{control::RequestKind::events}));
    if (!r) return std::cerr << "kplug trigger: " << r.error() << '\n', exit_cannot;
    if (auto error = control::reply_error(*r); !error.empty())
      return std::cerr << "kplug trigger: " << error << '\n', exit_cannot;
  }
  std::string uuid = new_uuid();
  std::size_t written = 0, failed = 0;
  std::map<std::string, std::size_t> reasons;  // why writes were refused, and how often
  for (const auto& d : *devices) {
    if (auto w = write_uevent(d, o.action, uuid)) {
      ++written;
    } else {
      ++failed;
      auto why = w.error();
      ++reasons[why.substr(why.rfind(": ") == std::string::npos ? 0 : why.rfind(": ") + 2)];
    }
  }
  std::cerr << fmt::format("kplug trigger: '{}' written to {} device(s){}, SYNTH_UUID={}\n", o.action, written,
                           failed ? fmt::format(" ({} refused)", failed) : "", uuid);
  for (const auto& [why, n] : reasons)
    std::cerr << fmt::format("kplug trigger: {} write(s) refused: {}{}\n", n, why,
                             why == std::strerror(EACCES) || why == std::strerror(EPERM) ? " (run as root)" : "");
  if (failed) return exit_cannot;
  if (!o.settle) return exit_ok;

  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long long>(o.timeout * 1000));
  std::size_t seen = 0;
  if (!await_decisions(*stream, uuid, written, deadline, seen)) return exit_cannot;
  // Every event of ours is decided; now wait for the loads they started.
  auto client = ControlClient::connect(o.socket);
  if (!client) return std::cerr << "kplug trigger: " << client.error() << '\n', exit_cannot;
  auto left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
  left = std::clamp(left, 0.0, control::max_settle_timeout_s);
  auto r = client->request(control::to_json(control::Request{control::RequestKind::settle, left}),
                           std::chrono::milliseconds(static_cast<long long>(left * 1000) + 5000));
  if (!r) return std::cerr << "kplug trigger: " << r.error() << '\n', exit_cannot;
  auto settled = control::settle_from_json(*r);
  if (!settled) return std::cerr << "kplug trigger: " << settled.error() << '\n', exit_cannot;
  if (!settled->settled) return std::cerr << "kplug trigger: " << printable(settled->error) << '\n', exit_found;
  std::cerr << fmt::format("kplug trigger: kplugd handled all {} event(s)\n", seen);
  return exit_ok;
}

}  // namespace

VerbRun setup_trigger(CLI::App& command) {
  auto o = std::make_shared<TriggerOptions>();
  command.add_option("--action", o->action, "the event to ask for")
      ->capture_default_str()
      ->check(CLI::IsMember({"add", "change"}));
  command.add_option("--subsystem", o->subsystems, "only devices of this subsystem (repeatable)")
      ->allow_extra_args(false);
  command.add_flag("--dry-run", o->dry_run, "list the devices, write nothing");
  command.add_flag("--settle", o->settle,
                   "wait until kplugd has handled exactly the events this run caused (by their SYNTH_UUID)");
  command.add_option("--timeout", o->timeout, "seconds to wait with --settle")->capture_default_str()->type_name("SECONDS");
  command.add_option("--socket", o->socket, "kplugd's control socket, for --settle")->capture_default_str()->type_name("PATH");
  command.footer("Example: kplug trigger --subsystem usb --settle   (as root)");
  return [o] { return run_trigger(*o); };
}

}  // namespace kplug::cli
