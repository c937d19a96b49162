// Durations ("5s", "500ms", "2m") and sizes ("128M") as users write them. Pure.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace kplug {

// Parses a duration such as "5s", "500ms", "2m" or "1.5" (seconds). False on bad input.
bool parse_duration(const std::string& text, std::chrono::milliseconds& out);

// Parses a size such as "128M", "4096", "1G". Returns false on bad input.
bool parse_size(const std::string& text, std::size_t& out);

}  // namespace kplug
