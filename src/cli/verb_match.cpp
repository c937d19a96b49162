// `kplug match`: MODALIAS → module names, one line per key, exactly the set `modprobe -R`
// prints for the same tree. Results on stdout, diagnostics on stderr.
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/verbs.hpp"
#include "kmod/resolver.hpp"

namespace kplug::cli {

namespace {

struct MatchOptions {
  std::string modules_dir;
  std::vector<std::string> modprobe_config;
  std::vector<std::string> keys;
  bool batch = false;
};

// What one key came to, worst last: the exit status is the worst of them.
enum class Matched { some, none, error };

Matched print_match(KmodResolver& resolver, const std::string& key) {
  auto names = resolver.resolve(key);
  if (!names) {
    std::cerr << "kplug match: " << names.error() << '\n';
    return Matched::error;
  }
  std::string line = key + '\t';
  for (std::size_t i = 0; i < names->size(); ++i) line += (i ? " " : "") + (*names)[i];
  line += '\n';
  std::cout << line;
  return names->empty() ? Matched::none : Matched::some;
}

int run_match(const MatchOptions& o) {
  if (o.batch == !o.keys.empty()) {
    std::cerr << "kplug match: give MODALIAS arguments or --batch (one per line on stdin), not both\n";
    return exit_usage;
  }
  auto ctx = KmodContext::open({o.modules_dir, o.modprobe_config});
  if (!ctx) {
    std::cerr << "kplug match: " << ctx.error() << '\n';
    return exit_cannot;
  }
  KmodResolver resolver(std::move(*ctx));
  Matched worst = Matched::some;
  auto take = [&](const std::string& key) { worst = std::max(worst, print_match(resolver, key)); };
  if (o.batch) {
    std::string line;
    while (std::getline(std::cin, line))
      if (!line.empty()) take(line);
  } else {
    for (const auto& key : o.keys) take(key);
  }
  std::cout.flush();
  return worst == Matched::error ? exit_cannot : worst == Matched::none ? exit_found : exit_ok;
}

}  // namespace

VerbRun setup_match(CLI::App& command) {
  auto o = std::make_shared<MatchOptions>();
  command.footer(
      "Output: one line per MODALIAS: the MODALIAS, a TAB, then the module names separated by\n"
      "spaces (nothing after the TAB when no module matches). Builtin modules are listed too.\n"
      "The set equals what 'modprobe -d ROOT -S VERSION -R MODALIAS' prints. Only the index\n"
      "files (modules.*.bin) are read, so a tree without .ko files works.\n"
      "Exit status: 0 when every MODALIAS matches a module, 1 when one matches none (like\n"
      "modprobe -R), 3 when the module index cannot be read.\n\n"
      "Example:\n"
      "  kplug match 'usb:v08E6p4433d0100dc00dsc00dp00ic0Bisc00ip00in00'\n"
      "  find /sys/devices -name modalias -exec cat {} + | kplug match --batch");
  add_modules_dir_option(command, o->modules_dir);
  command.add_option("--modprobe-config", o->modprobe_config,
                     "modprobe.d file or directory to use instead of the system's (repeatable)")
      ->allow_extra_args(false);
  command.add_flag("--batch", o->batch, "read MODALIAS strings from stdin, one per line");
  command.add_option("MODALIAS", o->keys, "modalias strings (or any alias or module name) to resolve");
  return [o] { return run_match(*o); };
}

}  // namespace kplug::cli
