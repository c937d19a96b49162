// `kplug rmmod NAME...`: remove loaded modules, like rmmod, refusing with the reason
// (its holders by name, or its refcount) while anything uses one.
#include <iostream>
#include <memory>

#include "cli/verbs.hpp"
#include "kmod/module_admin.hpp"

namespace kplug::cli {

namespace {

int run_rmmod(const std::vector<std::string>& names) {
  auto ctx = KmodContext::open({"", {}, false});
  if (!ctx) return std::cerr << "kplug rmmod: " << ctx.error() << '\n', exit_cannot;
  int rc = exit_ok;
  for (const auto& name : names) {
    if (auto removed = remove_live_module(**ctx, name)) {
      std::cout << "removed " << *removed << '\n';
    } else {
      std::cerr << "kplug rmmod: " << removed.error() << '\n';
      rc = exit_cannot;
    }
  }
  return rc;
}

}  // namespace

VerbRun setup_rmmod(CLI::App& command) {
  auto names = std::make_shared<std::vector<std::string>>();
  command.footer(
      "Removes each module in the order given. A module is refused while another module\n"
      "uses it (its holders are named: remove them first) or while its refcount is not 0\n"
      "(an open device file, a mount, a network interface...). Modules kplugd loaded are\n"
      "unloaded by kplugd itself when their devices go; removing one by hand is fine, and\n"
      "kplugd forgets it. Needs root.\n\n"
      "Example:\n"
      "  sudo kplug rmmod greet_consumer greet_provider");
  command.add_option("MODULE", *names, "module names (a path to the .ko also names it)")->required();
  return [names] { return run_rmmod(*names); };
}

}  // namespace kplug::cli
