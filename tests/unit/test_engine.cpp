// The engine: per-device ordering, parallel loads, coalescing, slow loads. Fake loaders
// stand in for the kernel; a gate holds a load "in the kernel's init" for as long as the
// test wants.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

#include "base/names.hpp"
#include "daemon/daemon.hpp"
#include "daemon_fixtures.hpp"
#include "daemon/event_queue.hpp"

using namespace kplug;
using kplug::test::add;
using kplug::test::resolver;
using namespace std::chrono_literals;

namespace {

constexpr const char* balloon = "virtio:d00000005v00001AF4";  // virtio_balloon
constexpr const char* rng = "virtio:d00000004v00001AF4";      // virtio_rng
constexpr const char* net = "virtio:d00000001v00001AF4";      // virtio_net

// Shared by every loader of a test: records each attempt; virtio_balloon's load waits
// at the gate until the test opens it.
struct Kernel {
  std::mutex mutex;
  std::condition_variable cv;
  bool gate_open = false;
  std::vector<std::string> attempts;

  void open_gate() {
    std::lock_guard lock(mutex);
    gate_open = true;
    cv.notify_all();
  }
  std::size_t count(const std::string& module) {
    std::lock_guard lock(mutex);
    return static_cast<std::size_t>(std::count(attempts.begin(), attempts.end(), module));
  }
};

class GateLoader : public ModuleLoader {
 public:
  explicit GateLoader(Kernel& k) : k_(k) {}
  LoadResult load(const LoadJob& job) override {
    std::unique_lock lock(k_.mutex);
    k_.attempts.push_back(job.module);
    if (job.module == "virtio_balloon") k_.cv.wait(lock, [&] { return k_.gate_open; });
    LoadResult r;
    r.status = LoadStatus::loaded;
    return r;
  }
  UnloadResult unload(const std::string&, const std::vector<std::string>&) override {
    return {UnloadStatus::unloaded, "", {}, {}};
  }

 private:
  Kernel& k_;
};

std::vector<std::unique_ptr<ModuleLoader>> loaders(Kernel& k, int n) {
  std::vector<std::unique_ptr<ModuleLoader>> v;
  for (int i = 0; i < n; ++i) v.push_back(std::make_unique<GateLoader>(k));
  return v;
}

DaemonOptions options() {
  DaemonOptions o;
  o.coldplug = false;
  o.unload_subsystems = {};
  return o;
}

// Runs the loop until PRED holds (or 5 s pass).
template <typename Pred>
bool run_until(boost::asio::io_context& io, Pred pred) {
  for (int i = 0; i < 500 && !pred(); ++i) {
    io.restart();
    io.run_for(10ms);
  }
  return pred();
}

}  // namespace

TEST_CASE("the event queue orders related devices and lets unrelated ones go", "[engine][queue]") {
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

TEST_CASE("a child's event waits for its parent's load; unrelated events do not", "[engine][ordering]") {
  Kernel k;
  boost::asio::io_context io;
  Daemon daemon(io, options(), nullptr, resolver(), loaders(k, 2));
  daemon.on_uevent(add("/devices/p", balloon));     // its load is held at the gate
  daemon.on_uevent(add("/devices/p/child", rng));   // must wait for the parent
  daemon.on_uevent(add("/devices/other", net));     // unrelated: must not wait
  CHECK(run_until(io, [&] { return k.count("virtio_net") == 1; }));
  CHECK(k.count("virtio_balloon") == 1);
  CHECK(k.count("virtio_rng") == 0);  // the child has not even been decided yet
  CHECK(daemon.queue().waiting() == 1);
  k.open_gate();
  CHECK(run_until(io, [&] { return k.count("virtio_rng") == 1; }));
  CHECK(run_until(io, [&] { return daemon.queue().running() == 0 && daemon.queue().waiting() == 0; }));
}

TEST_CASE("1536 events with the same MODALIAS: one resolution, one load attempt", "[engine][coalescing]") {
  Kernel k;
  k.open_gate();
  boost::asio::io_context io;
  auto r = resolver();
  test::FakeResolver* res = r.get();
  Daemon daemon(io, options(), nullptr, std::move(r), loaders(k, 2));
  for (int cpu = 0; cpu < 1536; ++cpu) daemon.on_uevent(add("/devices/system/cpu/cpu" + std::to_string(cpu), balloon));
  io.run();
  CHECK(res->cache_misses() == 1);
  CHECK(res->cache_hits() == 1535);
  CHECK(k.count("virtio_balloon") == 1);
  CHECK(daemon.counters().loads_ok == 1);
  CHECK(daemon.counters().loads_coalesced == 1535);
  CHECK(daemon.ledger().entries().at("virtio_balloon").devices.size() == 1536);  // every cpu is recorded
}

TEST_CASE("a slow load is reported and does not hold up other modules", "[engine][slow]") {
  Kernel k;
  boost::asio::io_context io;
  DaemonOptions o = options();
  o.slow_load = 50ms;
  Daemon daemon(io, o, nullptr, resolver(), loaders(k, 2));
  daemon.on_uevent(add("/devices/slow", balloon));
  CHECK(run_until(io, [&] { return daemon.counters().slow_loads == 1; }));
  daemon.on_uevent(add("/devices/fast", net));
  CHECK(run_until(io, [&] { return daemon.counters().loads_ok == 1; }));  // virtio_net, while balloon hangs
  CHECK(k.count("virtio_net") == 1);
  k.open_gate();
  io.restart();
  io.run();
  CHECK(daemon.counters().loads_ok == 2);
}

TEST_CASE("an event that needs no load frees the next event of its tree at once", "[engine][ordering]") {
  Kernel k;
  k.open_gate();
  boost::asio::io_context io;
  Daemon daemon(io, options(), nullptr, resolver(), loaders(k, 1));
  daemon.on_uevent(add("/devices/p", rng));                  // a load: the children wait for it
  daemon.on_uevent(add("/devices/p/c1", "nothing:matches"));  // then done at once, nothing to load
  daemon.on_uevent(add("/devices/p/c1/c2", net));             // and no other event comes to wake it
  io.run();
  CHECK(k.count("virtio_net") == 1);
  CHECK(daemon.queue().waiting() == 0);
  CHECK(daemon.queue().running() == 0);
}

TEST_CASE("events of one device run one at a time in arrival order, and a finish frees only its tree",
          "[engine][queue]") {
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
