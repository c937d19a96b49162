// `kplug insmod FILE [PARAM=VALUE...]`: insert one module file, like insmod (no
// dependencies are loaded), with errors that name the cause and the way out.
#include <iostream>
#include <memory>

#include "cli/verbs.hpp"
#include "kmod/module_admin.hpp"

namespace kplug::cli {

namespace {

struct InsmodOptions {
  std::string file;
  std::vector<std::string> parameters;
};

// The kernel's parameter syntax: NAME=VALUE separated by spaces, values with spaces quoted.
std::string kernel_options(const std::vector<std::string>& parameters) {
  std::string out;
  for (const auto& p : parameters) {
    std::size_t eq = p.find('=');
    bool quote = eq != std::string::npos && p.find(' ', eq) != std::string::npos;
    out += (out.empty() ? "" : " ") + (quote ? p.substr(0, eq + 1) + '"' + p.substr(eq + 1) + '"' : p);
  }
  return out;
}

int run_insmod(const InsmodOptions& o) {
  for (const auto& p : o.parameters)
    if (p.empty() || p.front() == '=' || p.find('"') != std::string::npos) {
      std::cerr << "kplug insmod: error: '" << p << "' is not a PARAM=VALUE parameter\n";
      return exit_usage;
    }
  auto ctx = KmodContext::open({"", {}, false});
  if (!ctx) return std::cerr << "kplug insmod: error: " << ctx.error() << '\n', exit_failure;
  std::string options = kernel_options(o.parameters);
  auto name = insert_module_file(**ctx, o.file, options);
  if (!name) return std::cerr << "kplug insmod: error: " << name.error() << '\n', exit_failure;
  std::cout << "inserted " << *name << (options.empty() ? "" : " with " + options) << '\n';
  return exit_ok;
}

}  // namespace

VerbRun setup_insmod(CLI::App& command) {
  auto o = std::make_shared<InsmodOptions>();
  command.footer(
      "Inserts exactly this file: modules it depends on must be loaded first (modprobe and\n"
      "kplugd load dependencies; insmod does not). Parameters are passed to the kernel as\n"
      "given and show up in /sys/module/NAME/parameters/. Needs root.\n\n"
      "Example:\n"
      "  sudo kplug insmod kmods/insmod/hello.ko name=Ada count=3");
  command.add_option("FILE", o->file, "the module file (.ko)")->required();
  command.add_option("PARAM=VALUE", o->parameters, "module parameters, e.g. name=Ada count=3");
  return [o] { return run_insmod(*o); };
}

}  // namespace kplug::cli
