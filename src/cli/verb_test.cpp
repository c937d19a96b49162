// `kplug test`: one event (or a few) through the rules and the resolver, with no side effects,
// explained in plain words: which rules matched and why, which modules would load and
// why, what would happen on removal, which commands would run.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "base/file.hpp"
#include "base/text.hpp"
#include "cli/verbs.hpp"
#include "kmod/dry_run_loader.hpp"
#include "kmod/modprobe_blacklist.hpp"
#include "kmod/resolver.hpp"
#include "plan/load_plan.hpp"
#include "plan/load_report.hpp"
#include "rules/settings.hpp"
#include "rules/decision.hpp"
#include "sysfs/attributes.hpp"
#include "sysfs/enumerate.hpp"
#include "uevent/record.hpp"

namespace kplug::cli {

namespace {

struct TestOptions {
  std::string config_path, modules_dir, event_file, devpath;
  std::vector<std::string> rules;  // rule files or dirs instead of the configured dirs
  std::vector<std::string> modprobe_config;  // modprobe.d files or dirs instead of the system's
};

// `kplug test` explains each event of a short file; a longer stream is replay's work.
constexpr std::size_t max_test_events = 100;

// The events to explain: the present device, or those of the file (one KEY=VALUE event,
// or JSON lines as `kplug monitor --json` and `--record` write them).
Result<std::vector<Uevent>, std::string> read_events(const TestOptions& o) {
  if (!o.devpath.empty()) {
    auto ev = read_device(o.devpath);
    if (!ev) return unexpected(ev.error());
    // The event as the kernel sends it when the device appears: before a driver binds,
    // so without the DRIVER the sysfs uevent file lists now.
    std::erase_if(ev->properties, [](const auto& p) { return p.first == "DRIVER"; });
    return std::vector<Uevent>{std::move(*ev)};
  }
  // Bounded: kplug test explains a few events (a FIFO or /dev/zero ends here too), and a
  // file past the bound is refused before it is read.
  constexpr std::size_t max_test_bytes = 16u << 20;
  auto input = read_input(o.event_file, max_test_bytes);
  if (!input && input.error().too_large)
    return unexpected(fmt::format("{} is larger than {} MiB: kplug test explains a few events; run 'kplug replay "
                                  "{}' for a stream",
                                  o.event_file, max_test_bytes >> 20, o.event_file));
  if (!input) return unexpected(fmt::format("cannot read {}: {}", o.event_file, input.error().message));
  std::stringstream text(std::move(*input));
  auto first = text.str().find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text.str()[first] != '{') {
    auto ev = parse_record(text.str());
    if (!ev) return unexpected(fmt::format("{}: {}", o.event_file, ev.error()));
    return std::vector<Uevent>{std::move(*ev)};
  }
  std::vector<Uevent> events;
  RecordReader reader(text);
  for (;;) {
    auto next = reader.next();
    if (!next) return unexpected(fmt::format("{}: {}", o.event_file, next.error()));
    if (!*next) break;
    if (events.size() == max_test_events)
      return unexpected(fmt::format("{} has more than {} events: kplug test explains a few; run 'kplug replay {}' "
                                    "for a stream",
                                    o.event_file, max_test_events, o.event_file));
    events.push_back(std::move((*next)->event));
  }
  if (events.empty()) return unexpected(fmt::format("{} has no event", o.event_file));
  return events;
}

void explain_rules(const Decision& d, std::size_t files) {
  std::cout << fmt::format("rules: {} rule(s) from {} file(s)\n", d.trace.size(), files);
  for (const auto& t : d.trace) {
    std::cout << fmt::format("  {} {} ({}:{})\n", t.matched ? "MATCH   " : "no match", t.rule->name, t.rule->file,
                             t.rule->line);
    for (const auto& reason : t.reasons) std::cout << "      " << reason << '\n';
    if (t.matched && t.rule->stop) std::cout << "      stop: no later rule applies\n";
  }
}

// One event through the rules, the resolver and the planner, explained.
void explain(const TestOptions& o, const Settings& settings, const Uevent& event, DryRunLoader& checker,
             KmodResolver* resolver) {
  const DaemonOptions& options = settings.options;
  Decision d = decide(settings.rules, options, event,
                      [&](const std::string& devpath, const std::string& name) {
                        return o.devpath.empty() ? std::nullopt : read_attribute(devpath, name);
                      });

  std::cout << "event: " << describe_event(event) << '\n';
  for (const auto& [k, v] : event.properties) std::cout << "  " << printable(k, 256) << '=' << printable(v) << '\n';
  explain_rules(d, settings.rules.files.size());
  if (d.ignore) {
    std::cout << "result: the event is ignored; nothing loads, nothing runs\n";
    return;
  }

  std::cout << fmt::format("autoload: {} ({})\n", d.autoload ? "yes" : "no", d.reason);
  if (d.autoload || !d.load.empty())
    std::cout << fmt::format("priority: {} ({})\n", to_string(d.priority), printable(d.priority_why));
  // The same planner as kplugd's: what is listed here is what kplugd would hand its loaders.
  std::optional<std::vector<std::string>> resolved;
  if (d.autoload && resolver) {
    auto modules = resolver->resolve(d.modalias);
    if (modules) resolved = std::move(*modules);
    else std::cout << fmt::format("  cannot resolve MODALIAS {}: {}\n", printable(d.modalias), printable(modules.error()));
  }
  LoadPlan plan = plan_loads(event, d, resolved);
  std::cout << "modules:\n";
  std::vector<std::string> listed;
  for (const auto& load : plan.loads) {
    listed.push_back(load.job.module);
    LoadResult r = checker.load(load.job);
    // Which modprobe.d line stopped it: libkmod applies the blacklist but cannot say.
    std::string where = r.status == LoadStatus::blacklisted
                            ? find_blacklist(load.job.module, options.modprobe_config)
                            : std::string();
    std::cout << fmt::format("  {}{}: {}{}\n", describe_outcome(load.job.module, r),
                             where.empty() ? "" : fmt::format(" ({})", where), printable(load.why),
                             load.job.options.empty() ? "" : fmt::format(", with options \"{}\"", load.job.options));
  }
  if (plan.no_module) std::cout << fmt::format("  no module matches MODALIAS {}\n", printable(d.modalias));
  for (const auto& skipped : plan.skipped)
    std::cout << fmt::format("  {} is {}: {}\n", skipped.module, skipped.why, printable(skipped.source));
  if (listed.empty()) std::cout << "  none\n";
  else if (d.unload_on_remove)
    std::cout << fmt::format("on removal: {} would be unloaded {:.1f} s after the device goes, if kplugd loaded "
                             "it and nothing uses it\n",
                             fmt::join(listed, ", "), static_cast<double>(d.unload_grace.count()) / 1000.0);
  else std::cout << "on removal: nothing is unloaded (unload on removal is off for this device)\n";
  std::cout << "commands:" << (d.run.empty() ? " none\n" : "\n");
  for (const auto& [rule, argv] : d.run) {
    std::string shown;
    for (const auto& a : argv) shown += (shown.empty() ? "" : " ") + fmt::format("'{}'", printable(a));
    std::cout << fmt::format("  rule '{}' would run: {}\n", rule, shown);
  }
  for (const auto& [rule, text] : d.logs) std::cout << fmt::format("log: rule '{}': {}\n", rule, text);
}


int run_test(const TestOptions& o) {
  if (o.event_file.empty() == o.devpath.empty()) {
    std::cerr << "kplug test: give exactly one of --event FILE or --devpath /devices/...\n";
    return exit_usage;
  }
  auto events = read_events(o);
  if (!events) {
    std::cerr << "kplug test: " << events.error() << '\n';
    return exit_cannot;
  }
  Overrides overrides;
  if (!o.config_path.empty()) overrides.config_path = o.config_path;
  if (!o.modules_dir.empty()) overrides.modules_dir = o.modules_dir;
  overrides.rule_paths = o.rules;
  overrides.modprobe_config = o.modprobe_config;
  auto settings = load_settings(overrides);
  if (!settings) {
    for (const auto& d : settings.error()) std::cerr << d.to_string() << '\n';
    return exit_cannot;
  }
  const DaemonOptions& options = settings->options;
  auto ctx = KmodContext::open({options.modules_dir, options.modprobe_config});
  if (!ctx) {
    std::cerr << "kplug test: " << ctx.error() << '\n';
    return exit_cannot;
  }
  DryRunLoader checker(std::move(*ctx));
  std::optional<KmodResolver> resolver;
  if (auto resolver_ctx = KmodContext::open({options.modules_dir, options.modprobe_config}))
    resolver.emplace(std::move(*resolver_ctx));
  for (std::size_t i = 0; i < events->size(); ++i) {
    if (events->size() > 1) std::cout << fmt::format("{}=== event {} of {}\n", i ? "\n" : "", i + 1, events->size());
    explain(o, *settings, (*events)[i], checker, resolver ? &*resolver : nullptr);
  }
  return exit_ok;
}

}  // namespace

