// What a person types to name a device, turned into its devpath: a devpath with or
// without /sys ("/devices/virtual/net/lo"), any path under /sys that leads to a device
// ("/sys/class/net/lo"), a device node ("/dev/sda"), or a bare sysname ("sda", "lo").
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"

namespace kplug {

// The devpath (under SYS_ROOT/devices, without SYS_ROOT) that ARG names, or why there is
// none: no such device, a node that is not a device's, or a sysname several devices share
// (they are listed, so that the person can pick one).
Result<std::string, std::string> device_path_of(const std::string& sys_root, const std::string& arg);

// The devpaths of the devices called SYSNAME in any class or bus, sorted, without repeats.
std::vector<std::string> devices_named(const std::string& sys_root, const std::string& sysname);

}  // namespace kplug
