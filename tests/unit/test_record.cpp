// The record format `kplug test --event` reads: KEY=VALUE lines or a monitor JSON line.
#include <catch2/catch.hpp>

#include "uevent/record.hpp"

using namespace kplug;

TEST_CASE("KEY=VALUE lines, with comments and CRLF, and their defaults", "[record]") {
  auto ev = parse_record("# a card reader\r\nDEVPATH=/devices/x/1-1:1.0\r\nSUBSYSTEM=usb\r\n\r\nMODALIAS=usb:v08E6p4433\r\n");
  REQUIRE(ev.has_value());
  CHECK(ev->action == "add");  // the default
  CHECK(ev->devpath == "/devices/x/1-1:1.0");
  CHECK(ev->subsystem == "usb");
  CHECK(ev->modalias() == "usb:v08E6p4433");
  CHECK(ev->seqnum == 0);

  auto removal = parse_record("ACTION=remove\nDEVPATH=/devices/y\nSUBSYSTEM=input\nSEQNUM=4711\n");
  REQUIRE(removal.has_value());
  CHECK(removal->action == "remove");
  CHECK(removal->seqnum == 4711);
}

TEST_CASE("a line of `kplug monitor --json`, with or without its properties object", "[record]") {
  auto ev = parse_record(R"({"type":"uevent","properties":{"ACTION":"add","DEVPATH":"/devices/v","SUBSYSTEM":"virtio","MODALIAS":"virtio:d00000005v00001AF4","SEQNUM":12}})");
  REQUIRE(ev.has_value());
  CHECK(ev->devpath == "/devices/v");
  CHECK(ev->seqnum == 12);  // a number is taken as its text
  auto flat = parse_record("  {\"DEVPATH\":\"/devices/w\",\"SUBSYSTEM\":\"usb\"}\nignored second line");
  REQUIRE(flat.has_value());
  CHECK(flat->devpath == "/devices/w");
}

TEST_CASE("bad records are errors that say what is wrong", "[record]") {
  auto error = [](const std::string& text) {
    auto ev = parse_record(text);
    REQUIRE_FALSE(ev.has_value());
    return ev.error();
  };
  CHECK(error("SUBSYSTEM=usb\n") == "the event has no DEVPATH");
  CHECK(error("DEVPATH=/devices/x\n") == "the event has no SUBSYSTEM");
  CHECK(error("DEVPATH=/devices/x\nSUBSYSTEM=usb\nnot a pair\n") == "line 3: expected KEY=VALUE");
  CHECK(error("=value\n") == "line 1: expected KEY=VALUE");
  CHECK(error("ACTION=explode\nDEVPATH=/devices/x\nSUBSYSTEM=usb\n") == "unknown ACTION 'explode'");
  CHECK(error("DEVPATH=/devices/../../etc\nSUBSYSTEM=usb\n") == "DEVPATH '/devices/../../etc' is not a path under /sys");
  CHECK(error("{\"DEVPATH\":") == "the first line is not a JSON object");
  CHECK(error("{\"properties\":[1,2]}") == "\"properties\" is not an object");
  CHECK(error("{\"DEVPATH\":\"/devices/\xff\xfe\"}") == "the first line is not a JSON object");  // not UTF-8
}
