// Coldplug on demand: asking the kernel to emit `add` or `change` again for present
// devices by writing to their sysfs `uevent` files, tagged with a SYNTH_UUID so the
// caller can recognise exactly the events it caused.
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"

namespace kplug {

// The devpaths of present devices (with a uevent file), of SUBSYSTEMS when not empty.
Result<std::vector<std::string>, std::string> list_devices(const std::vector<std::string>& subsystems);

// Writes "ACTION UUID" to /sys/DEVPATH/uevent (the kernel then emits the event with
// SYNTH_UUID=UUID). ACTION is add or change. Errors say which file and why.
Result<bool, std::string> write_uevent(const std::string& devpath, const std::string& action, const std::string& uuid);

// A fresh random UUID from the kernel.
std::string new_uuid();

}  // namespace kplug
