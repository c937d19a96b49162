// `kplug settle [--timeout SECONDS] [--critical]`: wait until kplugd has handled every
// kernel event emitted so far and finished every load they caused (like udevadm settle);
// with --critical, until the boot-critical part is done (what kplugd's READY waits for).
#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>

#include "control/client.hpp"
#include "control/protocol.hpp"
#include "base/text.hpp"
#include "cli/verbs.hpp"

namespace kplug::cli {

namespace {

struct SettleOptions {
  std::string socket = default_control_socket;
  double timeout = 120;
  bool critical = false;
};

int run_settle(const SettleOptions& o) {
  if (!(o.timeout >= 0 && o.timeout <= control::max_settle_timeout_s))
    return std::cerr << "kplug settle: --timeout must be from 0 to " << control::max_settle_timeout_s << " seconds\n",
           exit_usage;
  // Started right after kplugd (`kplugd & kplug settle`), it waits for kplugd to come up,
  // within the same timeout.
  auto started = std::chrono::steady_clock::now();
  auto timeout = std::chrono::milliseconds(static_cast<long long>(o.timeout * 1000));
  auto client = ControlClient::connect_within(o.socket, timeout);
  if (!client) return std::cerr << "kplug settle: " << client.error() << '\n', exit_cannot;
  auto left = std::max(std::chrono::milliseconds(0), timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                   std::chrono::steady_clock::now() - started));
  double left_s = static_cast<double>(left.count()) / 1000.0;
  auto reply = client->request(control::to_json(control::Request{control::RequestKind::settle, left_s, o.critical}),
                               left + std::chrono::milliseconds(5000));
  if (!reply) return std::cerr << "kplug settle: " << reply.error() << '\n', exit_cannot;
  auto settled = control::settle_from_json(*reply);
  if (!settled) return std::cerr << "kplug settle: " << settled.error() << '\n', exit_cannot;
  if (!settled->settled) return std::cerr << "kplug settle: " << printable(settled->error) << '\n', exit_found;
  return exit_ok;
}

}  // namespace

VerbRun setup_settle(CLI::App& command) {
  auto o = std::make_shared<SettleOptions>();
  command.add_option("--socket", o->socket, "kplugd's control socket")->capture_default_str()->type_name("PATH");
  command.add_option("--timeout", o->timeout, "give up after this many seconds (exit 1; 3 when kplugd did not come up)")
      ->capture_default_str()
      ->type_name("SECONDS");
  command.add_flag("--critical", o->critical,
                   "wait only for the boot-critical part: every present device decided and no load of priority "
                   "critical (storage and the way to it) in flight, as kplugd's READY");
  command.footer("Started before kplugd is up (kplugd & kplug settle), it waits for kplugd within the timeout.\n"
                 "Exit status: 0 once settled, 1 when not settled within the timeout, 3 when kplugd\n"
                 "cannot be reached.");
  return [o] { return run_settle(*o); };
}

}  // namespace kplug::cli
