// Exit codes of kplugd and kplug, documented in their --help, man pages and the README.
//
// kplug's contract, the same for every verb (kplug(8) EXIT STATUS, `kplug --help`):
//   0  ran, and all is well: nothing found, no difference, every device driven
//   1  ran, and found something: a device not driven, outcomes that differ, no match,
//      problems in rule files, not settled within the timeout
//   2  bad command line
//   3  could not do the job: a file or device missing, kplugd unreachable, no module
//      index, a write the kernel refused; the answer is unknown, not negative
#pragma once

namespace kplug {

enum ExitCode : int {
  exit_ok = 0,
  exit_found = 1,          // kplug: ran and found something
  exit_runtime_error = 1,  // kplugd: the event loop failed after start
  exit_usage = 2,          // bad command line
  exit_cannot = 3,         // kplug: could not do the job (the answer is unknown)
  exit_startup = 3,        // kplugd: bad config or rules, or the environment is unusable
};

}  // namespace kplug
