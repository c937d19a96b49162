// The ledger of kplugd's own loads: when a module has lost its last device.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "daemon/control_json.hpp"
#include "daemon/ledger.hpp"
#include "daemon/ledger_store.hpp"

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

TEST_CASE("ancestry", "[ledger]") {
  CHECK(is_same_or_below("/devices/a/b", "/devices/a"));
  CHECK(is_same_or_below("/devices/a", "/devices/a"));
  CHECK_FALSE(is_same_or_below("/devices/ab", "/devices/a"));
  CHECK_FALSE(is_same_or_below("/devices", "/devices/a"));
}

TEST_CASE("the ledger survives a round trip through its file", "[ledger][store]") {
  Ledger l;
  l.record_load("usb_hello", "/devices/usb1/1-1/1-1:1.0", "usb:v08E6p4433", microseconds(1500), true,
                std::chrono::milliseconds(3000));
  l.record_load("usbhid", "/devices/usb1/1-2/1-2:1.0", "usb:v0627p0001", microseconds(68000), false);
  std::string path = "/tmp/kplug-ledger-test-" + std::to_string(::getpid()) + ".json";
  REQUIRE(save_ledger(path, l).has_value());
  auto back = load_ledger(path);
  REQUIRE(back.has_value());
  CHECK(ledger_to_json(*back) == ledger_to_json(l));
  CHECK(back->entries().at("usb_hello").unload_grace == std::chrono::milliseconds(3000));
  CHECK_FALSE(back->entries().at("usbhid").unload_on_remove);

  std::ofstream(path) << "{\"version\":1,\"modules\":{\"x\":{\"devices\":42}}}";
  auto corrupt = load_ledger(path);
  REQUIRE_FALSE(corrupt.has_value());
  CHECK(corrupt.error().find("is corrupt") != std::string::npos);
  std::ofstream(path) << "garbage";
  CHECK_FALSE(load_ledger(path).has_value());
  std::remove(path.c_str());
  CHECK(load_ledger(path).has_value());  // no file yet: an empty ledger
  CHECK(load_ledger(path)->entries().empty());
  CHECK_FALSE(save_ledger("/nonexistent-dir/state.json", l).has_value());
}

TEST_CASE("only reload needs root on the control socket", "[control]") {
  CHECK(request_needs_root("reload"));
  for (const char* r : {"status", "loaded", "settle", "events"}) CHECK_FALSE(request_needs_root(r));
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
