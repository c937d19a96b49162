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

int run_insmod(const InsmodOptions& o) {
  for (const auto& p : o.parameters)
    if (p.empty() || p.front() == '=' || p.find('"') != std::string::npos) {
      std::cerr << "kplug insmod: '" << p << "' is not a PARAM=VALUE parameter\n";
      return exit_usage;
    }
  if (auto problem = module_support_problem(); !problem.empty())
    return std::cerr << "kplug insmod: " << problem << '\n', exit_cannot;
  auto ctx = KmodContext::open({"", {}, false});
  if (!ctx) return std::cerr << "kplug insmod: " << ctx.error() << '\n', exit_cannot;
  std::string options = format_module_options(o.parameters);
  // The kernel ignores a parameter the module does not declare; say so before it does.
  if (auto info = read_module_info(**ctx, o.file); info && !info->empty())
    for (const auto& unknown : unknown_parameters(info->front(), options)) {
      std::string takes;
      for (const auto& parm : info->front().values("parm"))
        takes += (takes.empty() ? "" : ", ") + parm.substr(0, parm.find(':'));
      std::cerr << "kplug insmod: warning: " << info->front().name << " has no parameter '" << unknown
                << "' (it takes: " << (takes.empty() ? "none" : takes) << "); the kernel will ignore it\n";
    }
  auto name = insert_module_file(**ctx, o.file, options);
  if (!name) return std::cerr << "kplug insmod: " << name.error() << '\n', exit_cannot;
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
