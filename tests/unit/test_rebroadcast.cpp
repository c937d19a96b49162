// Rebroadcast datagrams are the kernel's format: what the parser reads back is the event.
#include <catch2/catch.hpp>

#include "uevent/parse.hpp"
#include "uevent/rebroadcast.hpp"

using namespace kplug;

TEST_CASE("an event encoded as the kernel would send it parses back to itself", "[rebroadcast]") {
  Uevent ev;
  ev.action = "add";
  ev.devpath = "/devices/pci0000:00/0000:00:02.0/usb1/1-1/1-1:1.0";
  ev.subsystem = "usb";
  ev.seqnum = 2455;
  ev.properties = {{"ACTION", "add"},  {"DEVPATH", ev.devpath}, {"SUBSYSTEM", "usb"},
                   {"MODALIAS", "usb:v08E6p4433d0100dc00dsc00dp00ic0Bisc00ip00in00"}, {"SEQNUM", "2455"}};
  std::string datagram = encode_datagram(ev);
  CHECK(datagram.rfind("add@/devices/pci0000:00/0000:00:02.0/usb1/1-1/1-1:1.0", 0) == 0);
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
