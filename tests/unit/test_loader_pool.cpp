// The loader threads: started when work arrives (never more than loaders), each task on
// a loader of its own, and stopped — stacks unmapped — when the loop says it is idle;
// the next task starts them again.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <unistd.h>

#include "daemon/loader_pool.hpp"
#include "fakes.hpp"

using namespace kplug;
using namespace std::chrono_literals;

namespace {

std::vector<std::unique_ptr<ModuleLoader>> loaders(std::size_t n) {
  std::vector<std::unique_ptr<ModuleLoader>> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(std::make_unique<test::RecordingLoader>());
  return out;
}

// Holds every task until opened; counts the tasks inside at once.
struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
  int inside = 0, most_inside = 0, done = 0;
  std::set<ModuleLoader*> loaders_seen;
  std::set<std::thread::id> threads_seen;

  void pass(ModuleLoader& loader) {
    std::unique_lock lock(mutex);
    loaders_seen.insert(&loader);
    threads_seen.insert(std::this_thread::get_id());
    most_inside = std::max(most_inside, ++inside);
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
    --inside;
    ++done;
    cv.notify_all();
  }
  bool wait_inside(int n) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, 5s, [&] { return inside == n; });
  }
  bool wait_done(int n) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, 5s, [&] { return done == n; });
  }
  void let_go() {
    std::lock_guard lock(mutex);
    open = true;
    cv.notify_all();
  }
};

std::size_t threads_of_this_process() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Threads:", 0) == 0) return std::stoul(line.substr(8));
  return 0;
}

}  // namespace

TEST_CASE("loader threads start with the work, one per task up to one per loader") {
  LoaderPool pool(loaders(3));
  CHECK(pool.size() == 3);
  CHECK(pool.running() == 0);
  std::size_t before = threads_of_this_process();
  Gate gate;
  for (int i = 0; i < 5; ++i) pool.post([&](ModuleLoader& l) { gate.pass(l); });
  REQUIRE(gate.wait_inside(3));  // three at once: a thread and a loader each
  CHECK(pool.running() == 3);
  CHECK(threads_of_this_process() == before + 3);
  gate.let_go();
  REQUIRE(gate.wait_done(5));  // the other two ran on the same threads
  CHECK(gate.most_inside == 3);
  CHECK(gate.loaders_seen.size() == 3);
  CHECK(gate.threads_seen.size() == 3);
}

TEST_CASE("stopping the loader threads finishes their work first, and the next task starts one again") {
  LoaderPool pool(loaders(2));
  std::size_t before = threads_of_this_process();
  std::atomic<int> ran{0};
  for (int i = 0; i < 20; ++i)
    pool.post([&](ModuleLoader&) {
      std::this_thread::sleep_for(1ms);
      ++ran;
    });
  pool.stop_threads();
  CHECK(ran == 20);  // nothing posted is dropped
  CHECK(pool.running() == 0);
  CHECK(threads_of_this_process() == before);

  Gate gate;
  pool.post([&](ModuleLoader& l) { gate.pass(l); });
  REQUIRE(gate.wait_inside(1));
  CHECK(pool.running() == 1);  // one task, one thread
  gate.let_go();
  pool.stop_threads(1);  // idle: one fresh thread kept waiting
  CHECK(gate.done == 1);
  CHECK(pool.running() == 1);
  CHECK(threads_of_this_process() == before + 1);
  std::atomic<bool> ran_on_kept{false};
  pool.post([&](ModuleLoader&) { ran_on_kept = true; });
  pool.stop_threads();
  CHECK(ran_on_kept);
  CHECK(pool.running() == 0);
}

TEST_CASE("a stopped loader thread leaves no stack mapped behind") {
  // The thread's stack is kplugd's own 8 MiB mapping: it must be gone after the stop
  // (glibc would keep a thread stack of its own cached, with its touched pages).
  auto stack_mappings = [] {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    std::size_t n = 0;
    while (std::getline(maps, line)) {
      unsigned long lo = 0, hi = 0;
      if (std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) == 2 && hi - lo >= (8ul << 20) - 4096 && hi - lo <= (8ul << 20))
        ++n;
    }
    return n;
  };
  LoaderPool pool(loaders(4));
  std::size_t before = stack_mappings();
  Gate gate;
  for (int i = 0; i < 4; ++i) pool.post([&](ModuleLoader& l) { gate.pass(l); });
  REQUIRE(gate.wait_inside(4));
  CHECK(stack_mappings() == before + 4);
  gate.let_go();
  pool.stop_threads();
  CHECK(stack_mappings() == before);
}
