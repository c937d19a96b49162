// `kplug loaded [--json]`: the modules kplugd loaded itself, and for which devices.
#include <algorithm>
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
  bool dry = loaded->dry_run;
  if (loaded->modules.empty()) {
    std::cout << (dry ? "kplugd runs in a dry run and would have loaded nothing that is still wanted\n"
                      : "kplugd has loaded no module that is still loaded\n");
    return exit_ok;
  }
  // In a dry run nothing was loaded: the modules it would have loaded, with no load time.
  if (dry) std::cout << "kplugd runs in a dry run: nothing was loaded; it would have loaded these\n\n";
  std::size_t width = 6;  // "MODULE"; a long name widens the column instead of breaking it
  for (const auto& entry : loaded->modules) width = std::max(width, printable(entry.first, 64).size());
  if (dry) std::cout << fmt::format("{:<{}}  {:<18} {}\n", "MODULE", width, "ON REMOVAL", "FOR DEVICES");
  else std::cout << fmt::format("{:<{}}  {:>9}  {:<18} {}\n", "MODULE", width, "LOAD TIME", "ON REMOVAL", "FOR DEVICES");
  for (const auto& [module, e] : loaded->modules) {
    std::string removal = e.unload_on_remove
                              ? fmt::format("unload after {:.1f} s", static_cast<double>(e.unload_grace_ms) / 1000.0)
                              : "stay";
    std::string devices;
    for (const auto& d : e.devices) devices += (devices.empty() ? "" : " ") + printable(d);
    if (devices.empty()) devices = "(none left)";
    if (dry) std::cout << fmt::format("{:<{}}  {:<18} {}\n", printable(module, 64), width, removal, devices);
    else
      std::cout << fmt::format("{:<{}}  {:>6.1f} ms  {:<18} {}\n", printable(module, 64), width, e.load_time_ms,
                               removal, devices);
  }
  return exit_ok;
}

}  // namespace

VerbRun setup_loaded(CLI::App& command) {
  auto o = std::make_shared<LoadedOptions>();
  command.add_option("--socket", o->socket, "kplugd's control socket")->capture_default_str()->type_name("PATH");
  command.add_flag("--json", o->json, "print the ledger as JSON");
  return [o] { return run_loaded(*o); };
}

}  // namespace kplug::cli
