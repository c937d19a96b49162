// Boot priority from device facts: real MODALIAS values and subsystems (from the QEMU VMs
// and the device zoo), each in the class the boot needs it in.
#include <catch2/catch.hpp>

#include "rules/boot_priority.hpp"
#include "rules/decision.hpp"
#include "rules/rule_loader.hpp"

using namespace kplug;

namespace {

Uevent device(const std::string& subsystem, const std::string& modalias, const std::string& action = "add") {
  Uevent ev;
  ev.action = action;
  ev.devpath = "/devices/x";
  ev.subsystem = subsystem;
  ev.properties = {{"ACTION", action}, {"DEVPATH", ev.devpath}, {"SUBSYSTEM", subsystem}};
  if (!modalias.empty()) ev.properties.emplace_back("MODALIAS", modalias);
  return ev;
}

struct Parsed {
  RuleSet rules;
  Diagnostics diags;
};

Parsed parse(const std::string& text) {
  Parsed p;
  parse_rules(text, "t.yaml", p.rules.rules, p.diags);
  return p;
}

}  // namespace

TEST_CASE("storage and the way to it are critical", "[boot_priority]") {
  struct Case {
    const char *subsystem, *modalias, *why;
  };
  for (const Case& c : {
           Case{"pci", "pci:v00001B36d00000010sv00001AF4sd00001100bc01sc08i02", "PCI class 0x01 (mass storage controller)"},
           Case{"pci", "pci:v00001B36d0000000Dsv00001AF4sd00001100bc0Csc03i30", "PCI class 0x0c03 (USB host controller)"},
           Case{"pci", "pci:v00001B36d00000007sv00001AF4sd00001100bc08sc05i01", "PCI class 0x0805 (SD host controller)"},
           Case{"pci", "pci:v00008086d00007000sv00001AF4sd00001100bc06sc01i00", "PCI class 0x06 (bridge)"},
           Case{"usb", "usb:v46F4p0001d0000dc00dsc00dp00ic08isc06ip50in00", "USB interface class 0x08 (mass storage interface)"},
           Case{"usb", "usb:v1D6Bp0003d0601dc09dsc00dp03ic09isc00ip00in00", "USB interface class 0x09 (hub)"},
           Case{"virtio", "virtio:d00000002v00001AF4", "virtio device type 0x02 (block device)"},
           Case{"virtio", "virtio:d00000008v00001AF4", "virtio device type 0x08 (SCSI host)"},
           Case{"scsi", "scsi:t-0x00", "subsystem scsi"},
           Case{"mmc", "mmc:block", "subsystem mmc"},
       }) {
    PriorityFact f = device_priority(device(c.subsystem, c.modalias));
    INFO(c.modalias);
    CHECK(f.priority == Priority::critical);
    CHECK(f.why == c.why);
  }
}

TEST_CASE("consoles and input, then network, then the rest", "[boot_priority]") {
  CHECK(device_priority(device("usb", "usb:v0627p0001d0000dc00dsc00dp00ic03isc01ip01in00")).priority == Priority::console);
  CHECK(device_priority(device("hid", "hid:b0003g0001v00000627p00000001")).priority == Priority::console);
  CHECK(device_priority(device("pci", "pci:v00001234d00001111sv00001AF4sd00001100bc03sc00i00")).priority ==
        Priority::console);
  CHECK(device_priority(device("serio", "serio:ty01pr00id00ex00")).priority == Priority::console);
  CHECK(device_priority(device("pci", "pci:v00008086d000010D3sv00008086sd00000000bc02sc00i00")).priority ==
        Priority::network);
  CHECK(device_priority(device("virtio", "virtio:d00000001v00001AF4")).priority == Priority::network);
  CHECK(device_priority(device("usb", "usb:v0525pA4A2d0000dc02dsc00dp00ic02isc06ip00in00")).priority ==
        Priority::network);
  // A sound card, a watchdog, an rng, a CPU feature: nothing the boot waits for.
  for (const char* alias : {"pci:v00008086d00002668sv00001AF4sd00001100bc04sc03i00",
                            "pci:v00008086d000025ABsv00001AF4sd00001100bc08sc80i00", "virtio:d00000004v00001AF4",
                            "cpu:type:x86,ven0000fam0006mod003F:feature:,0000,0001"}) {
    INFO(alias);
    PriorityFact f = device_priority(device("pci", alias));
    CHECK(f.priority == Priority::normal);
    CHECK(f.why == "no device fact makes it urgent");
  }
}

TEST_CASE("hostile MODALIAS values are decided without reading past them", "[boot_priority]") {
  for (const char* alias : {"pci:", "pci:bc", "pci:bc0", "pci:bcZZscZZ", "usb:dp", "usb:v1dpic", "usb:ic08",
                            "virtio:d", "virtio:d0000000", "virtio:dXXXXXXXX"}) {
    INFO(alias);
    CHECK(device_priority(device("x", alias)).priority == Priority::normal);
  }
}

TEST_CASE("a rule's priority overrides the device facts; the config can turn them off", "[boot_priority]") {
  auto parsed = parse("- name: raid-first\n  match: {modalias: 'pci:*bc04*'}\n  priority: critical\n");
  REQUIRE(parsed.diags.empty());
  Uevent sound = device("pci", "pci:v00008086d00002668sv00001AF4sd00001100bc04sc03i00");
  Decision d = decide(parsed.rules, Config{}, sound);
  CHECK(d.priority == Priority::critical);
  CHECK(d.priority_why == "rule 'raid-first' sets priority: critical");
  Config off;
  off.boot_priority = false;
  Uevent usb = device("pci", "pci:v00001B36d0000000Dsv00001AF4sd00001100bc0Csc03i30");
  CHECK(decide(RuleSet{}, off, usb).priority == Priority::normal);
  CHECK(decide(RuleSet{}, off, usb).priority_why == "boot_priority is off in the config");
  CHECK(decide(RuleSet{}, Config{}, device("pci", "pci:bc0Csc03", "change")).priority == Priority::normal);
}

TEST_CASE("a priority that is not one of the four is an error at its line", "[boot_priority]") {
  auto parsed = parse("- name: x\n  match: {subsystem: pci}\n  priority: urgent\n");
  REQUIRE(parsed.diags.size() == 1);
  CHECK(parsed.diags.front().message == "priority must be one of critical, console, network, normal, not 'urgent'");
  CHECK(parsed.diags.front().line == 3);
}
