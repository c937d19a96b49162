// Only the kernel's own multicast uevents are trusted.
#include <catch2/catch.hpp>

#include "uevent/sender_check.hpp"

using namespace kplug;

TEST_CASE("the kernel's multicast message is accepted", "[sender]") {
  CHECK_FALSE(check_sender({0, 1, true, 0}).has_value());
}

TEST_CASE("anything else is rejected with its reason", "[sender]") {
  CHECK(check_sender({1234, 1, true, 0}) == RejectReason::not_kernel_port);  // a root process multicasting
  CHECK(check_sender({0, 0, true, 0}) == RejectReason::not_group_1);        // unicast to our port
  CHECK(check_sender({0, 2, true, 0}) == RejectReason::not_group_1);        // udevd's libudev group
  CHECK(check_sender({0, 1, false, 0}) == RejectReason::no_credentials);
  CHECK(check_sender({0, 1, true, 1000}) == RejectReason::not_root);
  CHECK(std::string(to_string(RejectReason::not_kernel_port)) == "not_kernel_port");
}
