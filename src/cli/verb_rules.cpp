// `kplug rules check [PATH...]`: every problem in the given rule files or directories
// (default: the configured rules dirs) as FILE:LINE:COLUMN: message. Exit 0 when clean.
#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/text.hpp"
#include "cli/verbs.hpp"
#include "rules/config.hpp"
#include "rules/rule_loader.hpp"

namespace kplug::cli {

namespace {

struct RulesOptions {
  std::string config_path;
  std::vector<std::string> paths;
};

int run_check(const RulesOptions& o) {
  Diagnostics diags;
  std::vector<std::string> paths = o.paths;
  if (paths.empty()) {
    auto config = load_config(o.config_path.empty() ? default_config_path : o.config_path, o.config_path.empty());
    if (!config) {
      for (const auto& d : config.error()) std::cout << d.to_string() << '\n';
      return exit_found;  // problems in the config, reported like those in rule files
    }
    paths = config->rules_dirs;
  }
  std::vector<std::string> files;
  for (const auto& p : paths) {
    if (p == "-" && !o.paths.empty()) {  // standard input, read by load_rules
      files.push_back(p);
      continue;
    }
    std::error_code ec;
    // The default dirs need not all exist; a path the user named must.
    if (o.paths.empty() && !std::filesystem::exists(p, ec)) continue;
    if (!o.paths.empty() && !std::filesystem::exists(p, ec))
      return std::cerr << "kplug rules check: " << printable(p) << " does not exist\n", exit_cannot;
    auto more = o.paths.empty() ? rule_files({p}, diags) : expand_rule_paths({p}, diags);
    files.insert(files.end(), more.begin(), more.end());
  }
  if (files.empty() && diags.empty()) {
    std::cout << "kplug rules check: no rule files to check in " << fmt::format("{}", fmt::join(paths, ", "))
              << (paths.empty() ? "(no rules dirs configured)" : "") << '\n';
    return exit_cannot;
  }
  auto rules = load_rules(files);
  if (!rules) diags.insert(diags.end(), rules.error().begin(), rules.error().end());
  for (const auto& d : diags) std::cout << d.to_string() << '\n';
  if (!diags.empty()) {
    std::cout << "kplug rules check: " << diags.size() << " problem(s) in " << files.size() << " file(s)\n";
    return exit_found;
  }
  auto warnings = rule_warnings(*rules);
  for (const auto& w : warnings) std::cout << w.to_string() << '\n';
  std::cout << "kplug rules check: " << rules->rules.size() << " rule(s) in " << files.size() << " file(s), no problems"
            << (warnings.empty() ? std::string() : ", " + std::to_string(warnings.size()) + " warning(s)") << '\n';
  return exit_ok;
}

}  // namespace

VerbRun setup_rules(CLI::App& command) {
  auto o = std::make_shared<RulesOptions>();
  command.require_subcommand(1);
  CLI::App* check = command.add_subcommand("check", "report every problem in rule files, as FILE:LINE:COLUMN: message");
  check->add_option("--config", o->config_path, "config file whose rules_dirs are checked when no PATH is given");
  check->add_option("PATH", o->paths,
                    "rule files or directories (default: the configured rules dirs); - reads one file from standard "
                    "input");
  check->footer("Exit status: 0 when every file is clean (warnings allowed), 1 when there are problems,\n"
                "3 when there is nothing to check (a PATH that does not exist, no rule files).\n"
                "Warnings name likely mistakes, such as a run argument that begins with a placeholder\n"
                "without \"--\" before it.\n"
                "Examples:\n"
                "  kplug rules check rules/ /etc/kplug/rules.d/50-local.yaml\n"
                "  kplug info sda | kplug rules check -");
  return [o] { return run_check(*o); };
}

}  // namespace kplug::cli
