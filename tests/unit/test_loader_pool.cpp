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
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <sys/resource.h>
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
  LoaderPool pool(loaders(3), /*keep_one_for_critical=*/false);
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
  LoaderPool pool(loaders(2), /*keep_one_for_critical=*/false);
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
  LoaderPool pool(loaders(4), /*keep_one_for_critical=*/false);
  std::size_t before = stack_mappings();
  Gate gate;
  for (int i = 0; i < 4; ++i) pool.post([&](ModuleLoader& l) { gate.pass(l); });
  REQUIRE(gate.wait_inside(4));
  CHECK(stack_mappings() == before + 4);
  gate.let_go();
  pool.stop_threads();
  CHECK(stack_mappings() == before);
}

namespace {
LoaderPool::Urgency urgency(Priority p) { return std::make_shared<std::atomic<Priority>>(p); }
}  // namespace

TEST_CASE("the most urgent waiting task starts first, first come first within a priority", "[priority]") {
  LoaderPool pool(loaders(1));  // one loader: nothing is kept free
  Gate gate;
  std::mutex mutex;
  std::vector<std::string> order;
  auto note = [&](std::string name) {
    return [&, name](ModuleLoader&) {
      std::lock_guard lock(mutex);
      order.push_back(name);
    };
  };
  pool.post([&](ModuleLoader& l) { gate.pass(l); });
  REQUIRE(gate.wait_inside(1));
  pool.post(note("normal 1"));
  pool.post(note("network"), urgency(Priority::network));
  pool.post(note("normal 2"), urgency(Priority::normal));
  pool.post(note("critical"), urgency(Priority::critical));
  pool.post(note("console"), urgency(Priority::console));
  gate.let_go();
  pool.stop_threads();
  CHECK(order == std::vector<std::string>{"critical", "console", "network", "normal 1", "normal 2"});
}

TEST_CASE("a critical task never waits for a loader behind less urgent ones", "[priority]") {
  LoaderPool pool(loaders(3));
  Gate gate;
  for (int i = 0; i < 6; ++i) pool.post([&](ModuleLoader& l) { gate.pass(l); }, urgency(Priority::network));
  REQUIRE(gate.wait_inside(2));  // one loader of three is kept for critical tasks
  std::this_thread::sleep_for(50ms);
  {
    std::lock_guard lock(gate.mutex);
    CHECK(gate.most_inside == 2);
  }
  std::promise<void> ran;
  pool.post([&](ModuleLoader&) { ran.set_value(); }, urgency(Priority::critical));
  // It runs while the six network tasks still hold (or wait for) their loaders.
  CHECK(ran.get_future().wait_for(5s) == std::future_status::ready);
  {
    std::lock_guard lock(gate.mutex);
    CHECK(gate.done == 0);
  }
  gate.let_go();
  REQUIRE(gate.wait_done(6));
  CHECK(gate.most_inside == 2);
}

TEST_CASE("a waiting task made more urgent starts before those it was behind", "[priority]") {
  LoaderPool pool(loaders(1));
  Gate gate;
  std::vector<std::string> order;  // written by the one loader thread only
  pool.post([&](ModuleLoader& l) { gate.pass(l); });
  REQUIRE(gate.wait_inside(1));
  pool.post([&](ModuleLoader&) { order.push_back("first"); }, urgency(Priority::normal));
  auto raised = urgency(Priority::normal);
  pool.post([&](ModuleLoader&) { order.push_back("raised"); }, raised);
  raised->store(Priority::critical);  // as the scheduler does when a critical request shares it
  gate.let_go();
  pool.stop_threads();
  CHECK(order == std::vector<std::string>{"raised", "first"});
}

TEST_CASE("less urgent tasks run at a lower CPU priority, critical ones at the process's", "[priority]") {
  LoaderPool pool(loaders(2));
  int base = getpriority(PRIO_PROCESS, 0);
  auto nice_of = [&pool](Priority p) {
    std::promise<std::pair<int, std::thread::id>> seen;
    pool.post([&](ModuleLoader&) {
      seen.set_value({getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())), std::this_thread::get_id()});
    }, urgency(p));
    return seen.get_future().get();
  };
  auto normal = nice_of(Priority::normal);
  CHECK(normal.first == std::min(19, base + 10));
  // The next task goes to that thread once it waits again (posted before, it would start
  // another thread, at the process's nice value from the start).
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pool.waiting() == 0 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
  REQUIRE(pool.waiting() == 1);
  auto critical = nice_of(Priority::critical);
  CHECK(critical.second == normal.second);  // one thread for both: it went back
  CHECK(critical.first == base);            // (the tests run as root, who may lower a nice value)
  CHECK(nice_of(Priority::console).first == base);
  CHECK(nice_of(Priority::network).first == std::min(19, base + 10));
  LoaderPool plain(loaders(2), /*keep_one_for_critical=*/false);  // boot_priority off: nothing changes
  std::promise<int> nice;
  plain.post([&](ModuleLoader&) { nice.set_value(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()))); },
             urgency(Priority::normal));
  CHECK(nice.get_future().get() == base);
}
