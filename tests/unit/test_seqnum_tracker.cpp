// SEQNUM gap detection.
#include <catch2/catch.hpp>

#include "uevent/seqnum_tracker.hpp"

using namespace kplug;

TEST_CASE("consecutive numbers have no gap; skipped ones are counted", "[seqnum]") {
  SeqnumTracker t;
  CHECK(t.observe(100) == 0);  // the first event has nothing to compare with
  CHECK(t.observe(101) == 0);
  CHECK(t.observe(105) == 3);
  CHECK(t.observe(104) == 0);  // late or duplicate: not a gap, and does not move back
  CHECK(t.last() == 105u);
  CHECK(t.observe(106) == 0);
  t.reset();
  CHECK(t.observe(500) == 0);
}
