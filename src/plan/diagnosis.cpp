#include "plan/diagnosis.hpp"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <map>
#include <optional>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kplug {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string usb_class(const std::string& hex) {
  static const std::map<std::string, std::string> names = {
      {"01", "audio"},          {"02", "communications"}, {"03", "HID"},         {"06", "image"},
      {"07", "printer"},        {"08", "mass storage"},   {"09", "hub"},         {"0a", "CDC data"},
      {"0b", "smart card"},     {"0e", "video"},          {"e0", "wireless"},    {"ef", "miscellaneous"},
      {"fe", "application specific"}, {"ff", "vendor specific"}};
  auto it = names.find(lower(hex));
  return it == names.end() ? "" : " (" + it->second + ")";
}

std::string pci_class(const std::string& hex) {
  static const std::map<std::string, std::string> names = {
      {"01", "storage"},  {"02", "network"}, {"03", "display"},    {"04", "multimedia"}, {"06", "bridge"},
      {"07", "communication"}, {"08", "system peripheral"}, {"0c", "serial bus"}, {"0d", "wireless"}};
  auto it = names.find(lower(hex));
  return it == names.end() ? "" : " (" + it->second + ")";
}

std::string when(double unix_seconds) {
  if (unix_seconds <= 0) return "at an unknown time";
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return std::string("last at ") + buf;
}

Diagnosis not_driven(const DeviceFacts& d, std::string reason, std::string text, std::string advice) {
  Diagnosis out{d.devpath, Verdict::not_driven, std::move(reason), std::move(text), std::move(advice), {}};
  if (d.modalias) {
    std::string decoded = describe_modalias(*d.modalias);
    std::string shown = d.modalias->size() > 120 ? d.modalias->substr(0, 117) + "..." : *d.modalias;
    out.details.push_back("MODALIAS " + shown + (decoded.empty() ? "" : ": " + decoded));
  }
  return out;
}

Diagnosis driven(const DeviceFacts& d) {
  Diagnosis out{d.devpath, Verdict::driven, "", "", "", {}};
  const std::string& m = d.driver_module;
  if (m.empty()) {
    out.reason = "builtin";
    out.text = fmt::format("driver {} is built into the kernel", d.driver);
  } else if (std::find(d.kplugd_loaded_for.begin(), d.kplugd_loaded_for.end(), d.devpath) !=
             d.kplugd_loaded_for.end()) {
    out.reason = "kplugd_this";
    out.text = fmt::format("driver {} (module {}), loaded by kplugd for this device", d.driver, m);
  } else if (!d.kplugd_loaded_for.empty()) {
    out.reason = "kplugd_other";
    out.text = fmt::format("driver {} (module {}), loaded by kplugd for {}", d.driver, m, d.kplugd_loaded_for.front());
  } else if (!d.kplugd_loaded_user.empty()) {
    out.reason = "kplugd_dependency";
    out.text = fmt::format("driver {} (module {}), loaded by kplugd as a dependency of {}", d.driver,
                           m, d.kplugd_loaded_user);
  } else {
    out.reason = "other_loader";
    out.text = fmt::format("driver {} (module {}), loaded by someone else (udevd, modprobe, the initramfs)",
                           d.driver, m);
  }
  return out;
}

// A loaded module none of whose drivers is on a bus the device is on never probes it:
// floppy makes platform devices of its own, and the ACPI node PNP0700 and its pnp node
// stay unbound. nullopt when one could bind there (then its probe failed) or it is unknown.
std::optional<Diagnosis> driven_elsewhere(const DeviceFacts& d, const std::vector<const ModuleFacts*>& usable) {
  std::vector<std::string> names;
  std::set<std::string> buses;
  for (const ModuleFacts* m : usable) {
    if (!m->live && !m->builtin) continue;
    if (!m->driver_buses || d.buses.empty()) return std::nullopt;
    for (const auto& bus : *m->driver_buses)
      if (d.buses.contains(bus)) return std::nullopt;
    names.push_back(m->name);
    buses.insert(m->driver_buses->begin(), m->driver_buses->end());
  }
  if (names.empty()) return std::nullopt;
  return Diagnosis{d.devpath, Verdict::driven, "driven_elsewhere",
                   fmt::format("{} is loaded; its drivers are on {}, not on {}, so none binds to this node: the "
                               "module drives the hardware through devices of its own",
                               fmt::join(names, ", "), buses.empty() ? "no bus" : fmt::format("{}", fmt::join(buses, ", ")),
                               fmt::join(d.buses, " or ")),
                   "", {}};
}

