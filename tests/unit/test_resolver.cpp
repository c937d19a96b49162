// The resolver against the Debian modules tree from scripts/fetch-kernel.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>
#include <cstdlib>

#include "kmod/dry_run_loader.hpp"
#include "kmod/kmod_loader.hpp"
#include "daemon_fixtures.hpp"
#include "kmod/resolver.hpp"

using namespace kplug;

namespace {

std::string modules_dir() {
  const char* dir = std::getenv("KPLUG_TEST_MODULES_DIR");
  // Not a skip: without the tree these tests prove nothing, so they fail.
  REQUIRE(dir != nullptr);
  REQUIRE(std::string(dir) != "");
  return dir;
}

std::unique_ptr<KmodContext> context(std::vector<std::string> config = {"/nonexistent"}) {
  auto ctx = KmodContext::open({modules_dir(), std::move(config)});
  REQUIRE(ctx.has_value());
  return std::move(*ctx);
}

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

TEST_CASE("the dry-run loader applies the real loader's checks", "[loader]") {
  DryRunLoader loader(context());
  CHECK(loader.load({"virtio_balloon", true, "/devices/x", "virtio:d00000005v00001AF4"}).status ==
        LoadStatus::would_load);
  CHECK(loader.load({"8250_dw", true, "/devices/x", "platform:dw-apb-uart"}).status == LoadStatus::builtin);
  auto unknown = loader.load({"no_such_module", false, "", ""});
  CHECK(unknown.status == LoadStatus::failed);
  CHECK(unknown.message.find("no such module") != std::string::npos);
  auto evil = loader.load({"../../tmp/evil", false, "", ""});
  CHECK(evil.status == LoadStatus::failed);
  CHECK(evil.message.find("not a module name") != std::string::npos);
  CHECK(loader.jobs().size() == 4);
}

TEST_CASE("the modprobe.d blacklist applies to aliases only", "[loader]") {
  std::string conf = std::string(KPLUG_TEST_DATA) + "/modprobe.d/blacklist-balloon.conf";
  DryRunLoader loader(context({conf}));
  CHECK(loader.load({"virtio_balloon", true, "/devices/x", "virtio:d00000005v00001AF4"}).status ==
        LoadStatus::blacklisted);
  // Named explicitly (not through an alias), it still loads.
  CHECK(loader.load({"virtio_balloon", false, "", ""}).status == LoadStatus::would_load);
}

TEST_CASE("out of descriptors is reported as such, never as 'no such module'", "[loader]") {
  KmodOptions o{modules_dir(), {"/nonexistent"}};
  o.map_indexes = false;  // as kplugd's loader threads: each lookup opens the index
  auto ctx = KmodContext::open(o);
  REQUIRE(ctx.has_value());
  DryRunLoader loader(std::move(*ctx));
  // The same messages once with descriptors to spare: UBSan's first check of a dynamic
  // type probes memory through a pipe, which it could not open below.
  CHECK(loader.load({"no_such_module", true, "/devices/x", ""}).error == ENOENT);
  // Fill every free descriptor below the limit.
  rlimit saved{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &saved) == 0);
  rlimit low = saved;
  low.rlim_cur = 256;
  REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
  std::vector<int> held;
  for (int fd; (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) held.push_back(fd);
  auto r = loader.load({"virtio_balloon", true, "/devices/x", "virtio:d00000005v00001AF4"});
  for (int fd : held) close(fd);
  setrlimit(RLIMIT_NOFILE, &saved);
  CHECK(r.status == LoadStatus::failed);
  CHECK(r.error == EMFILE);
  CHECK(r.message.find("Too many open files") != std::string::npos);
  CHECK(r.message.find("no such module") == std::string::npos);
  // With descriptors back, the same load goes through.
  CHECK(loader.load({"virtio_balloon", true, "/devices/x", "virtio:d00000005v00001AF4"}).status ==
        LoadStatus::would_load);
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

TEST_CASE("a loader thread's context follows a new blacklist", "[loader]") {
  std::string dir = "/tmp/kplug-blacklist-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  KmodOptions o{modules_dir(), {dir}};
  o.map_indexes = false;
  auto ctx = KmodContext::open(o);
  REQUIRE(ctx.has_value());
  DryRunLoader loader(std::move(*ctx));
  LoadJob job{"virtio_balloon", true, "/devices/x", "virtio:d00000005v00001AF4"};
  CHECK(loader.load(job).status == LoadStatus::would_load);
  std::ofstream(dir + "/blacklist.conf") << "blacklist virtio_balloon\n";
  CHECK(loader.load(job).status == LoadStatus::blacklisted);
  std::filesystem::remove_all(dir);
}

TEST_CASE("the daemon tests' fake resolver answers what the Debian tree answers", "[resolver]") {
  KmodResolver r(context());
  auto fake = kplug::test::resolver();
  for (const auto& [key, modules] : fake->aliases_) CHECK(*r.resolve(key) == modules);
  CHECK(r.resolve("nothing:here")->empty());
  CHECK(fake->resolve("nothing:here")->empty());
}
