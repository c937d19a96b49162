// /dev/kmsg records as `kplug doctor` shows them.
#include <catch2/catch.hpp>

#include "sysfs/kernel_log.hpp"

using namespace kplug;

TEST_CASE("a kmsg record's message, without prefix and dictionary", "[kernel_log]") {
  CHECK(kmsg_message("6,812,3071234,-;usb 1-1: new device\n SUBSYSTEM=usb\n DEVICE=c189:1\n") == "usb 1-1: new device");
  CHECK(kmsg_message("3,1,2,-;fail_init: init fails\n") == "fail_init: init fails");
  CHECK(kmsg_message("no prefix") == "no prefix");
  CHECK(kmsg_message("6,1,2,-;" + std::string(5000, 'x')).size() == 1024);
}

TEST_CASE("an unreadable log is an error that says which file", "[kernel_log]") {
  auto log = read_kernel_log("/nonexistent/kmsg");
  REQUIRE_FALSE(log);
  CHECK(log.error().find("/nonexistent/kmsg") != std::string::npos);
}
