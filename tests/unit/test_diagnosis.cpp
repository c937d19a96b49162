// `kplug doctor`'s reasoning on plain facts: every reason a device can lack a driver, and
// who loaded the driver of one that has it.
#include <catch2/catch.hpp>

#include <cerrno>

#include "plan/diagnosis.hpp"

using namespace kplug;

namespace {

const std::string reader = "/devices/pci0000:00/0000:00:02.0/usb1/1-1/1-1:1.0";
const std::string ccid = "usb:v08E6p4433d0100dc00dsc00dp00ic0Bisc00ip00in00";

DeviceFacts undriven(std::vector<ModuleFacts> modules = {{"usb_hello"}}) {
  DeviceFacts d;
  d.devpath = reader;
  d.subsystem = "usb";
  d.modalias = ccid;
  d.modules = std::move(modules);
  return d;
}

const KplugdFacts running{true, false};

// A device no driver binds to (a CPU, an input device), served by a loaded MODULE.
DeviceFacts served_by(const std::string& module, const std::string& subsystem, const std::string& modalias) {
  ModuleFacts m;
  m.name = module;
  m.live = true;
  DeviceFacts d = undriven({m});
  d.subsystem = subsystem;
  d.modalias = modalias;
  d.binds_driver = false;
  return d;
}

}  // namespace

TEST_CASE("a device with a bound driver: who loaded its module", "[diagnosis]") {
  DeviceFacts d = undriven();
  d.driver = "usb_hello";
  d.driver_module = "usb_hello";
  d.kplugd_loaded_for = {reader};
  auto r = diagnose(d, running);
  CHECK(r.verdict == Verdict::driven);
  CHECK(r.reason == "kplugd_this");
  d.kplugd_loaded_for = {"/devices/other"};
  CHECK(diagnose(d, running).reason == "kplugd_other");
  CHECK(diagnose(d, running).text.find("/devices/other") != std::string::npos);
  d.kplugd_loaded_for.clear();
  d.kplugd_loaded_user = "xhci_pci";  // usbcore, loaded because xhci_pci needs it
  CHECK(diagnose(d, running).reason == "kplugd_dependency");
  CHECK(diagnose(d, running).text == "driver usb_hello (module usb_hello), loaded by kplugd as a dependency of xhci_pci");
  d.kplugd_loaded_user.clear();
  CHECK(diagnose(d, running).reason == "other_loader");
  d.driver_module.clear();
  CHECK(diagnose(d, running).reason == "builtin");
}

TEST_CASE("no MODALIAS: nothing to autoload, not a problem", "[diagnosis]") {
  DeviceFacts d = undriven();
  d.modalias.reset();
  auto r = diagnose(d, running);
  CHECK(r.verdict == Verdict::nothing_to_autoload);
}

TEST_CASE("no module matches: the MODALIAS is shown and decoded", "[diagnosis]") {
  auto r = diagnose(undriven({}), running);
  CHECK(r.verdict == Verdict::no_module);
  CHECK(std::string(to_string(r.verdict)) == "no_module");
  CHECK(r.reason == "no_module");
  REQUIRE(r.details.size() == 1);
  CHECK(r.details[0] == "MODALIAS " + ccid + ": USB vendor 08e6 product 4433, interface class 0b (smart card)");
}

TEST_CASE("blacklisted in modprobe.d or by a rule: which file and line", "[diagnosis]") {
  ModuleFacts m{"usb_hello"};
  m.blacklisted_by = "/etc/modprobe.d/local.conf:3";
  auto r = diagnose(undriven({m}), running);
  CHECK(r.reason == "blacklisted");
  CHECK(r.text == "usb_hello is blacklisted in modprobe.d (/etc/modprobe.d/local.conf:3)");
  m.blacklisted_by.clear();
  m.rule_blacklist = "rule 'no-hello' (/etc/kplug/rules.d/10.yaml:1)";
  CHECK(diagnose(undriven({m}), running).text == "usb_hello is blacklisted by rule 'no-hello' (/etc/kplug/rules.d/10.yaml:1)");
  // One blacklisted candidate among others: the others still count.
  ModuleFacts other{"usbhid"};
  other.live = true;
  CHECK(diagnose(undriven({m, other}), running).reason == "not_bound");
}

TEST_CASE("a module in the index whose file is gone: run depmod", "[diagnosis]") {
  ModuleFacts m{"usb_hello"};
  m.file_present = false;
  auto r = diagnose(undriven({m}), running);
  CHECK(r.reason == "file_missing");
  CHECK(r.advice.find("depmod") != std::string::npos);
}

