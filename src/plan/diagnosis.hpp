// `kplug doctor`'s reasoning: why a device has a driver or not, from facts gathered
// elsewhere (sysfs, the module index, modprobe.d, kplugd's ledger and failure history,
// the kernel log). Pure: the facts are plain values, so every reason is unit-tested with
// a fake system; the CLI gathers the facts and prints the result.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/failed_load.hpp"

namespace kplug {

// Where a module stands for one device.
struct ModuleFacts {
  std::string name;
  bool in_index = true;       // listed in modules.alias/modules.dep
  bool file_present = true;   // its .ko file exists (false: the index is out of date)
  bool builtin = false;       // part of the kernel image
  bool live = false;          // in /proc/modules
  std::string blacklisted_by; // "" or where: "/etc/modprobe.d/x.conf:3" (modprobe.d)
  std::string rule_blacklist; // "" or where: "rule 'no-beeps' (/etc/kplug/rules.d/10.yaml:2)"
  // When loaded: the buses its drivers are on (/sys/module/NAME/drivers); nullopt unknown.
  std::optional<std::set<std::string>> driver_buses;
};

// What kplugd says about itself.
struct KplugdFacts {
  bool running = false;
  bool dry_run = false;
};

// Facts about the kernel every device's answer needs; "" when known. Without them doctor
// says which is missing and gives the devices it concerns the verdict `unknown`.
struct KernelFacts {
  std::string index_problem;    // the module index (modules.alias) could not be read, and why
  std::string support_problem;  // the running kernel cannot load modules, and how we know
};

struct DeviceFacts {
  std::string devpath;
  std::string subsystem;
  std::optional<std::string> modalias;
  std::string driver;              // the bound driver's name, "" when none
  bool binds_driver = true;        // false for class devices (input, net) and CPUs: no driver binds
  std::string driver_module;       // the module that provides DRIVER ("" when built in)
  // An ACPI node's driver binds to its physical node (PNP0400 → parport_pc on the pnp
  // device): that node's devpath and driver, when one is bound there.
  std::string physical_node, physical_driver;
  std::set<std::string> buses;     // where a driver could bind it: its subsystem, its physical nodes'
  std::vector<ModuleFacts> modules;  // what its MODALIAS (and the rules) name, in order
  std::string autoload_off;        // "" or the rule/config that turns autoload off
  std::vector<std::string> kplugd_loaded_for;  // devices kplugd loaded DRIVER_MODULE for
  std::string kplugd_loaded_user;  // else: the module kplugd loaded that pulled DRIVER_MODULE in, or ""
  std::vector<FailedLoad> failures;           // kplugd's failures for these modules
  std::vector<std::string> kernel_log;         // kernel log lines naming the device or module
};

enum class Verdict {
  driven,               // a driver is bound
  not_driven,           // a module matches it and no driver drives it: a problem to report
  no_module,            // no module of this kernel matches its MODALIAS
  nothing_to_autoload,  // no MODALIAS: nothing for a module loader to do
  unknown,              // a fact the answer needs is missing (KernelFacts): doctor cannot tell
};

// The stable name of a verdict in `kplug doctor --json`.
const char* to_string(Verdict v);

struct Diagnosis {
  std::string devpath;
  Verdict verdict = Verdict::not_driven;
  std::string reason;  // a stable code: "no_module", "blacklisted", "load_failed", ...
  std::string text;    // the reason in plain words
  std::string advice;  // what to do ("" when nothing)
  std::vector<std::string> details;  // supporting lines: kernel log, MODALIAS decoding
};

// What one device's facts mean.
Diagnosis diagnose(const DeviceFacts& device, const KplugdFacts& kplugd, const KernelFacts& kernel = {});

// "USB vendor 08e6 product 4433, interface class 0b (smart card)" from a MODALIAS that
// encodes ids (usb, pci, hid); "" for the others, whose MODALIAS is a name already
// (platform:pcspkr, acpi:PNP0501:).
std::string describe_modalias(const std::string& modalias);

}  // namespace kplug
