// Size parsing for --receive-buffer.
#include <catch2/catch.hpp>

#include "rules/units.hpp"

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

TEST_CASE("durations", "[options]") {
  std::chrono::milliseconds d{0};
  CHECK(parse_duration("5s", d));
  CHECK(d.count() == 5000);
  CHECK(parse_duration("500ms", d));
  CHECK(d.count() == 500);
  CHECK(parse_duration("1.5", d));
  CHECK(d.count() == 1500);
  CHECK(parse_duration("2m", d));
  CHECK(d.count() == 120000);
  CHECK_FALSE(parse_duration("", d));
  CHECK_FALSE(parse_duration("5 s", d));
  CHECK_FALSE(parse_duration("-1s", d));
  CHECK(parse_duration("1h", d));  // as "60m" is
  CHECK(d.count() == 3'600'000);
  CHECK(parse_duration("24h", d));
  CHECK_FALSE(parse_duration("25h", d));
  CHECK_FALSE(parse_duration("99999999h", d));
  CHECK_FALSE(parse_duration("99999m", d));
  CHECK(parse_duration("0.25s", d));
  CHECK(d.count() == 250);
  CHECK(parse_duration("1.5ms", d));
  CHECK(d.count() == 1);  // whole milliseconds
  CHECK(parse_duration("0.0001m", d));
  CHECK(d.count() == 6);
  CHECK(parse_duration("1.23456789s", d));
  CHECK(d.count() == 1234);
  CHECK(parse_duration("1440m", d));
  CHECK(d.count() == 86'400'000);
  CHECK_FALSE(parse_duration("1440.001m", d));
  CHECK_FALSE(parse_duration("1.s", d));
  CHECK_FALSE(parse_duration(".5s", d));
  CHECK_FALSE(parse_duration("1e3s", d));
  CHECK_FALSE(parse_duration("18446744073709551616s", d));
}
