// `{KEY}` substitution in rule actions.
#include <catch2/catch.hpp>

#include "rules/template.hpp"
#include "daemon_fixtures.hpp"

using namespace kplug;

namespace {
using kplug::test::event_with;
using kplug::test::hostile;
}  // namespace

TEST_CASE("placeholders", "[template]") {
  Uevent ev = event_with("v");
  CHECK(expand_template("{ACTION} {DEVPATH} {EVIL}", ev) == "add /devices/x v");
  CHECK(expand_template("{MISSING}|", ev) == "|");
  CHECK(expand_template("{{literal}} {EVIL}", ev) == "{literal} v");
  CHECK_FALSE(template_error("{ACTION} and {{x}}").has_value());
  CHECK(template_error("{ACTION") == "'{' at offset 0 is not closed by '}'");
  CHECK(template_error("{}") == "empty placeholder '{}' at offset 0");
  CHECK(template_error("{A B}") == "placeholder '{A B}' is not a KEY (letters, digits, _)");
  CHECK(template_error("x}") == "lone '}' at offset 1 (write '}}' for a literal brace)");
  CHECK(expand_template("{EVIL}", event_with(hostile)) == hostile);  // verbatim, nothing interpreted
}
