// Coldplug enumeration: the sysfs walk finds every device whose uevent carries a
// MODALIAS, parents first, without following links.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "sysfs/enumerate.hpp"

using namespace kplug;
namespace fs = std::filesystem;

namespace {

void device(const fs::path& root, const std::string& devpath, const std::string& subsystem,
            const std::string& uevent, bool modalias_file = true) {
  fs::path dir = root / devpath.substr(1);
  fs::create_directories(dir / "power");
  std::ofstream(dir / "uevent") << uevent;
  if (modalias_file) std::ofstream(dir / "modalias") << "x\n";
  fs::create_directories(root / "bus" / subsystem);
  fs::create_symlink(fs::relative(root / "bus" / subsystem, dir), dir / "subsystem");
}

}  // namespace

TEST_CASE("the sysfs walk hands out devices with a MODALIAS, parents first", "[sysfs]") {
  fs::path root = fs::temp_directory_path() / ("kplug-enum-" + std::to_string(getpid()));
  fs::remove_all(root);
  device(root, "/devices/pci0000:00/0000:00:02.0", "pci",
         "DRIVER=xhci_hcd\nPCI_CLASS=C0330\nMODALIAS=pci:v00001B36d0000000D\n");
  device(root, "/devices/pci0000:00/0000:00:02.0/usb1/1-1/1-1:1.0", "usb",
         "DEVTYPE=usb_interface\nMODALIAS=usb:v0627p0001d0000dc00\nINTERFACE=3/1/1\n");
  device(root, "/devices/pci0000:00/0000:00:02.0/usb1", "usb", "DEVTYPE=usb_device\nBUSNUM=001\n", false);
  device(root, "/devices/platform/serial8250", "platform", "DRIVER=serial8250\n");  // no MODALIAS
  device(root, "/devices/system/cpu/cpu0", "cpu", "MODALIAS=cpu:type:x86,ven0002:feature:,0000\n", false);
  // ACPI's namespace sorts before the PCI bus by name, but is walked after every hardware bus.
  device(root, "/devices/LNXSYSTM:00/LNXPWRBN:00", "acpi", "MODALIAS=acpi:LNXPWRBN:\n");
  device(root, "/devices/virtual/misc/fuse", "misc", "MAJOR=10\nMODALIAS=devname:fuse\n", false);
  device(root, "/devices/platform/i8042/serio0", "serio", "MODALIAS=serio:ty06pr00id00ex00\n");
  // A link to another device's directory is not walked (it would hand that device twice).
  fs::create_directory_symlink(root / "devices/pci0000:00", root / "devices/platform/serial8250/loop");

  std::vector<Uevent> seen;
  auto handed = for_each_modalias_device([&](Uevent&& ev) { seen.push_back(std::move(ev)); }, root);
  REQUIRE(handed);
  CHECK(*handed == 6);
  REQUIRE(seen.size() == 6);
  // The CPUs first: their checksum drivers are what the storage stack asks the kernel for.
  CHECK(seen[0].devpath == "/devices/system/cpu/cpu0");  // a MODALIAS without a modalias file
  CHECK(seen[0].subsystem == "cpu");
  seen.erase(seen.begin());
  CHECK(seen[0].devpath == "/devices/pci0000:00/0000:00:02.0");
  CHECK(seen[0].subsystem == "pci");
  CHECK(seen[0].action == "add");
  CHECK(seen[0].source == EventSource::coldplug);
  CHECK(seen[0].modalias() == "pci:v00001B36d0000000D");
  CHECK(seen[0].get_or_empty("DRIVER") == "xhci_hcd");
  CHECK(seen[0].get_or_empty("DEVPATH") == seen[0].devpath);
  CHECK(seen[0].get_or_empty("SUBSYSTEM") == "pci");
  CHECK(seen[1].devpath == "/devices/pci0000:00/0000:00:02.0/usb1/1-1/1-1:1.0");
  CHECK(seen[1].subsystem == "usb");
  CHECK(seen[1].get_or_empty("INTERFACE") == "3/1/1");
  CHECK(seen[2].devpath == "/devices/platform/i8042/serio0");
  // Then ACPI's namespace and the virtual devices, in name order.
  CHECK(seen[3].devpath == "/devices/LNXSYSTM:00/LNXPWRBN:00");
  CHECK(seen[4].devpath == "/devices/virtual/misc/fuse");

  auto one = read_uevent_file(root, "/devices/pci0000:00/0000:00:02.0/usb1");
  REQUIRE(one);
  CHECK(one->get_or_empty("DEVTYPE") == "usb_device");
  CHECK_FALSE(read_uevent_file(root, "/devices/absent"));
  CHECK_FALSE(for_each_modalias_device([](Uevent&&) {}, root / "nowhere"));
  fs::remove_all(root);
}