// What stands between modules that could drive the device and a bound driver: a missing
// file, a failed load, a probe that failed; nullopt when none of them has been loaded.
std::optional<Diagnosis> present_but_not_driving(const DeviceFacts& d, const std::vector<const ModuleFacts*>& usable) {
  for (const ModuleFacts* m : usable)
    if (!m->builtin && !m->file_present)
      return not_driven(d, "file_missing",
                        fmt::format("{} is listed in the module index but its file is missing: the index is out of "
                                    "date", m->name),
                        "run 'depmod -a' (or reinstall the package that had the module)");
  // A feature module (acpi_cpufreq, a CPU's crypto) refusing with ENODEV says this
  // machine lacks the feature: for a device no driver binds to, nothing to report.
  if (!d.binds_driver) {
    std::vector<std::string> declined;
    for (const ModuleFacts* m : usable)
      for (const FailedLoad& f : d.failures)
        if (f.module == m->name && !m->live && f.error == ENODEV) declined.push_back(m->name);
    if (!declined.empty() && declined.size() == usable.size())
      return Diagnosis{d.devpath, Verdict::nothing_to_autoload, "module_declined",
                       fmt::format("{} declined it (ENODEV: this machine lacks what it drives); nothing to load",
                                   fmt::join(declined, ", ")),
                       "", {}};
  }
  for (const ModuleFacts* m : usable)
    for (const FailedLoad& f : d.failures)
      if (f.module == m->name && !m->live) {
        Diagnosis out = not_driven(
            d, "load_failed",
            fmt::format("kplugd tried to load {} and failed {} time(s), {}: {} (errno {})", f.module, f.count,
                        when(f.last_unix), f.message, f.error),
            "the kernel log says why the module's init failed (journalctl -k, dmesg)");
        out.details.insert(out.details.end(), d.kernel_log.begin(), d.kernel_log.end());
        return out;
      }
  if (!d.binds_driver) {
    std::vector<std::string> loaded;
    for (const ModuleFacts* m : usable)
      if (m->live || m->builtin) loaded.push_back(m->name);
    if (!loaded.empty())
      return Diagnosis{d.devpath, Verdict::driven, "modules_loaded",
                       fmt::format("its modules are loaded ({}); no driver binds to {} devices", fmt::join(loaded, ", "),
                                   d.subsystem),
                       "", {}};
  }
  if (auto elsewhere = driven_elsewhere(d, usable)) return elsewhere;
  for (const ModuleFacts* m : usable)
    if (m->live || m->builtin) {
      Diagnosis out = not_driven(
          d, "not_bound",
          fmt::format("{} is {} but no driver is bound to the device: its probe failed or it does not support it",
                      m->name, m->builtin ? "built in" : "loaded"),
          "the kernel log names the probe error (journalctl -k, dmesg)");
      out.details.insert(out.details.end(), d.kernel_log.begin(), d.kernel_log.end());
      return out;
    }
  return std::nullopt;
}

// Which modules are loaded, and whether one could be, is unknowable on a kernel that
// cannot load modules; advice to modprobe would be wrong there.
Diagnosis no_module_support(const DeviceFacts& d, const std::vector<const ModuleFacts*>& usable,
                            const KernelFacts& kernel) {
  std::vector<std::string> names;
  for (const ModuleFacts* m : usable) names.push_back(m->name);
  Diagnosis out = not_driven(d, "no_module_support",
                             fmt::format("cannot tell why it has no driver: {}, so {} cannot be loaded here",
                                         kernel.support_problem, fmt::join(names, ", ")),
                             "run doctor on the system that boots this kernel with module support");
  out.verdict = Verdict::unknown;
  return out;
}

}  // namespace

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::driven: return "driven";
    case Verdict::not_driven: return "not_driven";
    case Verdict::no_module: return "no_module";
    case Verdict::nothing_to_autoload: return "nothing_to_autoload";
    case Verdict::unknown: return "unknown";
  }
  return "unknown";
}

