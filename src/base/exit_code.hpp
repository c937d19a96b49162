// Exit codes of kplugd and kplug, documented in their --help, man pages and the README.
#pragma once

namespace kplug {

enum ExitCode : int {
  exit_ok = 0,
  exit_failure = 1,        // kplug: the verb failed (kplugd: exit_runtime_error)
  exit_runtime_error = 1,  // kplugd: the event loop failed after start
  exit_usage = 2,          // bad command line
  exit_startup = 3,        // kplugd: bad config or rules, or the environment is unusable
};

}  // namespace kplug
