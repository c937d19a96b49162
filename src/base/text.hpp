// Text from events, devices and clients made safe for a line of text: every byte outside
// printable ASCII (and the backslash) becomes \xNN, so nobody can start a new log line or
// send terminal escapes through a device name. Journal fields carry the raw bytes instead.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kplug {

// S with such bytes escaped, cut to at most MAX characters ("..." when cut).
std::string printable(std::string_view s, std::size_t max = 4096);

}  // namespace kplug
