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

TEST_CASE("a listener on other groups (kplug monitor --group 4) trusts root senders there only", "[sender]") {
  CHECK_FALSE(check_sender({4321, 4, true, 0}, 4).has_value());                 // kplugd's rebroadcast
  CHECK(check_sender({4321, 4, true, 1000}, 4) == RejectReason::not_root);      // claims another uid
  CHECK(check_sender({4321, 4, false, 0}, 4) == RejectReason::no_credentials);
  CHECK(check_sender({4321, 0, true, 0}, 4) == RejectReason::not_group_1);      // unicast to the listener
  CHECK(check_sender({0, 1, true, 0}, 4) == RejectReason::not_group_1);         // the kernel's group, not ours
  CHECK(check_sender({4321, 2, true, 0}, 4) == RejectReason::not_group_1);      // a group it does not listen on
}
