// The event queue: events of one device tree in arrival order, unrelated ones at once.
#include <catch2/catch.hpp>

#include "base/names.hpp"
#include "daemon/event_queue.hpp"
#include "daemon_fixtures.hpp"

using namespace kplug;
using kplug::test::add;

TEST_CASE("the event queue orders related devices and lets unrelated ones go", "[event_queue]") {
  EventQueue q;
  auto parent = q.push(add("/devices/usb1/1-1", ""));
  q.push(add("/devices/usb1/1-1/1-1:1.0", ""));  // a child
  q.push(add("/devices/usb1/1-10", ""));         // a sibling whose name shares a prefix
  q.push(add("/devices/usb1", ""));              // an ancestor
  auto first = q.take_ready();
  REQUIRE(first.size() == 2);
  CHECK(first[0].second.devpath == "/devices/usb1/1-1");
  CHECK(first[1].second.devpath == "/devices/usb1/1-10");
  CHECK(q.waiting() == 2);
  CHECK(q.take_ready().empty());  // nothing new until the parent is done
  q.finish(parent);
  auto second = q.take_ready();
  REQUIRE(second.size() == 1);
  CHECK(second[0].second.devpath == "/devices/usb1/1-1/1-1:1.0");  // the ancestor still waits for the sibling
  CHECK(related_devices("/devices/a", "/devices/a/b"));
  CHECK_FALSE(related_devices("/devices/a", "/devices/ab"));
}

TEST_CASE("events of one device run one at a time in arrival order, and a finish frees only its tree",
          "[event_queue]") {
  EventQueue q;
  auto parent = q.push(add("/devices/a", ""));
  q.push(add("/devices/a/b", ""));  // 2: waits for the parent
  q.push(add("/devices/a/b", ""));  // 3: waits for 2
  auto other = q.push(add("/devices/z", ""));
  q.push(add("/devices/z/y", ""));  // 5: waits for z
  CHECK(q.take_ready().size() == 2);  // /devices/a and /devices/z
  q.finish(parent);
  auto next = q.take_ready();
  REQUIRE(next.size() == 1);  // only 2; 3 waits for it; z's child still waits for z
  CHECK(next[0].first == parent + 1);
  q.finish(next[0].first);
  next = q.take_ready();
  REQUIRE(next.size() == 1);
  CHECK(next[0].first == parent + 2);
  q.finish(other);
  next = q.take_ready();
  REQUIRE(next.size() == 1);
  CHECK(next[0].second.devpath == "/devices/z/y");
  CHECK(q.waiting() == 0);
  CHECK(q.running() == 2);
}

TEST_CASE("a move waits for the events of its old path, and later events of that path wait for it", "[event_queue]") {
  EventQueue q;
  auto old_add = q.push(add("/devices/net/eth0", ""));
  Uevent move = add("/devices/net/enp1s0", "");
  move.action = "move";
  move.properties.emplace_back("DEVPATH_OLD", "/devices/net/eth0");
  auto moved = q.push(move);
  auto later_old = q.push(add("/devices/net/eth0", ""));
  q.push(add("/devices/net/other", ""));  // unrelated: goes at once
  auto first = q.take_ready();
  REQUIRE(first.size() == 2);
  CHECK(first[0].first == old_add);
  CHECK(first[1].second.devpath == "/devices/net/other");
  q.finish(old_add);
  auto second = q.take_ready();
  REQUIRE(second.size() == 1);
  CHECK(second[0].first == moved);
  q.finish(moved);
  auto third = q.take_ready();
  REQUIRE(third.size() == 1);
  CHECK(third[0].first == later_old);
  CHECK(q.waiting() == 0);

  // A DEVPATH_OLD that could leave /sys is not a path to order on.
  EventQueue r;
  auto held = r.push(add("/devices/a", ""));
  Uevent odd = add("/devices/b", "");
  odd.action = "move";
  odd.properties.emplace_back("DEVPATH_OLD", "/devices/a/../../x");
  r.push(odd);
  CHECK(r.take_ready().size() == 2);
  r.finish(held);
}
