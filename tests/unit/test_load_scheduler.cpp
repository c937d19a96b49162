// The load scheduler, through the daemon: per-device ordering with parallel loads,
// coalescing, slow loads. Fake loaders stand in for the kernel; a gate holds a load "in
// the kernel's init" for as long as the test wants.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

#include "daemon/daemon.hpp"
#include "daemon_fixtures.hpp"

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
  DaemonOptions o = test::daemon_options();
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

TEST_CASE("a child's event waits for its parent's load; unrelated events do not", "[load_scheduler][ordering]") {
  Kernel k;
  boost::asio::io_context io;
  Daemon daemon(io, options(), test::seams(resolver(), loaders(k, 2)));
  daemon.on_uevent(add("/devices/p", balloon));     // its load is held at the gate
  daemon.on_uevent(add("/devices/p/child", rng));   // must wait for the parent
  daemon.on_uevent(add("/devices/other", net));     // unrelated: must not wait
  CHECK(run_until(io, [&] { return k.count("virtio_net") == 1; }));
  CHECK(k.count("virtio_balloon") == 1);
  CHECK(k.count("virtio_rng") == 0);  // the child has not even been decided yet
  CHECK(daemon.queue().waiting() == 1);
  k.open_gate();
  CHECK(run_until(io, [&] { return k.count("virtio_rng") == 1; }));
  CHECK(run_until(io, [&] { return daemon.flight().events() == 0; }));
}

TEST_CASE("1536 events with the same MODALIAS: one resolution, one load attempt", "[load_scheduler][coalescing]") {
  Kernel k;
  k.open_gate();
  boost::asio::io_context io;
  auto r = resolver();
  test::FakeResolver* res = r.get();
  Daemon daemon(io, options(), test::seams(std::move(r), loaders(k, 2)));
  for (int cpu = 0; cpu < 1536; ++cpu) daemon.on_uevent(add("/devices/system/cpu/cpu" + std::to_string(cpu), balloon));
  io.run();
  CHECK(res->cache_misses() == 1);
  CHECK(res->cache_hits() == 1535);
  CHECK(k.count("virtio_balloon") == 1);
  CHECK(daemon.counters().loads_ok == 1);
  CHECK(daemon.counters().loads_coalesced == 1535);
  CHECK(daemon.ledger().entries().at("virtio_balloon").devices.size() == 1536);  // every cpu is recorded
}

