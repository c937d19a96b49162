// The Uevent value: properties and the journal fields of an event.
#include <catch2/catch.hpp>

#include "base/logging.hpp"
#include "uevent/uevent.hpp"

using namespace kplug;

TEST_CASE("an event's journal fields", "[uevent]") {
  Uevent ev;
  ev.devpath = "/devices/x";
  ev.subsystem = "usb";
  ev.properties = {{"MODALIAS", "usb:v1"}, {"SEQNUM", "42"}};
  CHECK(event_fields(ev) == LogFields{{"DEVPATH", "/devices/x"}, {"SUBSYSTEM", "usb"}, {"MODALIAS", "usb:v1"},
                                      {"SEQNUM", "42"}});
  ev.properties = {{"SEQNUM", "0"}};  // coldplug: no kernel SEQNUM
  CHECK(event_fields(ev) == LogFields{{"DEVPATH", "/devices/x"}, {"SUBSYSTEM", "usb"}});
}
