// The kernel's log as /dev/kmsg holds it now (`kplug doctor` shows a device's probe
// errors). Bounded: at most MAX_RECORDS messages, each cut to 1 KiB.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace kplug {

// The messages, oldest first, without the "PRIORITY,SEQ,TIME,FLAGS;" prefix; an error
// when /dev/kmsg cannot be opened (not root with dmesg_restrict, or no /dev/kmsg).
Result<std::vector<std::string>, std::string> read_kernel_log(const std::string& path = "/dev/kmsg",
                                                               std::size_t max_records = 20000);

// One /dev/kmsg record's message: "6,812,3071234,-;usb 1-1: new device\n SUBSYSTEM=usb"
// → "usb 1-1: new device".
std::string kmsg_message(const std::string& record);

}  // namespace kplug
