// `kplug reload`: kplugd re-reads its config and rules; on any problem the old ones stay
// and the problems are printed. Needs root.
#include <iostream>
#include <memory>

#include "base/text.hpp"
#include "control/client.hpp"
#include "control/protocol.hpp"
#include "cli/verbs.hpp"

namespace kplug::cli {

namespace {

int run_reload(const std::string& socket) {
  auto client = ControlClient::connect(socket);
  if (!client) return std::cerr << "kplug reload: " << client.error() << '\n', exit_cannot;
  auto reply = client->request(control::to_json(control::Request{control::RequestKind::reload}));
  if (!reply) return std::cerr << "kplug reload: " << reply.error() << '\n', exit_cannot;
  auto r = control::reload_from_json(*reply);
  if (!r) return std::cerr << "kplug reload: " << r.error() << '\n', exit_cannot;
  for (const auto& e : r->errors) std::cout << printable(e) << '\n';
  if (!r->ok) {
    std::cerr << "kplug reload: failed; the previous config and rules stay in force\n";
    return exit_cannot;
  }
  std::cout << "kplug reload: done, " << r->rules << " rule(s) in force\n";
  return exit_ok;
}

}  // namespace

VerbRun setup_reload(CLI::App& command) {
  auto socket = std::make_shared<std::string>(default_control_socket);
  command.add_option("--socket", *socket, "kplugd's control socket")->capture_default_str();
  return [socket] { return run_reload(*socket); };
}

}  // namespace kplug::cli
