// The record format: one event as `kplug test --event` reads it (KEY=VALUE lines or a
// monitor JSON line), and the streams `kplug monitor --record` writes.
#include <sstream>
#include <vector>

#include <catch2/catch.hpp>

#include "daemon_fixtures.hpp"
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

namespace {

std::vector<RecordedEvent> read_all(const std::string& text, std::string* error = nullptr) {
  std::istringstream in(text);
  RecordReader reader(in);
  std::vector<RecordedEvent> out;
  for (;;) {
    auto next = reader.next();
    if (!next) {
      if (error) *error = next.error();
      return out;
    }
    if (!*next) return out;
    out.push_back(std::move(**next));
  }
}

}  // namespace

TEST_CASE("a recorded stream: header, events with times and sources, written and read back", "[record]") {
  RecordHeader h;
  h.kernel = "6.1.0-57-amd64";
  h.hostname = "box";
  h.started = 1764460000.5;
  Uevent cold = test::usb_ccid_add();
  cold.source = EventSource::coldplug;
  Uevent removal = test::usb_ccid_add();
  removal.action = "remove";
  removal.properties[0].second = "remove";
  std::string text = record_header_line(h) + "\n" + record_event_line(cold, 10.25) + "\n\n" +
                     record_event_line(removal, 12.5) + "\n";
  std::istringstream in(text);
  RecordReader reader(in);
  auto first = reader.next();
  REQUIRE(first.has_value());
  REQUIRE(first->has_value());
  REQUIRE(reader.header().has_value());
  CHECK(reader.header()->kernel == "6.1.0-57-amd64");
  CHECK(reader.header()->started == 1764460000.5);
  CHECK((*first)->event.source == EventSource::coldplug);
  CHECK((*first)->event.seqnum == 42);
  CHECK((*first)->timestamp == 10.25);
  auto second = reader.next();
  REQUIRE(second.has_value());
  REQUIRE(second->has_value());
  CHECK((*second)->event.action == "remove");
  CHECK((*second)->event.source == EventSource::kernel);
  CHECK((*second)->timestamp == 12.5);
  auto end = reader.next();
  REQUIRE(end.has_value());
  CHECK(!end->has_value());
}

TEST_CASE("a stream without a header (kplug monitor --json) and with no final newline", "[record]") {
  auto events = read_all(record_event_line(test::usb_ccid_add(), 3) + "\n" + record_event_line(test::usb_ccid_add(), 1));
  REQUIRE(events.size() == 2);
  CHECK(events[1].timestamp == 3);  // time never runs backwards
}

TEST_CASE("bad streams are refused with the line, never thrown", "[record]") {
  std::string error;
  read_all(record_event_line(test::usb_ccid_add(), 1) + "\nnot json\n", &error);
  CHECK(error == "line 2: not a JSON object");
  read_all(record_event_line(test::usb_ccid_add(), 1) + "\n{\"kplug_record\":1}\n", &error);
  CHECK(error == "line 2: a header line must come first");
  read_all("{\"kplug_record\":2}\n", &error);
  CHECK(error == "line 1: format version 2 is newer than this kplug reads (1): update kplug");
  read_all("{\"DEVPATH\":\"/devices/x\"}\n", &error);
  CHECK(error == "line 1: the event has no SUBSYSTEM");
  read_all("{\"DEVPATH\":\"/devices/x\",\"SUBSYSTEM\":\"usb\",\"timestamp\":\"soon\"}\n", &error);
  CHECK(error == "line 1: \"timestamp\" is not a number of seconds");
  // Beyond what the replay's clock holds (nanoseconds in 64 bits): refused, never overflowed.
  read_all("{\"DEVPATH\":\"/devices/x\",\"SUBSYSTEM\":\"usb\",\"timestamp\":9.3e9}\n", &error);
  CHECK(error == "line 1: \"timestamp\" is not a number of seconds");
  error.clear();
  read_all("{\"DEVPATH\":\"/devices/x\",\"SUBSYSTEM\":\"usb\",\"timestamp\":3.9e9}\n", &error);
  CHECK(error.empty());
  read_all("{\"DEVPATH\":\"/devices/x\",\"SUBSYSTEM\":\"usb\",\"source\":\"forged\"}\n", &error);
  CHECK(error == "line 1: unknown \"source\" 'forged' (kernel, coldplug or rescan)");
  read_all(std::string(record_max_line + 10, 'x') + "\n" + record_event_line(test::usb_ccid_add(), 1), &error);
  CHECK(error == "line 1: longer than 65536 bytes");
}
