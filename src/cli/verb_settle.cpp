// `kplug settle [--timeout SECONDS]`: wait until kplugd has handled every kernel event
// emitted so far and finished every load they caused (like udevadm settle).
#include <iostream>
#include <memory>

#include "cli/control_client.hpp"
#include "cli/verbs.hpp"

namespace kplug::cli {

namespace {

struct SettleOptions {
  std::string socket = default_control_socket;
  double timeout = 120;
};

int run_settle(const SettleOptions& o) {
  auto client = ControlClient::connect(o.socket);
  if (!client) return std::cerr << "kplug settle: " << client.error() << '\n', exit_failure;
  auto reply = client->request({{"request", "settle"}, {"timeout", o.timeout}},
                               std::chrono::milliseconds(static_cast<long long>(o.timeout * 1000) + 5000));
  if (!reply) return std::cerr << "kplug settle: " << reply.error() << '\n', exit_failure;
  if (!reply->value("ok", false)) {
    std::cerr << "kplug settle: " << reply->value("error", std::string("failed")) << '\n';
    return exit_failure;
  }
  return exit_ok;
}

}  // namespace

VerbRun setup_settle(CLI::App& command) {
  auto o = std::make_shared<SettleOptions>();
  command.add_option("--socket", o->socket, "kplugd's control socket")->capture_default_str();
  command.add_option("--timeout", o->timeout, "give up after this many seconds (exit 1)")->capture_default_str();
  command.footer("Exit status: 0 once settled, 1 on timeout or when kplugd cannot be reached.");
  return [o] { return run_settle(*o); };
}

}  // namespace kplug::cli
