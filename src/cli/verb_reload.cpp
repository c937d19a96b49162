// `kplug reload`: kplugd re-reads its config and rules; on any problem the old ones stay
// and the problems are printed. Needs root.
#include <iostream>
#include <memory>

#include "cli/control_client.hpp"
#include "cli/verbs.hpp"

namespace kplug::cli {

namespace {

int run_reload(const std::string& socket) {
  auto client = ControlClient::connect(socket);
  if (!client) return std::cerr << "kplug reload: " << client.error() << '\n', exit_failure;
  auto reply = client->request({{"request", "reload"}});
  if (!reply) return std::cerr << "kplug reload: " << reply.error() << '\n', exit_failure;
  if (reply->contains("error")) return std::cerr << "kplug reload: " << reply->at("error").get<std::string>() << '\n', exit_failure;
  for (const auto& e : reply->value("errors", nlohmann::json::array())) std::cout << e.get<std::string>() << '\n';
  if (!reply->value("ok", false)) {
    std::cerr << "kplug reload: failed; the previous config and rules stay in force\n";
    return exit_failure;
  }
  std::cout << "kplug reload: done, " << reply->value("rules", 0) << " rule(s) in force\n";
  return exit_ok;
}

}  // namespace

VerbRun setup_reload(CLI::App& command) {
  auto socket = std::make_shared<std::string>(default_control_socket);
  command.add_option("--socket", *socket, "kplugd's control socket")->capture_default_str();
  return [socket] { return run_reload(*socket); };
}

}  // namespace kplug::cli
