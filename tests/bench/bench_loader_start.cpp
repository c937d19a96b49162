// What stopping idle loader threads costs the next load: the time from handing a task to
// the loader pool to the task running, when a thread must be started for it, when kplugd
// renewed its threads after 2 s idle (one fresh thread waits), and when a thread that
// worked before is waiting (kplugd was busy). Side by side, in turn, in one run.
//
//   bench_loader_start [ROUNDS]   (default 500)
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include <malloc.h>

#include "daemon/loader_pool.hpp"

using namespace kplug;
using Clock = std::chrono::steady_clock;

namespace {

class InstantLoader : public ModuleLoader {
 public:
  LoadResult load(const LoadJob&) override { return {}; }
  UnloadResult unload(const std::string&, const std::vector<std::string>&) override { return {}; }
};

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  mallopt(M_ARENA_MAX, 1);  // as kplugd
  int rounds = argc > 1 ? std::atoi(argv[1]) : 500;
  if (rounds < 1) {
    std::fprintf(stderr, "usage: bench_loader_start [ROUNDS]\n");
    return 2;
  }
  std::vector<std::unique_ptr<ModuleLoader>> loaders;
  for (int i = 0; i < 4; ++i) loaders.push_back(std::make_unique<InstantLoader>());
  LoaderPool pool(std::move(loaders));

  std::mutex mutex;
  std::condition_variable cv;
  auto post_and_wait = [&] {
    bool ran = false;
    Clock::time_point started;
    auto posted = Clock::now();
    pool.post([&](ModuleLoader&) {
      std::lock_guard lock(mutex);
      started = Clock::now();
      ran = true;
      cv.notify_all();
    });
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return ran; });
    return std::chrono::duration<double, std::micro>(started - posted).count();
  };
  std::vector<double> cold, renewed, warm;
  for (int i = 0; i < rounds; ++i) {
    pool.stop_threads();
    cold.push_back(post_and_wait());
    pool.stop_threads(1);
    renewed.push_back(post_and_wait());
    warm.push_back(post_and_wait());
  }
  std::printf("task handed to the loader pool -> running, %d rounds each (median, p90, in microseconds):\n", rounds);
  std::printf("  a thread started for it:              %8.1f %8.1f\n", percentile(cold, 0.5), percentile(cold, 0.9));
  std::printf("  idle, renewed (one fresh thread):     %8.1f %8.1f\n", percentile(renewed, 0.5), percentile(renewed, 0.9));
  std::printf("  busy (a thread that worked waiting):  %8.1f %8.1f\n", percentile(warm, 0.5), percentile(warm, 0.9));
}
