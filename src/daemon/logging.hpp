// Logging set-up shared by kplugd and kplug: spdlog to stderr, so stdout carries results.
#pragma once

#include <string>

namespace kplug {

// LEVEL is trace, debug, info, warn, error or off. Returns false for an unknown level.
bool setup_logging(const std::string& program, const std::string& level);

}  // namespace kplug