TEST_CASE("kplugd failed to load it: errno, count and when, with the kernel's lines", "[diagnosis]") {
  DeviceFacts d = undriven({{"fail_init"}});
  d.failures = {{"fail_init", "", 19, "No such device", 2, 1764450000}};
  d.kernel_log = {"fail_init: init refuses to load"};
  auto r = diagnose(d, running);
  CHECK(r.reason == "load_failed");
  CHECK(r.text == "kplugd tried to load fail_init and failed 2 time(s), last at 2025-11-29 21:00:00 UTC: "
                  "No such device (errno 19)");
  CHECK(r.details.back() == "fail_init: init refuses to load");
}

TEST_CASE("loaded but not bound: the probe failed", "[diagnosis]") {
  ModuleFacts m{"usb_hello"};
  m.live = true;
  DeviceFacts d = undriven({m});
  d.kernel_log = {"usb_hello 1-1:1.0: probe failed with error -5"};
  auto r = diagnose(d, running);
  CHECK(r.reason == "not_bound");
  CHECK(r.details.back() == "usb_hello 1-1:1.0: probe failed with error -5");
}

TEST_CASE("loaded, but its drivers are on other buses: driven through devices of its own", "[diagnosis]") {
  // floppy on the ACPI node PNP0700, whose physical node is a pnp device: floppy's only
  // driver is a platform driver, for the floppy.N devices it makes itself.
  ModuleFacts floppy{"floppy"};
  floppy.live = true;
  floppy.driver_buses = std::set<std::string>{"platform"};
  DeviceFacts d = undriven({floppy});
  d.devpath = "/devices/LNXSYSTM:00/LNXSYBUS:00/PNP0A03:00/device:01/PNP0700:00";
  d.subsystem = "acpi";
  d.modalias = "acpi:PNP0700:";
  d.buses = {"acpi", "pnp"};
  auto r = diagnose(d, running);
  CHECK(r.verdict == Verdict::driven);
  CHECK(r.reason == "driven_elsewhere");
  CHECK(r.text == "floppy is loaded; its drivers are on platform, not on acpi or pnp, so none binds to this node: "
                  "the module drives the hardware through devices of its own");
  // A driver on one of the device's buses could have bound: its probe failed.
  ModuleFacts parport{"parport_pc"};
  parport.live = true;
  parport.driver_buses = std::set<std::string>{"platform", "pnp"};
  d.modules = {parport};
  CHECK(diagnose(d, running).reason == "not_bound");
  // Without the module's drivers read, no claim: the probe is what is reported.
  floppy.driver_buses.reset();
  d.modules = {floppy};
  CHECK(diagnose(d, running).reason == "not_bound");
  // Nor without the device's buses.
  floppy.driver_buses = std::set<std::string>{"platform"};
  d.modules = {floppy};
  d.buses.clear();
  CHECK(diagnose(d, running).reason == "not_bound");
}

TEST_CASE("autoload off, kplugd stopped or in a dry run, or simply not loaded yet", "[diagnosis]") {
  DeviceFacts d = undriven();
  d.autoload_off = "rule 'quiet' (/etc/kplug/rules.d/20.yaml:1) sets autoload: false";
  CHECK(diagnose(d, running).reason == "autoload_off");
  CHECK(diagnose(undriven(), KplugdFacts{false, false}).reason == "kplugd_not_running");
  CHECK(diagnose(undriven(), KplugdFacts{true, true}).reason == "dry_run");
  auto r = diagnose(undriven(), running);
  CHECK(r.reason == "not_loaded");
  CHECK(r.advice == "ask the kernel to announce it again: kplug trigger --subsystem usb");
}

TEST_CASE("a CPU binds no driver: its modules loaded is all there is", "[diagnosis]") {
  DeviceFacts d = served_by("aesni_intel", "cpu", "cpu:type:x86,ven0002fam001Amod0002:feature:,0000," +
                                                       std::string(400, '1'));
  auto r = diagnose(d, running);
  CHECK(r.verdict == Verdict::driven);
  CHECK(r.reason == "modules_loaded");
  d.modules[0].live = false;
  auto n = diagnose(d, running);
  CHECK(n.reason == "not_loaded");
  CHECK(n.details[0].size() < 140);  // a long MODALIAS is cut for people
}

TEST_CASE("an input device is served by evdev, which never shows as its driver", "[diagnosis]") {
  DeviceFacts d = served_by("evdev", "input", "input:b0011v0001p0001eAB41-e0,1,4,11,14,k71,72,ramlsfw");
  auto r = diagnose(d, running);
  CHECK(r.verdict == Verdict::driven);
  CHECK(r.text == "its modules are loaded (evdev); no driver binds to input devices");
  d.binds_driver = true;  // a bus device with the same facts: loaded, yet nothing bound
  CHECK(diagnose(d, running).reason == "not_bound");
}

