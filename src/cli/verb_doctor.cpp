// `kplug doctor [DEVPATH...] [--json]`: why a device has no driver. Gathers the facts —
// sysfs (the device, its bound driver and that driver's module), the rules, the module
// index and modprobe.d, kplugd's ledger and failure history, the kernel log — and lets
// plan/diagnosis.cpp say what they mean. Exit 0 when every device that could have a
// driver (a module matches it) has one, 1 when one has none, 3 when a fact is missing.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "base/text.hpp"
#include "cli/verbs.hpp"
#include "control/protocol.hpp"
#include "kmod/modprobe_blacklist.hpp"
#include "kmod/module_admin.hpp"
#include "kmod/resolver.hpp"
#include "plan/diagnosis.hpp"
#include "plan/load_plan.hpp"
#include "rules/decision.hpp"
#include "rules/settings.hpp"
#include "sysfs/attributes.hpp"
#include "sysfs/driver_buses.hpp"
#include "sysfs/enumerate.hpp"
#include "sysfs/kernel_log.hpp"
#include "sysfs/system_view.hpp"

namespace kplug::cli {

namespace {

namespace fs = std::filesystem;

struct DoctorOptions {
  std::vector<std::string> devpaths;
  bool json = false;
  std::string config_path, modules_dir, socket = default_control_socket;
};

// What kplugd says about itself: running or not, its ledger and failed loads.
struct KplugdView {
  KplugdFacts facts;
  control::LedgerModules ledger;
  std::vector<FailedLoad> failures;
  std::string problem;  // why it could not be asked
};

KplugdView ask_kplugd(const std::string& socket) {
  KplugdView view;
  auto client = ControlClient::connect(socket);
  if (!client) {
    view.problem = client.error();
    return view;
  }
  auto status = client->request(control::to_json(control::Request{control::RequestKind::status}));
  auto decoded = status ? control::status_from_json(*status) : unexpected(status.error());
  if (!decoded) {
    view.problem = decoded.error();
    return view;
  }
  view.facts = {true, decoded->dry_run};
  view.failures = decoded->failed_loads;
  auto loaded = client->request(control::to_json(control::Request{control::RequestKind::loaded}));
  if (loaded)
    if (auto ledger = control::loaded_from_json(*loaded)) view.ledger = ledger->modules;
  return view;
}

std::string link_name(const fs::path& link) {
  std::error_code ec;
  fs::path target = fs::read_symlink(link, ec);
  return ec ? "" : target.filename().string();
}

// Only devices on a bus (/sys/bus/X) bind a driver. Class devices (input, net, sound...)
// are served by modules that never appear as their `driver` (evdev for input), and CPUs
// by feature modules (aesni_intel): for those, the matching modules being loaded is all.
bool binds_driver(const fs::path& sys, const std::string& subsystem) {
  if (subsystem == "cpu") return false;
  std::error_code ec;
  fs::path target = fs::read_symlink(sys / "subsystem", ec);
  if (ec) return true;
  return target.parent_path().filename() == "bus";
}

// An ACPI node's driver binds to its physical node: that node and its driver into D.
bool find_physical_driver(const fs::path& sys, DeviceFacts& d) {
  for (const char* link : {"physical_node", "physical_node1", "physical_node2"}) {
    std::error_code ec;
    fs::path node = fs::canonical(sys / link, ec);
    if (ec) continue;
    if (std::string driver = link_name(node / "driver"); !driver.empty()) {
      d.physical_node = node.string().substr(4);  // without /sys
      d.physical_driver = driver;
      return true;
    }
  }
  return false;
}

std::string where(const Rule& rule) { return fmt::format("rule '{}' ({}:{})", rule.name, rule.file, rule.line); }

// Which config key or rule (file and line) turns autoload off for the event; "" when on.
std::string autoload_off(const Decision& decision, const DaemonOptions& options) {
  const Rule* last = nullptr;  // the last matching rule that set what decided
  for (const RuleTrace& t : decision.trace)
    if (t.matched && (decision.ignore ? t.rule->ignore.value_or(false) : t.rule->autoload.has_value())) last = t.rule;
  if (decision.ignore) return last ? where(*last) + " ignores its events" : "a rule ignores its events";
  if (decision.autoload) return "";
  if (last) return fmt::format("{} sets autoload: false", where(*last));
  if (!options.autoload) return fmt::format("autoload: false in {}", options.config_path);
  return decision.reason;
}

// The matching rules that blacklist MODULE, with their files and lines.
std::string rule_blacklisting(const Decision& decision, const std::string& module) {
  std::vector<std::string> rules;
  for (const RuleTrace& t : decision.trace)
    if (t.matched && std::find(t.rule->blacklist.begin(), t.rule->blacklist.end(), module) != t.rule->blacklist.end())
      rules.push_back(where(*t.rule));
  return rules.empty() ? "a rule" : fmt::format("{}", fmt::join(rules, ", "));
}

struct Gatherer {
  const Settings& settings;
  std::unique_ptr<KmodContext> ctx;       // for module_standing
  std::unique_ptr<KmodResolver> resolver;
  const KplugdView& kplugd;
  std::vector<std::string> kernel_log;

