// Attribute reads stay under /sys, whatever the devpath or the rule says.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sysfs/attributes.hpp"

using namespace kplug;
namespace fs = std::filesystem;

TEST_CASE("attributes are read below the sys root only", "[sysfs]") {
  fs::path root = fs::temp_directory_path() / ("kplug-sys-" + std::to_string(getpid()));
  fs::path outside = fs::temp_directory_path() / ("kplug-secret-" + std::to_string(getpid()));
  fs::create_directories(root / "devices/usb1/1-1");
  std::ofstream(root / "devices/usb1/1-1/idVendor") << "08e6\n";
  std::ofstream(outside) << "secret\n";
  fs::create_symlink(outside, root / "devices/usb1/1-1/escape");
  fs::create_directories(root / "devices/usb1/1-1/power");
  std::ofstream(root / "devices/usb1/1-1/power/control") << "auto\n";

  CHECK(read_attribute("/devices/usb1/1-1", "idVendor", root) == "08e6");
  CHECK(read_attribute("/devices/usb1/1-1", "power/control", root) == "auto");
  CHECK_FALSE(read_attribute("/devices/usb1/1-1", "missing", root).has_value());
  CHECK_FALSE(read_attribute("/devices/usb1/1-1", "escape", root).has_value());        // a link out of /sys
  CHECK_FALSE(read_attribute("/devices/usb1/1-1", "../../../../etc/passwd", root).has_value());
  CHECK_FALSE(read_attribute("/devices/../../etc", "passwd", root).has_value());
  CHECK_FALSE(read_attribute("/devices/usb1/1-1", "power", root).has_value());         // a directory
  fs::remove_all(root);
  fs::remove(outside);
}
