// kplugd's command line: its flags and --help text, parsed into Overrides of the config
// file's settings (rules/settings.hpp) plus the log target.
#pragma once

#include <string>
#include <variant>

#include "rules/settings.hpp"

namespace kplug {

struct CommandLine {
  Overrides overrides;
  std::string log_target = "auto";  // stderr, journal or auto
};

// The parsed command line, or the exit code when there is nothing more to do (--help,
// --version: exit_ok, after printing; a bad flag: exit_usage, after saying why).
std::variant<CommandLine, int> parse_command_line(int argc, char** argv);

}  // namespace kplug
