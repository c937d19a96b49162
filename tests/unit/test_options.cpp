// Size parsing for --receive-buffer.
#include <catch2/catch.hpp>

#include "daemon/options.hpp"

using namespace kplug;

TEST_CASE("sizes", "[options]") {
  std::size_t n = 0;
  CHECK(parse_size("4096", n));
  CHECK(n == 4096);
  CHECK(parse_size("512K", n));
  CHECK(n == 512 * 1024);
  CHECK(parse_size("128M", n));
  CHECK(n == 128u << 20);
  CHECK(parse_size("1GiB", n));
  CHECK(n == 1u << 30);
  CHECK_FALSE(parse_size("", n));
  CHECK_FALSE(parse_size("M", n));
  CHECK_FALSE(parse_size("12X", n));
  CHECK_FALSE(parse_size("-1", n));
  CHECK_FALSE(parse_size("99999999999G", n));
}
