// Enumerating the devices present in sysfs for coldplug: each one becomes a synthesized
// `add` Uevent that travels the same path as a kernel event.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

// Walks SYS_ROOT/devices and hands VISIT, as it goes, every present device whose
// uevent file carries a MODALIAS, parents before children (siblings in name order, but the
// hardware buses' roots before ACPI's namespace, `system` and `virtual`); returns how many
// it handed.
// Links are never followed, and nothing but directory listings, `uevent` files and
// `subsystem` links is read. (A `modalias` file is no hint: CPUs have a MODALIAS in their
// uevent and no such file.)
Result<std::size_t, std::string> for_each_modalias_device(const std::function<void(Uevent&&)>& visit,
                                                          const std::string& sys_root = "/sys");

// The same walk with the choice of devices made by WANTED, and the loaded modules
// (SYS_ROOT/module/NAME, subsystem "module") after the devices: what kplugd's coldplug
// hands on is every device with a MODALIAS plus those a rule loads a module for.
Result<std::size_t, std::string> for_each_present_device(const std::function<bool(const Uevent&)>& wanted,
                                                         const std::function<void(Uevent&&)>& visit,
                                                         const std::string& sys_root = "/sys");

// The devices with a MODALIAS, collected.
Result<std::vector<Uevent>, std::string> enumerate_modalias_devices(const std::string& sys_root = "/sys");

// The `add` event for the device at DEVPATH from its uevent file and subsystem link.
// DIR_FD, when given, is that device's open directory.
Result<Uevent, std::string> read_uevent_file(const std::string& sys_root, const std::string& devpath, int dir_fd = -1);

// One present device as an `add` event, named as device_path_of takes it (a devpath,
// /sys/..., /dev/NODE, a sysname). Rejects paths that lead outside /sys/devices.
Result<Uevent, std::string> read_device(const std::string& devpath);

}  // namespace kplug
