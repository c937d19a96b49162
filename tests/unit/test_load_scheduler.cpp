// The load scheduler alone, on a step-by-step kernel (test::StepKernel: each load and
// unload waits on its loader thread until the test releases it): one module's operations
// in order, an unload no longer wanted dropped, other modules beside. The daemon's own
// loads through it are in test_daemon_loads.cpp.
#include <catch2/catch.hpp>

#include "daemon/load_scheduler.hpp"
#include "daemon_fixtures.hpp"

using namespace kplug;
using kplug::test::run_until;
using namespace std::chrono_literals;

namespace {

struct StepScheduler {
  test::StepKernel k;
  boost::asio::io_context io;
  Counters counters;
  test::FakeClock clock;
  LoadScheduler scheduler{io, step_loaders(k), test::manual_timers()("loads"), 10s, counters, clock.clock()};
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
  void settle() { test::spin(io, 5); }
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
