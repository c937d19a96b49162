// Running a rule's `run` action: the argv is executed directly with posix_spawn, never
// through a shell, with stdin from /dev/null, stdout and stderr captured, and a time
// limit after which the process is killed. Blocking: call it from a worker thread.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace kplug {

struct CommandResult {
  bool started = false;
  std::string error;           // why it did not start
  int exit_status = -1;        // exit code, or -signal
  bool timed_out = false;
  std::vector<std::string> output;  // stdout and stderr lines, in order, at most 100
  std::chrono::milliseconds duration{0};
};

// Where a program named without a '/' is looked for (the daemon's PATH is not trusted).
inline constexpr const char* command_search_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds limit);

}  // namespace kplug
