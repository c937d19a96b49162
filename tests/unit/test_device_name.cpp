// Naming a device: a devpath, a path under /sys through class links, a sysname, and the
// answers when a name is unknown, shared, or leads outside /sys/devices.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sysfs/device_name.hpp"

using namespace kplug;
namespace fs = std::filesystem;

namespace {

// A device directory under ROOT, linked from ROOT/LINK_DIR/NAME as sysfs links it.
void device(const fs::path& root, const std::string& devpath, const std::string& link_dir) {
  fs::path dir = root / devpath.substr(1);
  fs::create_directories(dir);
  std::ofstream(dir / "uevent") << "";
  fs::path link = root / link_dir / dir.filename();
  fs::create_directories(link.parent_path());
  fs::create_symlink(fs::relative(dir, link.parent_path()), link);
}

}  // namespace

TEST_CASE("a device is named by devpath, /sys path, class link or sysname", "[sysfs]") {
  fs::path root = fs::temp_directory_path() / ("kplug-devname-" + std::to_string(getpid()));
  fs::remove_all(root);
  device(root, "/devices/virtual/net/lo", "class/net");
  device(root, "/devices/pci0000:00/0000:00:02.0", "bus/pci/devices");
  device(root, "/devices/pci0000:00/0000:00:05.0/host0/target0:0:0/0:0:0:0/block/sda", "class/block");
  // Two devices share a sysname: "card0" in two classes.
  device(root, "/devices/pci0000:00/0000:00:01.0/drm/card0", "class/drm");
  device(root, "/devices/pci0000:00/0000:00:1b.0/sound/card0", "class/sound");
  fs::create_directories(root / "kernel" / "mm");
  std::string sys = root.string();

  CHECK(device_path_of(sys, "/devices/virtual/net/lo").value() == "/devices/virtual/net/lo");
  CHECK(device_path_of(sys, "/class/net/lo").value() == "/devices/virtual/net/lo");
  CHECK(device_path_of(sys, "lo").value() == "/devices/virtual/net/lo");
  CHECK(device_path_of(sys, "0000:00:02.0").value() == "/devices/pci0000:00/0000:00:02.0");
  CHECK(device_path_of(sys, "sda").value() ==
        "/devices/pci0000:00/0000:00:05.0/host0/target0:0:0/0:0:0:0/block/sda");

  auto shared = device_path_of(sys, "card0");
  REQUIRE(!shared);
  CHECK(shared.error().find("names 2 devices") != std::string::npos);
  CHECK(shared.error().find("/devices/pci0000:00/0000:00:01.0/drm/card0") != std::string::npos);
  CHECK(devices_named(sys, "card0").size() == 2);

  auto unknown = device_path_of(sys, "nope");
  REQUIRE(!unknown);
  CHECK(unknown.error().find("no device called 'nope'") != std::string::npos);
  CHECK(!device_path_of(sys, "/devices/nope"));
  CHECK(!device_path_of(sys, "/kernel/mm"));  // under /sys, not a device
  CHECK(!device_path_of(sys, "/devices/../kernel"));
  CHECK(!device_path_of(sys, "/devices"));
  CHECK(devices_named(sys, "..").empty());
  CHECK(devices_named(sys, "").empty());
  fs::remove_all(root);
}

TEST_CASE("a device node leads to its device through /sys/dev", "[sysfs]") {
  // /dev/null is character device 1:3 on every Linux: /sys/devices/virtual/mem/null.
  CHECK(device_path_of("/sys", "/dev/null").value() == "/devices/virtual/mem/null");
  REQUIRE(fs::is_directory("/dev/pts"));
  auto dir = device_path_of("/sys", "/dev/pts");
  REQUIRE(!dir);
  CHECK(dir.error() == "/dev/pts is not a device node");
}
