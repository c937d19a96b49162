// The buses a module's drivers are on and those a device can be bound on, from a sysfs
// tree laid out as the kernel lays it out.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sysfs/driver_buses.hpp"

using namespace kplug;
namespace fs = std::filesystem;

TEST_CASE("a module's drivers name their buses; an ACPI node adds its physical nodes' buses", "[sysfs]") {
  fs::path root = fs::temp_directory_path() / ("kplug-buses-" + std::to_string(getpid()));
  fs::remove_all(root);
  for (const char* bus : {"platform", "pnp", "acpi", "pci"}) fs::create_directories(root / "bus" / bus / "drivers");
  // floppy registered one platform driver; parport_pc a pnp and a platform one.
  fs::create_directories(root / "module" / "floppy" / "drivers");
  fs::create_directory_symlink("../../../bus/platform/drivers", root / "module" / "floppy" / "drivers" / "platform:floppy");
  fs::create_directories(root / "module" / "parport_pc" / "drivers");
  fs::create_directory_symlink("../../../bus/pnp/drivers", root / "module" / "parport_pc" / "drivers" / "pnp:parport_pc");
  fs::create_directory_symlink("../../../bus/platform/drivers",
                               root / "module" / "parport_pc" / "drivers" / "platform:parport_pc");
  fs::create_directories(root / "module" / "acpi_cpufreq");  // a feature module: no drivers
  CHECK(module_driver_buses(root.string(), "floppy") == std::set<std::string>{"platform"});
  CHECK(module_driver_buses(root.string(), "parport_pc") == std::set<std::string>{"platform", "pnp"});
  CHECK(module_driver_buses(root.string(), "acpi_cpufreq") == std::set<std::string>{});
  CHECK(!module_driver_buses(root.string(), "not_loaded"));

  // The ACPI node PNP0700:00 and its physical node, the pnp device 00:03.
  fs::path acpi = root / "devices" / "LNXSYSTM:00" / "PNP0700:00";
  fs::path pnp = root / "devices" / "pnp0" / "00:03";
  fs::create_directories(acpi);
  fs::create_directories(pnp);
  fs::create_directory_symlink(fs::relative(root / "bus" / "acpi", acpi), acpi / "subsystem");
  fs::create_directory_symlink(fs::relative(root / "bus" / "pnp", pnp), pnp / "subsystem");
  fs::create_directory_symlink(fs::relative(pnp, acpi), acpi / "physical_node");
  CHECK(device_buses(root.string(), "/devices/LNXSYSTM:00/PNP0700:00", "acpi") ==
        std::set<std::string>{"acpi", "pnp"});
  CHECK(device_buses(root.string(), "/devices/pnp0/00:03", "pnp") == std::set<std::string>{"pnp"});
  fs::remove_all(root);
}