  // The module kplugd loaded whose load inserted `module` as a dependency (its ledger's
  // pulled_in: usbcore for xhci_pci); "" when none.
  std::string ledger_user(const std::string& module) const {
    for (const auto& [name, entry] : kplugd.ledger)
      if (std::find(entry.pulled_in.begin(), entry.pulled_in.end(), module) != entry.pulled_in.end()) return name;
    return "";
  }

  DeviceFacts facts(const Uevent& ev) {
    DeviceFacts d;
    d.devpath = ev.devpath;
    d.subsystem = ev.subsystem;
    if (auto m = ev.get("MODALIAS"); m && !m->empty()) d.modalias = std::string(*m);
    fs::path sys = fs::path("/sys") / ev.devpath.substr(1);
    d.binds_driver = binds_driver(sys, ev.subsystem);
    d.driver = link_name(sys / "driver");
    if (d.driver.empty() && ev.subsystem == "acpi" && find_physical_driver(sys, d)) return d;
    if (!d.driver.empty()) {
      d.driver_module = link_name(sys / "driver" / "module");
      if (auto it = kplugd.ledger.find(d.driver_module); it != kplugd.ledger.end())
        d.kplugd_loaded_for = it->second.devices;
      else if (!d.driver_module.empty())
        d.kplugd_loaded_user = ledger_user(d.driver_module);
      return d;  // driven: who loaded it is all there is to say
    }
    if (!d.modalias) return d;
    d.buses = device_buses("/sys", ev.devpath, ev.subsystem);
    const DaemonOptions& options = settings.options;
    Decision decision = decide(settings.rules, options, ev, [](const std::string& devpath, const std::string& name) {
      return read_attribute(devpath, name);
    });
    std::optional<std::vector<std::string>> resolved;
    if (resolver)
      if (auto r = resolver->resolve(*d.modalias)) resolved = *r;
    d.autoload_off = autoload_off(decision, options);
    Decision planning = decision;
    planning.autoload = true;  // what would load if autoload were on
    planning.modalias = *d.modalias;
    LoadPlan plan = plan_loads(ev, planning, resolved);
    auto add = [&](const std::string& name, bool apply_blacklist, const std::string& rule_blacklist) {
      ModuleFacts m;
      m.name = name;
      if (ctx) {
        ModuleStanding s = module_standing(*ctx, name);
        m.in_index = s.in_index;
        m.builtin = s.builtin;
        m.live = s.live;
        m.file_present = s.file_present || s.builtin || !s.in_index;
        if (m.live || m.builtin) m.driver_buses = module_driver_buses("/sys", name);
      }
      if (apply_blacklist) m.blacklisted_by = find_blacklist(name, options.modprobe_config);
      m.rule_blacklist = rule_blacklist;
      d.modules.push_back(m);
    };
    for (const auto& load : plan.loads) add(load.job.module, load.job.apply_blacklist, "");
    for (const auto& skipped : plan.skipped) add(skipped.module, true, rule_blacklisting(decision, skipped.module));
    for (const auto& f : kplugd.failures)
      for (const auto& m : d.modules)
        if (f.module == m.name) d.failures.push_back(f);
    // The kernel's lines about this device (by its kernel name) or its modules.
    std::string name = fs::path(ev.devpath).filename();
    for (const auto& line : kernel_log) {
      bool about = line.find(name) != std::string::npos;
      for (const auto& m : d.modules) about = about || line.find(m.name) != std::string::npos;
      if (about) d.kernel_log.push_back(printable(line));
    }
    if (d.kernel_log.size() > 5) d.kernel_log.erase(d.kernel_log.begin(), d.kernel_log.end() - 5);
    return d;
  }
};

// What one run of `kplug doctor` found; the counts are exactly the devices' verdicts.
struct DoctorRun {
  KplugdView kplugd;
  KernelFacts kernel;
  std::string log_problem;  // why the kernel log was not read (empty: it was)
  std::vector<std::pair<DeviceFacts, Diagnosis>> results;
  std::map<Verdict, std::size_t> counts;
  std::size_t count(Verdict v) const {
    auto it = counts.find(v);
    return it == counts.end() ? 0 : it->second;
  }
};

// A device a module matches and no driver drives: what makes doctor exit 1.
bool failing(const Diagnosis& d) { return d.verdict == Verdict::not_driven; }

// The facts about the kernel that every answer needs, each "" when known.
KernelFacts kernel_facts(const std::string& index_problem) {
  KernelFacts k;
  k.index_problem = index_problem;
  std::error_code ec;
  if (!fs::exists("/proc/modules", ec))
    k.support_problem = "this kernel has no loadable-module support (/proc/modules does not exist)";
  return k;
}

// The devices to look at: DEVPATHS, or every present device.
Result<std::vector<Uevent>, std::string> doctor_devices(const std::vector<std::string>& devpaths) {
  std::vector<Uevent> devices;
  if (devpaths.empty()) {
    auto walked = make_sysfs_view()->walk_devices([](const Uevent&) { return true; },
                                                  [&](Uevent&& ev) { devices.push_back(std::move(ev)); });
    if (!walked) return unexpected("cannot walk /sys/devices: " + walked.error());
    return devices;
  }
  for (const auto& path : devpaths) {
    auto ev = read_device(path);
    if (!ev) return unexpected(ev.error());
    devices.push_back(std::move(*ev));
  }
  return devices;
}

void print_doctor_json(const DoctorRun& run) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [facts, d] : run.results) {
    nlohmann::json modules = nlohmann::json::array();
    for (const auto& m : facts.modules)
      modules.push_back({{"name", m.name}, {"builtin", m.builtin}, {"live", m.live}, {"file_present", m.file_present},
                         {"blacklisted_by", m.blacklisted_by}, {"rule_blacklist", m.rule_blacklist}});
    list.push_back({{"devpath", d.devpath}, {"subsystem", facts.subsystem},
                    {"modalias", facts.modalias ? nlohmann::json(*facts.modalias) : nlohmann::json(nullptr)},
                    {"verdict", to_string(d.verdict)}, {"reason", d.reason}, {"text", d.text},
                    {"advice", d.advice}, {"details", d.details}, {"driver", facts.driver},
                    {"driver_module", facts.driver_module}, {"modules", modules}});
  }
  const auto& k = run.kplugd;
  nlohmann::json summary = {{"devices", run.results.size()}};
  for (Verdict v : {Verdict::driven, Verdict::not_driven, Verdict::no_module, Verdict::nothing_to_autoload,
                    Verdict::unknown})
    summary[to_string(v)] = run.count(v);
  nlohmann::json missing = nlohmann::json::object();
  if (!run.kernel.index_problem.empty()) missing["module_index"] = run.kernel.index_problem;
  if (!run.kernel.support_problem.empty()) missing["module_support"] = run.kernel.support_problem;
  nlohmann::json out = {
      {"kplugd", {{"running", k.facts.running}, {"dry_run", k.facts.dry_run}, {"problem", k.problem}}},
      {"missing_facts", missing},
      {"summary", summary},
      {"kernel_log", run.log_problem.empty() ? "read" : run.log_problem},
      {"devices", list}};
  std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

// full: the reason, its details and what to do; brief: one line a device.
enum class Style { full, brief };

// The devices WANTED picks, under TITLE (nothing when none); true when there were some.
template <typename Wanted>
bool print_section(const DoctorRun& run, const char* title, Wanted wanted, Style style) {
  bool first = true;
  for (const auto& [facts, d] : run.results) {
    if (!wanted(d)) continue;
    if (first) std::cout << '\n' << title << '\n';
    first = false;
    std::cout << fmt::format("  {} ({})", printable(d.devpath), facts.subsystem);
    if (style == Style::brief) {
      // driven: its driver; no module: what the MODALIAS encodes, or the MODALIAS itself.
      std::string what = d.verdict == Verdict::driven || d.details.empty() ? d.text : d.details.front();
      std::cout << ": " << printable(what) << '\n';
      continue;
    }
    std::cout << "\n    " << printable(d.text) << '\n';
    for (const auto& line : d.details) std::cout << "    | " << printable(line) << '\n';
    if (!d.advice.empty()) std::cout << "    what to do: " << d.advice << '\n';
  }
  return !first;
}

void print_doctor_text(const DoctorRun& run) {
  const auto& k = run.kplugd;
  std::cout << fmt::format("kplugd: {}\n", !k.facts.running ? "not running (" + k.problem + ")"
                                           : k.facts.dry_run ? "running, in dry-run mode"
                                                             : "running");
  if (!run.log_problem.empty()) std::cout << "kernel log: " << run.log_problem << " (probe errors left out)\n";
  if (!run.kernel.index_problem.empty()) std::cout << "module index: " << printable(run.kernel.index_problem) << '\n';
  if (!run.kernel.support_problem.empty()) std::cout << "module support: " << run.kernel.support_problem << '\n';
  if (print_section(run, "CANNOT TELL (a fact the answer needs is missing, said above):",
                    [](const Diagnosis& d) { return d.verdict == Verdict::unknown; }, Style::brief))
    std::cout << "  what to do: " << (run.kernel.index_problem.empty()
                                          ? "run doctor on a kernel with loadable-module support"
                                          : "give the kernel's module directory with --modules-dir, or install the "
                                            "kernel's modules and run 'depmod -a'")
              << '\n';
  print_section(run, "NOT DRIVEN (a module matches, no driver is bound):", failing, Style::full);
  if (print_section(run, "NO MODULE MATCHES (no driver module for it in this kernel; many such devices need none):",
                    [](const Diagnosis& d) { return d.verdict == Verdict::no_module; }, Style::brief))
    std::cout << "  what to do: if one of these should have a driver, install the package that has it (firmware or "
                 "extra-modules packages)\n";
  print_section(run, "DRIVEN:", [](const Diagnosis& d) { return d.verdict == Verdict::driven; }, Style::brief);
  std::cout << fmt::format("\n{} device(s): {} driven, {} not driven, {} with no matching module, {} with no "
                           "MODALIAS (nothing to autoload)",
                           run.results.size(), run.count(Verdict::driven), run.count(Verdict::not_driven),
                           run.count(Verdict::no_module), run.count(Verdict::nothing_to_autoload));
  if (run.count(Verdict::unknown)) std::cout << fmt::format(", {} that cannot be told", run.count(Verdict::unknown));
  std::cout << '\n';
}

int run_doctor(const DoctorOptions& o) {
  Overrides overrides;
  if (!o.config_path.empty()) overrides.config_path = o.config_path;
  if (!o.modules_dir.empty()) overrides.modules_dir = o.modules_dir;
  auto settings = load_settings(overrides);
  if (!settings) {
    for (const auto& d : settings.error()) std::cerr << d.to_string() << '\n';
    return exit_cannot;
  }
  const DaemonOptions& options = settings->options;
  DoctorRun run;
  run.kplugd = ask_kplugd(o.socket);

  Gatherer g{*settings, nullptr, nullptr, run.kplugd, {}};
  KmodOptions kmod_options{options.modules_dir, options.modprobe_config};
  kmod_options.quiet = true;  // a missing module file is a finding here, reported as such
  std::string index_problem;
  if (auto ctx = KmodContext::open(kmod_options)) g.ctx = std::move(*ctx);
  else index_problem = ctx.error();
  if (auto ctx = KmodContext::open(kmod_options))
    g.resolver = std::make_unique<KmodResolver>(std::move(*ctx));
  run.kernel = kernel_facts(index_problem);
  if (auto log = read_kernel_log()) g.kernel_log = std::move(*log);
  else run.log_problem = log.error();

  auto devices = doctor_devices(o.devpaths);
  if (!devices) return std::cerr << "kplug doctor: " << devices.error() << '\n', exit_cannot;
  for (const auto& ev : *devices) {
    DeviceFacts facts = g.facts(ev);
    Diagnosis d = diagnose(facts, run.kplugd.facts, run.kernel);
    ++run.counts[d.verdict];
    run.results.emplace_back(std::move(facts), std::move(d));
  }
  if (o.json) print_doctor_json(run);
  else print_doctor_text(run);
  // An answer with unknowns is no answer: "could not" before "found".
  if (run.count(Verdict::unknown)) {
    const KernelFacts& k = run.kernel;
    std::cerr << fmt::format("kplug doctor: cannot tell for {} device(s): {}\n", run.count(Verdict::unknown),
                             printable(k.index_problem.empty() ? k.support_problem : k.index_problem));
    return exit_cannot;
  }
  return run.count(Verdict::not_driven) ? exit_found : exit_ok;
}

}  // namespace

