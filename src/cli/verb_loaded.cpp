// `kplug loaded [--json]`: the modules kplugd loaded itself, and for which devices.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/control_client.hpp"
#include "cli/verbs.hpp"

namespace kplug::cli {

namespace {

struct LoadedOptions {
  std::string socket = default_control_socket;
  bool json = false;
};

int run_loaded(const LoadedOptions& o) {
  auto client = ControlClient::connect(o.socket);
  if (!client) return std::cerr << "kplug loaded: " << client.error() << '\n', exit_failure;
  auto reply = client->request({{"request", "loaded"}});
  if (!reply) return std::cerr << "kplug loaded: " << reply.error() << '\n', exit_failure;
  const auto& loaded = reply->at("loaded");
  if (o.json) {
    std::cout << loaded.dump() << '\n';
    return exit_ok;
  }
  if (loaded.empty()) {
    std::cout << "kplugd has loaded no module that is still loaded\n";
    return exit_ok;
  }
  std::cout << fmt::format("{:<24} {:>9}  {:<18} {}\n", "MODULE", "LOAD TIME", "ON REMOVAL", "FOR DEVICES");
  for (const auto& [module, e] : loaded.items()) {
    std::string removal = e.at("unload_on_remove").get<bool>()
                              ? fmt::format("unload after {:.1f} s", e.at("unload_grace_ms").get<double>() / 1000.0)
                              : "stay";
    std::string devices;
    for (const auto& d : e.at("devices")) devices += (devices.empty() ? "" : " ") + d.get<std::string>();
    std::cout << fmt::format("{:<24} {:>6.1f} ms  {:<18} {}\n", module, e.at("load_time_ms").get<double>(), removal,
                             devices.empty() ? "(none left)" : devices);
  }
  return exit_ok;
}

}  // namespace

VerbRun setup_loaded(CLI::App& command) {
  auto o = std::make_shared<LoadedOptions>();
  command.add_option("--socket", o->socket, "kplugd's control socket")->capture_default_str();
  command.add_flag("--json", o->json, "print the ledger as JSON");
  return [o] { return run_loaded(*o); };
}

}  // namespace kplug::cli
