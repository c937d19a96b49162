// Name checks: devpaths, ancestry, module names, KEY characters.
#include <catch2/catch.hpp>

#include "base/names.hpp"

using namespace kplug;

TEST_CASE("ancestry", "[names]") {
  CHECK(is_same_or_below("/devices/a/b", "/devices/a"));
  CHECK(is_same_or_below("/devices/a", "/devices/a"));
  CHECK_FALSE(is_same_or_below("/devices/ab", "/devices/a"));
  CHECK_FALSE(is_same_or_below("/devices", "/devices/a"));
}