VerbRun setup_test(CLI::App& command) {
  auto o = std::make_shared<TestOptions>();
  add_config_option(command, o->config_path);
  add_modules_dir_option(command, o->modules_dir);
  command.add_option("--rules", o->rules, "rule files or directories to use instead of the configured rules dirs")
      ->allow_extra_args(false);
  command.add_option("--event", o->event_file,
                     "recorded events: KEY=VALUE lines (one event), or JSON lines of 'kplug monitor --json' or "
                     "--record (each explained; a long stream is for 'kplug replay'); - reads standard input");
  command.add_option("--devpath", o->devpath, "a present device (/devices/..., /sys/..., /dev/NODE or a name like sda), read from /sys as its add event: without DRIVER, which binds after it");
  command.add_option("--modprobe-config", o->modprobe_config,
                     "modprobe.d file or directory to use instead of the system's (repeatable): its blacklist "
                     "and options")
      ->allow_extra_args(false);
  command.footer("Nothing is loaded, unloaded or run. Example:\n"
                 "  printf 'ACTION=add\\nDEVPATH=/devices/x/1-1:1.0\\nSUBSYSTEM=usb\\n"
                 "MODALIAS=usb:v08E6p4433d0000dc00dsc00dp00ic0Bisc00ip00in00\\n' > ev\n"
                 "  kplug test --rules rules/ --event ev\n"
                 "  kplug monitor --json --count 1 | kplug test --event -");
  return [o] { return run_test(*o); };
}

}  // namespace kplug::cli