VerbRun setup_doctor(CLI::App& command) {
  auto o = std::make_shared<DoctorOptions>();
  command.add_option("devpath", o->devpaths, "devices to look at (/devices/..., /sys/..., /dev/NODE or a name like sda; default: all)");
  command.add_flag("--json", o->json, "the same facts as JSON, for scripts");
  add_config_option(command, o->config_path);
  add_modules_dir_option(command, o->modules_dir);
  command.add_option("--socket", o->socket, "kplugd's control socket")->capture_default_str()->type_name("PATH");
  command.footer(
      "For each device: driven (its driver, and who loaded the module: kplugd for it, kplugd\n"
      "for another device, someone else, built in) or not, with the reason in plain words\n"
      "and what to do: no module matches; blacklisted (modprobe.d file:line or kplug rule);\n"
      "module file missing (run depmod); loaded but not bound (the kernel's lines); kplugd's\n"
      "failed loads (errno, count, when); kplugd stopped, in a dry run, or autoload off.\n"
      "Without a fact the answer needs (the module index, module support in the kernel) the\n"
      "devices it concerns are 'cannot tell' (JSON verdict unknown), never a finding.\n"
      "Exit status: 0 when every device a module matches has a driver, 1 when one has none,\n"
      "3 when a fact is missing (the answer is unknown) or the devices cannot be read.");
  return [o] { return run_doctor(*o); };
}

}  // namespace kplug::cli