TEST_CASE("a chosen walk hands the devices a predicate wants, and the loaded modules", "[sysfs]") {
  fs::path root = fs::temp_directory_path() / ("kplug-enum-mod-" + std::to_string(getpid()));
  fs::remove_all(root);
  device(root, "/devices/pci0000:00/0000:00:03.0/host0/target0:0:0/0:0:0:0", "scsi",
         "DEVTYPE=scsi_device\nMODALIAS=scsi:t-0x00\n");
  device(root, "/devices/platform/serial8250", "platform", "DRIVER=serial8250\n");
  fs::create_directories(root / "module/parport_pc/parameters");
  std::ofstream(root / "module/parport_pc/uevent") << "";
  fs::create_directories(root / "module/8250/parameters");  // built in: no uevent file

  std::vector<Uevent> seen;
  auto handed = for_each_present_device(
      [](const Uevent& ev) { return !ev.modalias().empty() || ev.subsystem == "module" || ev.subsystem == "platform"; },
      [&](Uevent&& ev) { seen.push_back(std::move(ev)); }, root);
  REQUIRE(handed);
  REQUIRE(*handed == 3);
  CHECK(seen[0].subsystem == "scsi");
  CHECK(seen[1].devpath == "/devices/platform/serial8250");
  CHECK(seen[2].devpath == "/module/parport_pc");  // the modules after the devices
  CHECK(seen[2].subsystem == "module");
  CHECK(seen[2].get_or_empty("SUBSYSTEM") == "module");
  CHECK(seen[2].action == "add");

  std::vector<std::string> modalias_only;
  auto plain = for_each_modalias_device([&](Uevent&& ev) { modalias_only.push_back(ev.devpath); }, root);
  REQUIRE(plain);
  CHECK(modalias_only == std::vector<std::string>{"/devices/pci0000:00/0000:00:03.0/host0/target0:0:0/0:0:0:0"});
  fs::remove_all(root);
}

TEST_CASE("the walk does not open power/ attribute directories, but finds a device called power", "[sysfs]") {
  fs::path root = fs::temp_directory_path() / ("kplug-enum-power-" + std::to_string(getpid()));
  fs::remove_all(root);
  device(root, "/devices/platform/power", "platform", "MODALIAS=platform:power\n");
  device(root, "/devices/platform/pcspkr", "platform", "MODALIAS=platform:pcspkr\n");
  // Planted where the kernel never puts a device: inside pcspkr's power/ attributes.
  device(root, "/devices/platform/pcspkr/power/planted", "platform", "MODALIAS=platform:planted\n");
  auto events = enumerate_modalias_devices(root.string());
  REQUIRE(events);
  std::vector<std::string> found;
  for (const auto& ev : *events) found.push_back(ev.devpath);
  CHECK(found == std::vector<std::string>{"/devices/platform/pcspkr", "/devices/platform/power"});
  fs::remove_all(root);
}

// On this machine's own /sys: the walk finds exactly the devices that a read of every
// uevent file below /sys/devices finds.
TEST_CASE("the sysfs walk finds what reading every uevent file finds", "[sysfs]") {
  std::map<std::string, std::string> every;  // devpath -> MODALIAS
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator("/sys/devices", fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_symlink(ec)) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->path().filename() != "uevent") continue;
    std::ifstream in(it->path());
    for (std::string line; std::getline(in, line);)
      if (line.rfind("MODALIAS=", 0) == 0) every[it->path().parent_path().string().substr(4)] = line.substr(9);
  }
  std::map<std::string, std::string> walked;
  auto events = enumerate_modalias_devices();
  REQUIRE(events);
  for (const auto& ev : *events) walked[ev.devpath] = std::string(ev.modalias());
  CHECK(walked.size() > 0);
  CHECK(walked == every);
}

// kplug test --devpath: a path through links names the device by its real devpath.
TEST_CASE("a device read through a link carries its real devpath", "[sysfs]") {
  auto lo = read_device("/class/net/lo");
  REQUIRE(lo);
  CHECK(lo->devpath == "/devices/virtual/net/lo");
  CHECK(lo->get_or_empty("DEVPATH") == "/devices/virtual/net/lo");
  CHECK(lo->subsystem == "net");
  CHECK(lo->get_or_empty("INTERFACE") == "lo");
  CHECK_FALSE(read_device("/devices/no-such-device"));
  CHECK_FALSE(read_device("/kernel"));  // a directory of /sys, not a device
}
