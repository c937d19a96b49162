// Text from events, devices and clients made safe for a line of text: every byte outside
// printable ASCII (and the backslash) becomes \xNN, so nobody can start a new log line or
// send terminal escapes through a device name. Journal fields carry the raw bytes instead.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kplug {

// S with such bytes escaped, cut to at most MAX characters ("..." when cut).
std::string printable(std::string_view s, std::size_t max = 4096);

// The closest of CANDIDATES to WORD, when it is close enough to be a likely typo (rule
// keys, verbs, flags); "" when none is.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace kplug
