// Which buses a module's drivers are on, and which buses a device can be bound on: for
// doctor, to tell a driver that never binds to a device (floppy makes platform devices
// of its own; the ACPI node PNP0700 and its pnp node stay unbound) from a failed probe.
#pragma once

#include <optional>
#include <set>
#include <string>

namespace kplug {

// The buses of the drivers MODULE has registered (SYS_ROOT/module/MODULE/drivers holds
// "BUS:DRIVER" links): empty when it registered none; nullopt when its directory cannot
// be read (not loaded, or no sysfs).
std::optional<std::set<std::string>> module_driver_buses(const std::string& sys_root, const std::string& module);

// The buses a driver could bind the device at DEVPATH on: its own subsystem, and for an
// ACPI node the subsystems of its physical nodes (physical_node, physical_node1, ...).
std::set<std::string> device_buses(const std::string& sys_root, const std::string& devpath,
                                   const std::string& subsystem);

}  // namespace kplug
