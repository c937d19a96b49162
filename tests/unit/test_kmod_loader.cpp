// The libkmod and dry-run loaders against the Debian modules tree: their shared checks,
// the modprobe.d blacklist, running out of descriptors, a context that follows changes.
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
#include "kernel_tree.hpp"

using namespace kplug;
using kplug::test::context;
using kplug::test::modules_dir;

TEST_CASE("the dry-run loader applies the real loader's checks", "[kmod_loader]") {
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

TEST_CASE("the modprobe.d blacklist applies unless the job opts out", "[kmod_loader]") {
  std::string conf = std::string(KPLUG_TEST_DATA) + "/modprobe.d/blacklist-balloon.conf";
  DryRunLoader loader(context({conf}));
  CHECK(loader.load({"virtio_balloon", true, "/devices/x", "virtio:d00000005v00001AF4"}).status ==
        LoadStatus::blacklisted);
  // A rule that says load_blacklisted: true (the job does not apply the blacklist) loads it.
  CHECK(loader.load({"virtio_balloon", false, "", ""}).status == LoadStatus::would_load);
}

TEST_CASE("out of descriptors is reported as such, never as 'no such module'", "[kmod_loader]") {
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

TEST_CASE("a loader thread's context follows a new blacklist", "[kmod_loader]") {
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
