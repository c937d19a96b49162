// The resolver against the Debian modules tree from scripts/fetch-kernel.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>
#include <cstdlib>

#include "daemon_fixtures.hpp"
#include "kmod/resolver.hpp"
#include "kernel_tree.hpp"

using namespace kplug;
using kplug::test::context;
using kplug::test::modules_dir;

namespace {

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("resolves wildcard, multi-module, builtin and unmatched keys", "[resolver]") {
  KmodResolver r(context());
  CHECK(*r.resolve("virtio:d00000005v00001AF4") == std::vector<std::string>{"virtio_balloon"});
  CHECK(*r.resolve("usb:v0627p0001d0000dc00dsc00dp00ic03isc01ip01in00") == std::vector<std::string>{"usbhid"});
  auto cpu = sorted(*r.resolve("cpu:type:x86,ven0000fam0006mod0055:feature:,0000,0001"));
  CHECK(cpu.size() >= 5);
  CHECK(std::find(cpu.begin(), cpu.end(), "intel_uncore") != cpu.end());
  CHECK(*r.resolve("platform:dw-apb-uart") == std::vector<std::string>{"8250_dw"});  // builtin
  CHECK(r.resolve("nothing:here")->empty());
}

TEST_CASE("answers are cached, including 'nothing matches'", "[resolver]") {
  KmodResolver r(context());
  CHECK(r.resolve("nothing:here")->empty());
  CHECK(r.resolve("virtio:d00000005v00001AF4")->size() == 1);
  CHECK(r.cache_misses() == 2);
  CHECK(r.cache_hits() == 0);
  CHECK(r.resolve("nothing:here")->empty());
  CHECK(r.resolve("virtio:d00000005v00001AF4")->size() == 1);
  CHECK(r.cache_misses() == 2);
  CHECK(r.cache_hits() == 2);
  CHECK(*r.resolve_uncached("virtio:d00000005v00001AF4") == *r.resolve("virtio:d00000005v00001AF4"));
}

TEST_CASE("the cache is bounded: full, it starts over, and answers stay right", "[resolver]") {
  KmodResolver r(context(), 4);
  for (int i = 0; i < 10; ++i) CHECK(r.resolve("usb:v1234p" + std::to_string(1000 + i) + "d0000")->empty());
  CHECK(r.cache_size() <= 4);
  CHECK(*r.resolve("virtio:d00000005v00001AF4") == std::vector<std::string>{"virtio_balloon"});
  CHECK(*r.resolve("virtio:d00000005v00001AF4") == std::vector<std::string>{"virtio_balloon"});
  CHECK(r.cache_size() <= 4);
  CHECK(r.cache_hits() == 1);
}

TEST_CASE("a missing or unindexed modules directory is a clear error", "[resolver]") {
  auto missing = KmodContext::open({"/nonexistent/lib/modules/1.2.3", {}});
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().find("does not exist") != std::string::npos);
  auto unindexed = KmodContext::open({"/tmp", {}});
  REQUIRE_FALSE(unindexed.has_value());
  CHECK(unindexed.error().find("run depmod") != std::string::npos);
}

TEST_CASE("a changed modprobe.d or module index is noticed and read again", "[resolver]") {
  std::string dir = "/tmp/kplug-modprobe-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  KmodResolver resolver(context({dir}));
  CHECK(resolver.resolve("kplug-test-alias")->empty());  // cached: nothing matches
  CHECK_FALSE(resolver.refresh());                         // nothing changed
  std::ofstream(dir + "/local.conf") << "alias kplug-test-alias virtio_rng\n";
  CHECK(resolver.refresh());
  CHECK(resolver.reloads() == 1);
  CHECK(*resolver.resolve("kplug-test-alias") == std::vector<std::string>{"virtio_rng"});
  // Without being asked: resolve() checks at most every check_interval.
  std::ofstream(dir + "/local.conf") << "alias kplug-test-alias virtio_balloon\n";
  std::this_thread::sleep_for(KmodResolver::check_interval + std::chrono::milliseconds(50));
  CHECK(*resolver.resolve("kplug-test-alias") == std::vector<std::string>{"virtio_balloon"});
  CHECK(resolver.reloads() == 2);
  std::filesystem::remove_all(dir);
}

TEST_CASE("the daemon tests' fake resolver answers what the Debian tree answers", "[resolver]") {
  KmodResolver r(context());
  auto fake = kplug::test::resolver();
  for (const auto& [key, modules] : fake->aliases_) CHECK(*r.resolve(key) == modules);
  CHECK(r.resolve("nothing:here")->empty());
  CHECK(fake->resolve("nothing:here")->empty());
}
