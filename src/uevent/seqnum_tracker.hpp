// Spotting lost kernel uevents from gaps in SEQNUM. Pure.
//
// The kernel numbers every uevent it emits. A gap between consecutive received events
// means events were lost (or sent only to another network namespace, which is why a gap
// is reported as "possibly missed" rather than certainly lost).
#pragma once

#include <cstdint>
#include <optional>

namespace kplug {

class SeqnumTracker {
 public:
  // Records SEQNUM; returns how many numbers were skipped since the previous one (0 when
  // consecutive, or for the first event, or for an older/duplicate number).
  std::uint64_t observe(std::uint64_t seqnum);
  // Forget the last number, e.g. after an overrun when the next one cannot be predicted.
  void reset() { last_.reset(); }
  std::optional<std::uint64_t> last() const { return last_; }

 private:
  std::optional<std::uint64_t> last_;
};

}  // namespace kplug
