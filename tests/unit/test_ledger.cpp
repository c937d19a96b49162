// The ledger of kplugd's own loads: when a module has lost its last device.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "daemon/ledger.hpp"

using namespace kplug;
using std::chrono::microseconds;

TEST_CASE("a module is orphaned when its last device goes", "[ledger]") {
  Ledger l;
  l.record_load("usb_hello", "/devices/usb1/1-1/1-1:1.0", "usb:v08E6p4433", microseconds(1500));
  l.record_load("usb_hello", "/devices/usb1/1-2/1-2:1.0", "usb:v08E6p4433", microseconds(0));
  CHECK(l.owns("usb_hello"));
  CHECK_FALSE(l.owns("usbhid"));
  CHECK(l.entries().at("usb_hello").load_time == microseconds(1500));  // the first load's
  CHECK(l.remove_device("/devices/usb1/1-1/1-1:1.0").empty());        // one device is left
  CHECK(l.remove_device("/devices/usb1/1-2/1-2:1.0") == std::vector<std::string>{"usb_hello"});
  CHECK(l.owns("usb_hello"));  // still owned until the daemon unloads it
  l.forget("usb_hello");
  CHECK_FALSE(l.owns("usb_hello"));
}

TEST_CASE("removing an ancestor removes the devices below it", "[ledger]") {
  Ledger l;
  l.record_load("usbhid", "/devices/usb1/1-1/1-1:1.0", "usb:...", microseconds(0));
  l.record_load("hid_generic", "/devices/usb1/1-1/1-1:1.0/0003:0627:0001.0001", "hid:...", microseconds(0));
  CHECK(l.remove_device("/devices/usb1/1-10").empty());  // a sibling whose name shares a prefix
  CHECK(l.remove_device("/devices/usb1/1-1") == std::vector<std::string>{"hid_generic", "usbhid"});
}

TEST_CASE("devices that are not in the ledger change nothing", "[ledger]") {
  Ledger l;
  l.add_device("preloaded", "/devices/x");  // kplugd did not load it: it stays unknown
  CHECK_FALSE(l.owns("preloaded"));
  CHECK(l.remove_device("/devices/x").empty());
}

TEST_CASE("the ledger's revision moves only when something changes", "[ledger]") {
  Ledger l;
  auto r0 = l.revision();
  l.record_load("m", "/devices/a", "x", microseconds(1));
  auto r1 = l.revision();
  CHECK(r1 > r0);
  l.add_device("m", "/devices/a");  // already there
  l.add_device("other", "/devices/a");  // not kplugd's
  CHECK(l.remove_device("/devices/zzz").empty());
  l.forget("other");
  CHECK(l.revision() == r1);
  l.add_device("m", "/devices/b");
  CHECK(l.revision() > r1);
  auto r2 = l.revision();
  l.remove_device("/devices/b");
  CHECK(l.revision() > r2);
}
