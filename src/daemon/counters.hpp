// What kplugd has seen and done, counted: the exit summary, `kplug status` and the
// metrics read them. Touched only on the event-loop thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace kplug {

struct Counters {
  std::uint64_t events_received = 0;   // accepted kernel uevents
  std::uint64_t coldplug_events = 0;   // synthesized from sysfs
  std::map<std::string, std::uint64_t> rejected;  // by reason: not_kernel_port, malformed:bad_header, ...
  // Datagrams rejected for their sender, by what they held: well_formed (a plausible
  // forgery), or the parse error kind (truncated, too_many_keys, bad_devpath, ...).
  std::map<std::string, std::uint64_t> forged_shapes;
  std::uint64_t overruns = 0;          // ENOBUFS reports
  std::uint64_t missed_events = 0;     // sum of SEQNUM gaps
  std::uint64_t rescans = 0;           // sysfs rescans after lost events
  std::uint64_t replays_unchanged = 0; // replayed adds (udevadm trigger) decided as before: nothing done again
  std::uint64_t loads_ok = 0;          // inserted (or, in dry run, would be)
  std::uint64_t loads_failed = 0;
  std::uint64_t loads_coalesced = 0;   // requests that shared a load already in flight
  std::uint64_t slow_loads = 0;        // loads that ran past the slow_load time
  std::uint64_t loads_skipped = 0;     // builtin, already loaded, blacklisted
  std::uint64_t no_module = 0;         // MODALIAS that matched nothing
  std::uint64_t unloads = 0;           // modules kplugd removed (or, in dry run, would)
  std::uint64_t unloads_refused = 0;   // still in use when the grace period ended, or failed
  std::uint64_t loads_retried = 0;     // failed for lack of descriptors, tried again
  std::uint64_t commands_run = 0;      // rule `run` commands that ran
  std::uint64_t commands_dropped = 0;  // not run: the command queue was full
  std::uint64_t commands_killed = 0;   // killed at their time limit or at stop

  std::uint64_t rejected_total() const;
  // One line for logs: "received 12, coldplug 27, rejected 1 (not_kernel_port 1), ..."
  std::string summary() const;
};

}  // namespace kplug
