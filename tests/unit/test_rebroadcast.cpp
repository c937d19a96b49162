// Rebroadcast datagrams are the kernel's format: what the parser reads back is the event.
#include <catch2/catch.hpp>

#include "daemon_fixtures.hpp"
#include "uevent/parse.hpp"
#include "uevent/rebroadcast.hpp"

using namespace kplug;

TEST_CASE("an event encoded as the kernel would send it parses back to itself", "[rebroadcast]") {
  Uevent ev = test::usb_ccid_add();
  std::string datagram = encode_datagram(ev);
  CHECK(datagram.rfind("add@/devices/pci0000:00/usb1/1-1/1-1:1.0", 0) == 0);
  CHECK(datagram.back() == '\0');
  auto back = parse_datagram(std::span<const char>(datagram.data(), datagram.size()), false);
  REQUIRE(back.has_value());
  CHECK(back->action == ev.action);
  CHECK(back->devpath == ev.devpath);
  CHECK(back->subsystem == ev.subsystem);
  CHECK(back->seqnum == ev.seqnum);
  CHECK(back->properties == ev.properties);
}

TEST_CASE("the kernel's own group is never a rebroadcast target", "[rebroadcast]") {
  auto r = open_rebroadcaster(1 | 4);
  REQUIRE(!r.has_value());
  CHECK(r.error() == "rebroadcast groups 0x5: give a mask without group 1 (the kernel's), e.g. 4");
  CHECK(!open_rebroadcaster(0).has_value());
}
