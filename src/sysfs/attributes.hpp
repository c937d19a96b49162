// Safe reads of device attributes under /sys for `attr:` rule conditions.
#pragma once

#include <optional>
#include <string>

namespace kplug {

// The contents of /sys/DEVPATH/NAME without its trailing newline, or nullopt when the
// attribute is absent, unreadable, not a regular file, or would lie outside /sys.
// At most 4 KiB is read. SYS_ROOT exists for tests.
std::optional<std::string> read_attribute(const std::string& devpath, const std::string& name,
                                          const std::string& sys_root = "/sys");

}  // namespace kplug