TEST_CASE("MODALIAS decoding for the common buses", "[diagnosis]") {
  CHECK(describe_modalias("pci:v00008086d00007020sv00001AF4sd00001100bc0Csc03i00") ==
        "PCI vendor 8086 device 7020, class 0c03 (serial bus)");
  CHECK(describe_modalias("hid:b0003g0001v00000627p00000001") == "HID bus 0003 vendor 0627 product 0001");
  CHECK(describe_modalias("platform:kplug_gadget").empty());  // the MODALIAS says it all
  CHECK(describe_modalias("usb:v0627p0001d0000dc09dsc00dp00ic09isc00ip00in00") ==
        "USB vendor 0627 product 0001, device class 09 (hub)");
  CHECK(describe_modalias("weird").empty());
}

TEST_CASE("missing facts: unknown, saying which fact, never a finding", "[diagnosis]") {
  // No module index: "no module matches" would be a guess.
  KernelFacts no_index{"/lib/modules/6.1.0-9-amd64/modules.alias does not exist", ""};
  auto r = diagnose(undriven({}), running, no_index);
  CHECK(r.verdict == Verdict::unknown);
  CHECK(std::string(to_string(r.verdict)) == "unknown");
  CHECK(r.reason == "no_module_index");
  CHECK(r.text == "cannot tell which module would drive it: /lib/modules/6.1.0-9-amd64/modules.alias does not exist");
  CHECK(r.advice.find("--modules-dir") != std::string::npos);

  // No module support: which modules are live is unknowable, and modprobe advice wrong.
  KernelFacts no_support{"", "this kernel has no loadable-module support (/proc/modules does not exist)"};
  ModuleFacts pcspkr;
  pcspkr.name = "pcspkr";
  r = diagnose(undriven({pcspkr}), {false, false}, no_support);
  CHECK(r.verdict == Verdict::unknown);
  CHECK(r.reason == "no_module_support");
  CHECK(r.text.find("pcspkr cannot be loaded here") != std::string::npos);
  CHECK(r.advice.find("modprobe") == std::string::npos);

  // What the missing fact does not touch is still said: a driver bound, no MODALIAS, a
  // rule that blacklists the module.
  DeviceFacts bound = undriven({pcspkr});
  bound.driver = "pcspkr";
  CHECK(diagnose(bound, running, no_support).verdict == Verdict::driven);
  DeviceFacts bare = undriven();
  bare.modalias.reset();
  CHECK(diagnose(bare, running, no_index).verdict == Verdict::nothing_to_autoload);
  pcspkr.rule_blacklist = "rule 'quiet' (10.yaml:1)";
  CHECK(diagnose(undriven({pcspkr}), running, no_support).reason == "blacklisted");
}

TEST_CASE("a healthy machine: ACPI nodes driven through their physical node, CPU features declined", "[diagnosis]") {
  // PNP0400's driver (parport_pc) binds to the pnp device, not to the ACPI node.
  DeviceFacts acpi = undriven({{"parport_pc"}});
  acpi.subsystem = "acpi";
  acpi.physical_node = "/devices/pnp0/00:04";
  acpi.physical_driver = "parport_pc";
  auto r = diagnose(acpi, running);
  CHECK(r.verdict == Verdict::driven);
  CHECK(r.reason == "physical_node");
  CHECK(r.text == "driver parport_pc is bound to its physical node /devices/pnp0/00:04");

  // acpi_cpufreq refusing a virtual CPU with ENODEV is not a problem to report.
  ModuleFacts cpufreq;
  cpufreq.name = "acpi_cpufreq";
  DeviceFacts cpu = undriven({cpufreq});
  cpu.subsystem = "cpu";
  cpu.binds_driver = false;
  cpu.failures.push_back({"acpi_cpufreq", "/devices/system/cpu/cpu0", ENODEV, "No such device", 2, 0});
  r = diagnose(cpu, running);
  CHECK(r.verdict == Verdict::nothing_to_autoload);
  CHECK(r.reason == "module_declined");
  // Another errno is a failure still, and so is ENODEV from a device a driver binds to.
  cpu.failures[0].error = EINVAL;
  CHECK(diagnose(cpu, running).reason == "load_failed");
  DeviceFacts bus = undriven({cpufreq});
  bus.failures.push_back({"acpi_cpufreq", bus.devpath, ENODEV, "No such device", 1, 0});
  CHECK(diagnose(bus, running).reason == "load_failed");
}
