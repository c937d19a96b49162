// Gap detection over the kernel's uevent sequence numbers.
#include "uevent/seqnum_tracker.hpp"

namespace kplug {

std::uint64_t SeqnumTracker::observe(std::uint64_t seqnum) {
  std::uint64_t gap = 0;
  if (last_ && seqnum > *last_ + 1) gap = seqnum - *last_ - 1;
  if (!last_ || seqnum > *last_) last_ = seqnum;
  return gap;
}

}  // namespace kplug
