// Shell-style globs for rule match keys.
#include <catch2/catch.hpp>

#include "rules/glob.hpp"

using namespace kplug;

TEST_CASE("globs", "[glob]") {
  CHECK(glob_match("usb:v08E6p*", "usb:v08E6p4433d00"));
  CHECK(glob_match("[ab]?c", "bxc"));
  CHECK_FALSE(glob_match("usb", "usb2"));
  CHECK(glob_error("usb:[abc") == "has a '[' without a closing ']'");
  CHECK(glob_error("a]") == "has a ']' without an opening '['");
  CHECK(glob_error("x\\") == "ends with a lone backslash");
  CHECK_FALSE(glob_error("[]x]*").has_value());
}
