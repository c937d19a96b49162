// The datagram parser: real captures parse; every malformed shape is an error value.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>

#include "base/names.hpp"
#include "uevent/parse.hpp"

using namespace kplug;

namespace {

std::string capture(const std::string& name) {
  std::ifstream in(std::string(KPLUG_TEST_DATA) + "/datagrams/" + name, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Builds a datagram from NUL-separated parts: {"add@/devices/x", "ACTION=add", ...}.
std::string datagram(std::initializer_list<std::string> parts) {
  std::string out;
  for (const auto& p : parts) {
    out += p;
    out += '\0';
  }
  return out;
}

std::string good_header = "add@/devices/virtual/misc/demo";

std::string good() {
  return datagram({good_header, "ACTION=add", "DEVPATH=/devices/virtual/misc/demo", "SUBSYSTEM=misc",
                   "MODALIAS=platform:demo", "SEQNUM=42"});
}

ParseErrorKind error_of(const std::string& bytes, bool truncated = false) {
  auto r = parse_datagram(std::span<const char>(bytes.data(), bytes.size()), truncated);
  REQUIRE_FALSE(r.has_value());
  return r.error().kind;
}

}  // namespace

TEST_CASE("real captured datagrams parse", "[parse]") {
  auto bytes = capture("virtio_add.bin");
  auto r = parse_datagram(std::span<const char>(bytes.data(), bytes.size()));
  REQUIRE(r.has_value());
  CHECK(r->action == "add");
  CHECK(r->devpath == "/devices/pci0000:00/0000:00:01.0/virtio0");
  CHECK(r->subsystem == "virtio");
  CHECK(r->seqnum == 816);
  CHECK(r->modalias() == "virtio:d00000005v00001AF4");
  CHECK(r->properties.front().first == "ACTION");
  CHECK(r->properties.size() == 7);

  for (const char* name : {"lo_change.bin", "serial8250_add.bin"}) {
    auto b = capture(name);
    auto p = parse_datagram(std::span<const char>(b.data(), b.size()));
    INFO(name);
    CHECK(p.has_value());
  }
  auto lo = capture("lo_change.bin");
  CHECK(parse_datagram(std::span<const char>(lo.data(), lo.size()))->get("INTERFACE") == "lo");
}

TEST_CASE("a well-formed synthetic datagram parses with properties in order", "[parse]") {
  auto bytes = good();
  auto r = parse_datagram(std::span<const char>(bytes.data(), bytes.size()));
  REQUIRE(r.has_value());
  CHECK(r->properties[3] == std::pair<std::string, std::string>("MODALIAS", "platform:demo"));
  CHECK(r->get("NOPE") == std::nullopt);
  CHECK(r->get_or_empty("NOPE").empty());
  // '=' inside a value is kept: only the first '=' splits.
  auto eq = datagram({good_header, "ACTION=add", "DEVPATH=/devices/virtual/misc/demo", "SUBSYSTEM=misc",
                      "OPTS=a=b", "SEQNUM=1"});
  CHECK(parse_datagram(std::span<const char>(eq.data(), eq.size()))->get("OPTS") == "a=b");
}

TEST_CASE("framing errors", "[parse]") {
  CHECK(error_of("") == ParseErrorKind::empty);
  CHECK(error_of(good(), true) == ParseErrorKind::truncated);
  std::string no_nul = good();
  no_nul.pop_back();
  CHECK(error_of(no_nul) == ParseErrorKind::not_nul_terminated);
  std::string huge = datagram({good_header, "ACTION=add", "X=" + std::string(20000, 'a')});
  CHECK(error_of(huge) == ParseErrorKind::too_long);
}

TEST_CASE("header errors", "[parse]") {
  CHECK(error_of(datagram({"add/devices/x", "ACTION=add"})) == ParseErrorKind::bad_header);
  CHECK(error_of(datagram({"@/devices/x", "ACTION=add"})) == ParseErrorKind::bad_header);
  CHECK(error_of(datagram({"add@devices/x", "ACTION=add"})) == ParseErrorKind::bad_header);
  CHECK(error_of(datagram({"add@", "ACTION=add"})) == ParseErrorKind::bad_header);
  CHECK(error_of(datagram({"libudev", "ACTION=add"})) == ParseErrorKind::bad_header);
  CHECK(error_of(datagram({"add@/devices/x"})) == ParseErrorKind::missing_key);
}

TEST_CASE("field errors", "[parse]") {
  auto base = [](std::string extra) {
    return datagram({good_header, "ACTION=add", "DEVPATH=/devices/virtual/misc/demo", "SUBSYSTEM=misc", extra,
                     "SEQNUM=42"});
  };
  CHECK(error_of(base("")) == ParseErrorKind::empty_field);
  CHECK(error_of(base("NOEQUALS")) == ParseErrorKind::bad_field);
  CHECK(error_of(base("=value")) == ParseErrorKind::bad_key);
  CHECK(error_of(base("BAD KEY=1")) == ParseErrorKind::bad_key);
  CHECK(error_of(base("K\x01=1")) == ParseErrorKind::bad_key);
  CHECK(error_of(base(std::string(65, 'K') + "=1")) == ParseErrorKind::bad_key);
  CHECK(error_of(base("BIG=" + std::string(4097, 'v'))) == ParseErrorKind::value_too_long);
  CHECK(error_of(base("ACTION=add")) == ParseErrorKind::duplicate_key);
  std::string many = good_header + '\0';
  for (int i = 0; i < 70; ++i) many += "K" + std::to_string(i) + "=v" + '\0';
  CHECK(error_of(many) == ParseErrorKind::too_many_keys);
  // A double NUL in the middle is an empty field, not an early end.
  auto dbl = datagram({good_header, "ACTION=add", "", "DEVPATH=/devices/virtual/misc/demo"});
  CHECK(error_of(dbl) == ParseErrorKind::empty_field);
}

TEST_CASE("required keys and consistency with the header", "[parse]") {
  auto without = [](std::string drop) {
    std::string out = good_header + '\0';
    for (std::string f : {"ACTION=add", "DEVPATH=/devices/virtual/misc/demo", "SUBSYSTEM=misc", "SEQNUM=42"})
      if (f.rfind(drop + "=", 0) != 0) out += f + '\0';
    return out;
  };
  for (const char* key : {"ACTION", "DEVPATH", "SUBSYSTEM", "SEQNUM"}) {
    INFO(key);
    CHECK(error_of(without(key)) == ParseErrorKind::missing_key);
  }
  CHECK(error_of(datagram({good_header, "ACTION=remove", "DEVPATH=/devices/virtual/misc/demo", "SUBSYSTEM=misc",
                           "SEQNUM=1"})) == ParseErrorKind::header_mismatch);
  CHECK(error_of(datagram({good_header, "ACTION=add", "DEVPATH=/devices/other", "SUBSYSTEM=misc", "SEQNUM=1"})) ==
        ParseErrorKind::header_mismatch);
  CHECK(error_of(datagram({"explode@/devices/x", "ACTION=explode", "DEVPATH=/devices/x", "SUBSYSTEM=misc",
                           "SEQNUM=1"})) == ParseErrorKind::bad_action);
  for (std::string bad : {"12x", "", "-1", "99999999999999999999999"}) {
    INFO(bad);
    CHECK(error_of(datagram({good_header, "ACTION=add", "DEVPATH=/devices/virtual/misc/demo", "SUBSYSTEM=misc",
                             "SEQNUM=" + bad})) == ParseErrorKind::bad_seqnum);
  }
}

TEST_CASE("devpaths that could leave /sys are rejected", "[parse]") {
  for (std::string bad : {"/devices/../../etc", "/devices/./x", "/devices//x", "/devices/x/", "/..",
                          "/devices/x\nINJECT"}) {
    INFO(bad);
    CHECK_FALSE(is_safe_devpath(bad));
    CHECK(error_of(datagram({"add@" + bad, "ACTION=add", "DEVPATH=" + bad, "SUBSYSTEM=misc", "SEQNUM=1"})) ==
          ParseErrorKind::bad_devpath);
  }
  CHECK(is_safe_devpath("/devices/pci0000:00/0000:00:01.0/virtio0"));
  CHECK(is_safe_devpath("/devices/..x/y"));  // a name starting with dots is a name
  CHECK_FALSE(is_safe_devpath("devices/x"));
}

TEST_CASE("error kinds have stable names", "[parse]") {
  CHECK(std::string(to_string(ParseErrorKind::bad_header)) == "bad_header");
  CHECK(std::string(to_string(ParseErrorKind::truncated)) == "truncated");
}
