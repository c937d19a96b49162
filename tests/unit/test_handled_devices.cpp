// Which devices a rescan must not act on again, and the rescan's one summary line.
#include <catch2/catch.hpp>

#include "daemon/handled_devices.hpp"

using namespace kplug;

TEST_CASE("a device is handled from its add until its remove", "[rescan]") {
  HandledDevices handled;
  CHECK_FALSE(handled.note_add("/devices/a"));
  CHECK(handled.note_add("/devices/a"));  // the rescan's add: already handled
  CHECK(handled.contains("/devices/a"));
  handled.note_remove("/devices/a");
  CHECK_FALSE(handled.contains("/devices/a"));
  CHECK_FALSE(handled.note_add("/devices/a"));  // back again: news
  handled.note_remove("/devices/never-added");  // harmless
  CHECK(handled.size() == 1);
}

TEST_CASE("past its bound nothing more is remembered, and that is counted", "[rescan]") {
  HandledDevices handled(2);
  CHECK_FALSE(handled.note_add("/devices/a"));
  CHECK_FALSE(handled.note_add("/devices/b"));
  CHECK_FALSE(handled.note_add("/devices/c"));
  CHECK_FALSE(handled.note_add("/devices/c"));  // not remembered: acted on again
  CHECK(handled.size() == 2);
  CHECK(handled.overflow() == 2);
  handled.note_remove("/devices/a");
  CHECK_FALSE(handled.note_add("/devices/c"));
  CHECK(handled.note_add("/devices/c"));
}

TEST_CASE("a rescan is told in one line", "[rescan]") {
  RescanTally t;
  t.devices = 143;
  CHECK(t.summary() == "143 present device(s) decided again, 0 not seen before, 0 gone; nothing new loaded");
  t.not_seen = 2;
  t.gone = 1;
  t.quiet = 141;
  t.loaded = {"usbhid", "usb_hello"};
  t.failed = {"broken"};
  CHECK(t.summary() ==
        "143 present device(s) decided again, 2 not seen before, 1 gone; loaded usb_hello, usbhid; failed broken; "
        "rule actions not repeated for 141 device(s) already handled");
  t.dry_run = true;
  t.failed.clear();
  t.quiet = 0;
  CHECK(t.summary() == "143 present device(s) decided again, 2 not seen before, 1 gone; would load usb_hello, usbhid");
  t.loaded.clear();
  CHECK(t.summary() == "143 present device(s) decided again, 2 not seen before, 1 gone; nothing would be loaded");
}

TEST_CASE("a device is handled as its decision's stamp until a load of it fails or it goes", "[handled_devices][replay]") {
  HandledDevices h;
  Decision d;
  d.modalias = "usb:v08E6p4433d0100dc00dsc00dp00ic0Bisc00ip00in00";
  d.autoload = true;
  std::uint64_t stamp = decision_stamp(d, 0);
  CHECK(stamp != 0);
  CHECK_FALSE(h.handled_as("/devices/r", stamp));
  CHECK_FALSE(h.note_add("/devices/r", stamp));
  CHECK(h.handled_as("/devices/r", stamp));
  CHECK_FALSE(h.handled_as("/devices/r", decision_stamp(d, 1)));  // after a reload
  Decision other = d;
  other.load.emplace_back("usb_hello", "demo");
  CHECK(decision_stamp(other, 0) != stamp);
  other = d;
  other.options["usb_hello"] = "greeting=1";
  CHECK(decision_stamp(other, 0) != stamp);
  other = d;
  other.blacklist.insert("usb_hello");
  CHECK(decision_stamp(other, 0) != stamp);
  h.note_failure("/devices/r");
  CHECK_FALSE(h.handled_as("/devices/r", stamp));
  CHECK(h.note_add("/devices/r", stamp));  // decided and acted on again
  CHECK(h.handled_as("/devices/r", stamp));
  h.note_remove("/devices/r");
  CHECK_FALSE(h.handled_as("/devices/r", stamp));
}
