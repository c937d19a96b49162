// kplugd's bounded memory of failed loads (shown by `kplug doctor`).
#include <catch2/catch.hpp>

#include "daemon/failure_history.hpp"

using namespace kplug;

TEST_CASE("failed loads are counted per module, most recent first", "[failure_history]") {
  FailureHistory h;
  h.record("fail_init", "/devices/a", 19, "No such device", 100);
  h.record("other", "/devices/b", 2, "No such file or directory", 101);
  h.record("fail_init", "/devices/c", 19, "No such device", 102);
  auto e = h.entries();
  REQUIRE(e.size() == 2);
  CHECK(e[0].module == "fail_init");
  CHECK(e[0].count == 2);
  CHECK(e[0].devpath == "/devices/c");
  CHECK(e[0].last_unix == 102);
  CHECK(e[1].module == "other");
}

TEST_CASE("the history is bounded: the oldest failure goes first, long messages are cut", "[failure_history]") {
  FailureHistory h(3);
  for (int i = 0; i < 10; ++i) h.record("m" + std::to_string(i), "/d", 5, std::string(1000, 'x'), i);
  auto e = h.entries();
  REQUIRE(e.size() == 3);
  CHECK(e[0].module == "m9");
  CHECK(e[2].module == "m7");
  CHECK(e[0].message.size() == 256);
  CHECK(h.evicted() == 7);
}
