// Running a rule's `run` action: the argv is executed directly with posix_spawn, never
// through a shell, in a session (and process group) of its own, with stdin from
// /dev/null, stdout and stderr into one pipe, no other descriptor, default signal
// handling and a fixed PATH. At its time limit, and when kplugd stops, the whole process
// group is killed; so is anything the program left behind in it when it exits (as udev
// does: a `run` program must not start daemons). Blocking: call it from a worker thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace kplug {

struct CommandResult {
  bool started = false;
  std::string error;           // why it did not start
  int exit_status = -1;        // exit code, or -signal
  bool timed_out = false;
  bool stopped = false;        // killed, or never started, because kplugd is stopping
  std::vector<std::string> output;  // stdout and stderr lines, in order, at most 100
  std::chrono::milliseconds duration{0};
};

// Where a program named without a '/' is looked for (the daemon's PATH is not trusted).
inline constexpr const char* command_search_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
inline constexpr std::size_t max_output_lines = 100;
inline constexpr std::size_t max_output_line = 1024;  // a longer line is cut

// The process groups of the commands running now, so that stopping can kill them all at
// once. Thread-safe.
class RunningGroups {
 public:
  // Spawns under the lock: after stop(), nothing new starts. False when stopping.
  template <typename Spawn>
  bool start(Spawn spawn) {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    pid_t pgid = spawn();
    if (pgid > 0) groups_.insert(pgid);
    return true;
  }
  void finished(pid_t pgid);
  // Refuses new commands and kills every running group; returns how many there were.
  std::size_t stop();
  bool stopping() const { return stopping_; }

 private:
  std::mutex mutex_;
  std::set<pid_t> groups_;
  std::atomic<bool> stopping_{false};
};

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds limit,
                          RunningGroups* groups = nullptr);

// The seam: run_command in kplugd; the tests' FakeCommands (tests/unit/fakes.hpp) records
// what would run and answers without a process.
using CommandRunner = std::function<CommandResult(const std::vector<std::string>& argv,
                                                  std::chrono::milliseconds limit, RunningGroups* groups)>;

}  // namespace kplug