Diagnosis diagnose(const DeviceFacts& d, const KplugdFacts& kplugd, const KernelFacts& kernel) {
  if (!d.driver.empty()) return driven(d);
  if (!d.physical_driver.empty())
    return {d.devpath, Verdict::driven, "physical_node",
            fmt::format("driver {} is bound to its physical node {}", d.physical_driver, d.physical_node), "", {}};
  if (!d.modalias || d.modalias->empty())
    return {d.devpath, Verdict::nothing_to_autoload, "no_modalias", "no MODALIAS: nothing to autoload", "", {}};
  // Without the index, "no module matches" would be a guess.
  if (!kernel.index_problem.empty()) {
    Diagnosis out = not_driven(d, "no_module_index",
                               "cannot tell which module would drive it: " + kernel.index_problem,
                               "give the kernel's module directory with --modules-dir, or install the kernel's "
                               "modules and run 'depmod -a'");
    out.verdict = Verdict::unknown;
    return out;
  }
  if (d.modules.empty()) {
    Diagnosis out = not_driven(d, "no_module", fmt::format("no module of this kernel matches its MODALIAS"),
                               "install the package that has its driver (for example firmware or extra-modules "
                               "packages), or check that it needs a driver module at all");
    out.verdict = Verdict::no_module;
    return out;
  }
  if (!d.autoload_off.empty())
    return not_driven(d, "autoload_off", fmt::format("kplugd does not autoload for this device: {}", d.autoload_off),
                      "change that setting or rule, then run 'kplug reload' and 'kplug trigger'");

  // Blacklisted candidates say where; the others are what could still drive it.
  std::vector<std::string> blacklists;
  std::vector<const ModuleFacts*> usable;
  for (const ModuleFacts& m : d.modules) {
    if (!m.blacklisted_by.empty())
      blacklists.push_back(fmt::format("{} is blacklisted in modprobe.d ({})", m.name, m.blacklisted_by));
    else if (!m.rule_blacklist.empty())
      blacklists.push_back(fmt::format("{} is blacklisted by {}", m.name, m.rule_blacklist));
    else
      usable.push_back(&m);
  }
  if (usable.empty()) {
    Diagnosis out = not_driven(d, "blacklisted", fmt::format("{}", fmt::join(blacklists, "; ")),
                               "remove the blacklist entry if the device should have its driver, then run "
                               "'kplug reload' and 'kplug trigger'");
    return out;
  }
  if (!kernel.support_problem.empty()) return no_module_support(d, usable, kernel);
  if (auto why = present_but_not_driving(d, usable)) return *why;
  std::vector<std::string> names;
  for (const ModuleFacts* m : usable) names.push_back(m->name);
  if (!kplugd.running)
    return not_driven(d, "kplugd_not_running",
                      fmt::format("kplugd is not running, and nobody loaded {}", fmt::join(names, ", ")),
                      "start it (systemctl start kplugd), or load it by hand: modprobe " + names.front());
  if (kplugd.dry_run)
    return not_driven(d, "dry_run",
                      fmt::format("kplugd runs in dry-run mode: it would load {} but loads nothing",
                                  fmt::join(names, ", ")),
                      "run kplugd without --dry-run (or dry_run: false in its config)");
  return not_driven(d, "not_loaded", fmt::format("nobody has loaded {} for it yet", fmt::join(names, ", ")),
                    fmt::format("ask the kernel to announce it again: kplug trigger --subsystem {}",
                                d.subsystem.empty() ? "SUBSYSTEM" : d.subsystem));
}

std::string describe_modalias(const std::string& alias) {
  std::smatch m;
  static const std::regex usb(R"(^usb:v([0-9A-Fa-f]{4})p([0-9A-Fa-f]{4}).*dc([0-9A-Fa-f]{2}).*ic([0-9A-Fa-f]{2}))");
  static const std::regex pci(R"(^pci:v0000([0-9A-Fa-f]{4})d0000([0-9A-Fa-f]{4}).*bc([0-9A-Fa-f]{2})sc([0-9A-Fa-f]{2}))");
  static const std::regex hid(R"(^hid:b([0-9A-Fa-f]{4})g[0-9A-Fa-f]{4}v0000([0-9A-Fa-f]{4})p0000([0-9A-Fa-f]{4}))");
  if (std::regex_search(alias, m, usb)) {
    std::string cls = m[3].str() != "00" ? fmt::format("device class {}{}", lower(m[3]), usb_class(m[3]))
                                         : fmt::format("interface class {}{}", lower(m[4]), usb_class(m[4]));
    return fmt::format("USB vendor {} product {}, {}", lower(m[1]), lower(m[2]), cls);
  }
  if (std::regex_search(alias, m, pci))
    return fmt::format("PCI vendor {} device {}, class {}{}{}", lower(m[1]), lower(m[2]), lower(m[3]), lower(m[4]),
                       pci_class(m[3]));
  if (std::regex_search(alias, m, hid))
    return fmt::format("HID bus {} vendor {} product {}", lower(m[1]), lower(m[2]), lower(m[3]));
  return "";
}

}  // namespace kplug
