// `kplug loaded [--json]`: the modules kplugd loaded itself, and for which devices.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "base/text.hpp"
#include "control/client.hpp"
#include "control/protocol.hpp"
#include "cli/verbs.hpp"

namespace kplug::cli {

namespace {

struct LoadedOptions {
  std::string socket = default_control_socket;
  bool json = false;
};

int run_loaded(const LoadedOptions& o) {
  auto client = ControlClient::connect(o.socket);
  if (!client) return std::cerr << "kplug loaded: " << client.error() << '\n', exit_cannot;
  auto reply = client->request(control::to_json(control::Request{control::RequestKind::loaded}));
  if (!reply) return std::cerr << "kplug loaded: " << reply.error() << '\n', exit_cannot;
  auto loaded = control::loaded_from_json(*reply);
  if (!loaded) return std::cerr << "kplug loaded: " << loaded.error() << '\n', exit_cannot;
  if (o.json) {
    std::cout << control::to_line(control::to_json(loaded->modules));
    return exit_ok;
  }
  if (loaded->modules.empty()) {
    std::cout << "kplugd has loaded no module that is still loaded\n";
    return exit_ok;
  }
  std::cout << fmt::format("{:<24} {:>9}  {:<18} {}\n", "MODULE", "LOAD TIME", "ON REMOVAL", "FOR DEVICES");
  for (const auto& [module, e] : loaded->modules) {
    std::string removal = e.unload_on_remove
                              ? fmt::format("unload after {:.1f} s", static_cast<double>(e.unload_grace_ms) / 1000.0)
                              : "stay";
    std::string devices;
    for (const auto& d : e.devices) devices += (devices.empty() ? "" : " ") + printable(d);
    std::cout << fmt::format("{:<24} {:>6.1f} ms  {:<18} {}\n", printable(module, 64), e.load_time_ms, removal,
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
