// Name checks: devpaths, ancestry, module names, KEY characters.
#include <catch2/catch.hpp>

#include <string>

#include "base/names.hpp"

using namespace kplug;

TEST_CASE("ancestry", "[names]") {
  CHECK(is_same_or_below("/devices/a/b", "/devices/a"));
  CHECK(is_same_or_below("/devices/a", "/devices/a"));
  CHECK_FALSE(is_same_or_below("/devices/ab", "/devices/a"));
  CHECK_FALSE(is_same_or_below("/devices", "/devices/a"));
}

TEST_CASE("a module name as a rule writes it", "[names]") {
  CHECK(is_module_name("usb_hello"));
  CHECK(is_module_name("snd-hda-intel"));
  CHECK_FALSE(is_module_name(""));
  CHECK_FALSE(is_module_name("bad name!"));
  CHECK_FALSE(is_module_name("../x"));
  CHECK_FALSE(is_module_name("usb:v08E6*"));
  CHECK_FALSE(is_module_name(std::string(56, 'a')));
  CHECK(is_module_name(std::string(55, 'a')));
}
