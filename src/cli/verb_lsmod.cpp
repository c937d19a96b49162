// `kplug lsmod`: the loaded modules like lsmod, plus a column saying which of them
// kplugd loaded and for which device (from kplugd, or its state file when it is not running).
#include <iostream>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "control/client.hpp"
#include "cli/verbs.hpp"
#include "base/file.hpp"
#include "base/text.hpp"
#include "control/protocol.hpp"
#include "kmod/module_admin.hpp"

namespace kplug::cli {

namespace {

struct LsmodOptions {
  std::string socket = default_control_socket;
  std::string state_file = "/run/kplug/state.json";
  bool json = false;
};

// kplugd's ledger, or nothing when neither the daemon nor its state file can tell.
std::optional<control::LedgerModules> read_ledger(const LsmodOptions& o, std::string& source) {
  if (auto client = ControlClient::connect(o.socket)) {
    if (auto reply = client->request(control::to_json(control::Request{control::RequestKind::loaded}))) {
      if (auto loaded = control::loaded_from_json(*reply)) {
        source = "kplugd";
        return std::move(loaded->modules);
      }
    }
  }
  if (auto text = read_regular_file(o.state_file, 16u << 20)) {
    if (auto modules = control::state_from_text(*text); modules && !modules->empty()) {
      source = o.state_file;
      return std::move(*modules);
    }
  }
  return std::nullopt;
}

// What the last column says for MODULE.
std::string kplugd_column(const std::optional<control::LedgerModules>& ledger, const std::string& module) {
  if (!ledger) return "";
  if (auto it = ledger->find(module); it != ledger->end()) {
    std::string devices;
    for (const auto& d : it->second.devices) devices += (devices.empty() ? "" : " ") + printable(d);
    return devices.empty() ? "(its devices are gone)" : devices;
  }
  for (const auto& [owner, entry] : *ledger)
    for (const auto& dep : entry.pulled_in)
      if (dep == module) return "as a dependency of " + owner;
  return "";
}

int run_lsmod(const LsmodOptions& o) {
  auto ctx = KmodContext::open({"", {}, false});
  if (!ctx) return std::cerr << "kplug lsmod: " << ctx.error() << '\n', exit_cannot;
  auto modules = list_live_modules(**ctx);
  if (!modules) return std::cerr << "kplug lsmod: " << modules.error() << '\n', exit_cannot;
  std::string source;
  auto ledger = read_ledger(o, source);
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& m : *modules)
      out.push_back({{"module", m.name},
                     {"size", m.size},
                     {"refcount", m.refcount},
                     {"used_by", m.holders},
                     {"kplugd", kplugd_column(ledger, m.name)}});
    std::cout << out.dump() << '\n';
    return exit_ok;
  }
  std::cout << fmt::format("{:<24} {:>8}  {:<28} {}\n", "Module", "Size", "Used by", "Loaded by kplugd for");
  for (const auto& m : *modules) {
    std::string used_by = std::to_string(m.refcount);
    for (std::size_t i = 0; i < m.holders.size(); ++i) used_by += (i ? "," : " ") + m.holders[i];
    std::string line = fmt::format("{:<24} {:>8}  {:<28} {}", m.name, m.size, used_by, kplugd_column(ledger, m.name));
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << '\n';
  }
  if (!ledger)
    std::cerr << "kplug lsmod: kplugd is not running and " << o.state_file
              << " records no module: the last column is empty\n";
  return exit_ok;
}

}  // namespace

VerbRun setup_lsmod(CLI::App& command) {
  auto o = std::make_shared<LsmodOptions>();
  command.footer(
      "Columns: name, size in bytes, how many users hold the module (the refcount, then the\n"
      "modules that use it), and for modules kplugd loaded itself, the devices it loaded\n"
      "them for. kplugd is asked over its control socket; when it is not running, its state\n"
      "file says what it had loaded. Works without root.");
  command.add_option("--socket", o->socket, "kplugd's control socket")->capture_default_str()->type_name("PATH");
  command.add_option("--state-file", o->state_file, "kplugd's state file, read when it is not running")
      ->capture_default_str();
  command.add_flag("--json", o->json, "print a JSON array: module, size, refcount, used_by, kplugd");
  return [o] { return run_lsmod(*o); };
}

}  // namespace kplug::cli