TEST_CASE("a slow load is reported and does not hold up other modules", "[load_scheduler][slow]") {
  Kernel k;
  boost::asio::io_context io;
  DaemonOptions o = options();
  o.slow_load = 50ms;
  Daemon daemon(io, o, test::seams(resolver(), loaders(k, 2)));
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

TEST_CASE("an event that needs no load frees the next event of its tree at once", "[load_scheduler][ordering]") {
  Kernel k;
  k.open_gate();
  boost::asio::io_context io;
  Daemon daemon(io, options(), test::seams(resolver(), loaders(k, 1)));
  daemon.on_uevent(add("/devices/p", rng));                  // a load: the children wait for it
  daemon.on_uevent(add("/devices/p/c1", "nothing:matches"));  // then done at once, nothing to load
  daemon.on_uevent(add("/devices/p/c1/c2", net));             // and no other event comes to wake it
  io.run();
  CHECK(k.count("virtio_net") == 1);
  CHECK(daemon.queue().waiting() == 0);
  CHECK(daemon.flight().events() == 0);
}


// ---- one module's operations, in order (the scheduler alone, on a step-by-step kernel) ----

namespace {

struct StepScheduler {
  test::StepKernel k;
  boost::asio::io_context io;
  Counters counters;
  test::FakeClock clock;
  LoadScheduler scheduler{io, step_loaders(k), 10s, counters, clock.clock()};
  ~StepScheduler() { scheduler.stop_threads(); }

  static std::vector<std::unique_ptr<ModuleLoader>> step_loaders(test::StepKernel& k) {
    std::vector<std::unique_ptr<ModuleLoader>> v;
    for (int i = 0; i < 3; ++i) v.push_back(std::make_unique<test::StepLoader>(k));
    return v;
  }
  LoadJob job(const std::string& module, const std::string& devpath) {
    LoadJob j;
    j.module = module;
    j.devpath = devpath;
    return j;
  }
  // Lets the loop run a little: what could start has started.
  void settle() {
    for (int i = 0; i < 5; ++i) {
      io.restart();
      io.run_for(5ms);
    }
  }
};

}  // namespace

TEST_CASE("an unload asked while a load of the module runs waits for it", "[load_scheduler][module_order]") {
  StepScheduler s;
  std::vector<std::string> done;
  s.scheduler.load(s.job("m", "/devices/a"), [&](const LoadResult&, bool) { done.push_back("load"); });
  s.scheduler.unload("m", {}, [&](const UnloadResult&) { done.push_back("unload"); }, [] { return true; });
  s.settle();
  CHECK(s.k.started_count("load m") == 1);
  CHECK(s.k.started_count("unload m") == 0);  // never beside the load
  CHECK(s.scheduler.operations() == 2);
  s.k.release("load m");
  CHECK(run_until(s.io, [&] { return s.k.started_count("unload m") == 1; }));
  s.k.release("unload m");
  CHECK(run_until(s.io, [&] { return s.scheduler.operations() == 0; }));
  CHECK(done == std::vector<std::string>{"load", "unload"});
  CHECK_FALSE(s.k.is_live("m"));
}

TEST_CASE("an unload no longer wanted when its turn comes is dropped", "[load_scheduler][module_order]") {
  StepScheduler s;
  bool wanted = true, unload_done = false;
  s.scheduler.load(s.job("m", "/devices/a"), [](const LoadResult&, bool) {});
  s.scheduler.unload("m", {}, [&](const UnloadResult&) { unload_done = true; }, [&] { return wanted; });
  wanted = false;  // the load's device stays
  s.k.release("load m");
  CHECK(run_until(s.io, [&] { return s.scheduler.operations() == 0; }));
  CHECK(s.k.started_count("unload m") == 0);
  CHECK_FALSE(unload_done);
  CHECK(s.k.is_live("m"));
}

TEST_CASE("a load asked while the module's unload runs waits, then loads afresh", "[load_scheduler][module_order]") {
  StepScheduler s;
  s.k.live = {"m"};
  std::vector<LoadStatus> loads;
  s.scheduler.unload("m", {}, [](const UnloadResult&) {}, [] { return true; });
  CHECK(run_until(s.io, [&] { return s.k.started_count("unload m") == 1; }));
  s.scheduler.load(s.job("m", "/devices/a"), [&](const LoadResult& r, bool) { loads.push_back(r.status); });
  s.scheduler.load(s.job("m", "/devices/b"), [&](const LoadResult& r, bool) { loads.push_back(r.status); });
  s.settle();
  CHECK(s.k.started_count("load m") == 0);  // not beside the unload: "already loaded" would be a lie
  s.k.release("unload m");
  CHECK(run_until(s.io, [&] { return s.k.started_count("load m") == 1; }));  // the two share one load
  s.k.release("load m");
  CHECK(run_until(s.io, [&] { return s.scheduler.operations() == 0; }));
  CHECK(loads == std::vector<LoadStatus>{LoadStatus::loaded, LoadStatus::loaded});
  CHECK(s.k.is_live("m"));
  CHECK(s.k.started_count("load m") == 1);
}

TEST_CASE("loads of other modules run beside one module's unload", "[load_scheduler][module_order]") {
  StepScheduler s;
  s.k.live = {"m"};
  s.scheduler.unload("m", {}, [](const UnloadResult&) {}, {});
  s.scheduler.load(s.job("n", "/devices/b"), [](const LoadResult&, bool) {});
  CHECK(run_until(s.io, [&] { return s.k.started_count("unload m") == 1 && s.k.started_count("load n") == 1; }));
  s.k.release("load n");
  s.k.release("unload m");
  CHECK(run_until(s.io, [&] { return s.scheduler.operations() == 0; }));
}
