// Formatting the counters for people.
#include "daemon/counters.hpp"

#include <fmt/format.h>

namespace kplug {

std::uint64_t Counters::rejected_total() const {
  std::uint64_t total = 0;
  for (const auto& [reason, n] : rejected) total += n;
  return total;
}

std::string Counters::summary() const {
  std::string reasons;
  for (const auto& [reason, n] : rejected) reasons += fmt::format("{}{} {}", reasons.empty() ? "" : ", ", reason, n);
  return fmt::format(
      "received {}, coldplug {}, rejected {}{}, overruns {}, missed {}, rescans {}, loads ok {}, failed {}, coalesced {}, "
      "slow {}, skipped {}, "
      "no module {}, unloads {}, unloads refused {}",
      events_received, coldplug_events, rejected_total(), reasons.empty() ? "" : " (" + reasons + ")", overruns,
      missed_events, rescans, loads_ok, loads_failed, loads_coalesced, slow_loads, loads_skipped, no_module, unloads, unloads_refused);
}

}  // namespace kplug
