// Enumerating the devices present in sysfs (libudev) for coldplug: each one becomes a
// synthesized `add` Uevent that travels the same path as a kernel event.
#pragma once

#include <string>
#include <vector>

#include "uevent/result.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

// Every present device whose uevent file carries a MODALIAS, parents before children.
Result<std::vector<Uevent>, std::string> enumerate_modalias_devices();

// One present device by its devpath (e.g. "/devices/platform/serial8250"), as an `add`
// event. Rejects devpaths that could leave /sys.
Result<Uevent, std::string> read_device(const std::string& devpath);

}  // namespace kplug
