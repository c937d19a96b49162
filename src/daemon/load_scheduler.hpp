// The load scheduler: hands module loads and unloads to the loader threads and their
// results back to the event loop, and counts the module operations in flight. Operations
// on one module run one at a time, in the order they were asked for: a load asked while
// the module's unload is queued or running waits for it and then loads afresh; an unload
// never starts while a load of the module is queued or running, and is dropped when its
// turn comes if it is no longer wanted (a device came back). Requests for a load that is
// already queued or running share its result. A load still in the kernel's init after
// slow_load is reported; a load that failed for lack of descriptors is tried again.
// Loads reach the loader threads by priority (the job's, raised when a more urgent request
// shares it); unloads are normal.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "base/clock.hpp"
#include "daemon/counters.hpp"
#include "daemon/loader_pool.hpp"
#include "daemon/named_timers.hpp"
#include "kmod/module_loader.hpp"

namespace kplug {

class LoadScheduler {
 public:
  // The load's result; COALESCED when the request shared a load another one started.
  using LoadDone = std::function<void(const LoadResult& result, bool coalesced)>;
  using UnloadDone = std::function<void(const UnloadResult& result)>;
  struct SlowLoad {
    std::string module, devpath;
    double seconds = 0;  // in the kernel so far
  };

  // TIMERS: its own set ("slow M" reports a slow load, "retry M" tries one again).
  LoadScheduler(boost::asio::io_context& io, std::vector<std::unique_ptr<ModuleLoader>> loaders,
                std::unique_ptr<NamedTimers> timers, std::chrono::milliseconds slow_load, Counters& counters,
                Clock clock, bool keep_one_for_critical = true);

  // DONE runs on the loop with the result, after the load has left operations().
  void load(LoadJob job, LoadDone done);
  // Unloads MODULE and then those of DEPS nothing else holds, once every earlier operation
  // on MODULE is done. STILL_WANTED, asked when its turn comes: false drops the unload
  // (DONE is not called).
  void unload(const std::string& module, std::vector<std::string> deps, UnloadDone done,
              std::function<bool()> still_wanted = {});
  // Reports no more slow loads; retries still due report their last result.
  void stop();
  // AFTER runs on the loop after every result's done callback (the daemon checks settle).
  void set_after_each(std::function<void()> after) { after_each_ = std::move(after); }
  // Stops the loader threads once the work handed to them is done (at destruction); the
  // next load or unload starts them again.
  void stop_threads() { loaders_.stop_threads(); }
  // Idle: every loader thread stopped, their stacks unmapped, and one fresh thread left
  // waiting, so the next load starts as soon as it would have.
  void renew_threads() { loaders_.stop_threads(1); }

  // Operations asked for and not yet answered: each request sharing a load counts.
  std::size_t operations() const;
  std::size_t threads() const { return loaders_.size(); }
  std::size_t threads_running() const { return loaders_.running(); }
  std::vector<SlowLoad> slow_loads() const;

 private:
  // One operation on a module: a load (and the requests sharing it) or an unload.
  struct Operation {
    bool is_load = true;
    LoadJob job;                      // a load's
    LoaderPool::Urgency urgency;      // a load's: the most urgent of its requests
    std::vector<LoadDone> waiting;    // a load's requests: the first asked for it, the rest share it
    std::vector<std::string> deps;    // an unload's
    UnloadDone unloaded;              // an unload's
    std::function<bool()> still_wanted;
  };
  // A module's operations: the front one runs (when RUNNING), the others wait in order.
  struct ModuleQueue {
    std::deque<Operation> operations;
    bool running = false;
  };

  // Runs FN(ModuleLoader&) on a loader thread, then DONE(result) back on the loop.
  template <typename Fn, typename Done>
  void on_loader(Fn fn, Done done, LoaderPool::Urgency urgency = nullptr);
  void add(const std::string& module, Operation op);
  // Starts MODULE's next operation, if none runs; drops unloads no longer wanted.
  void do_next(const std::string& module);
  void do_attempt(const LoadJob& job, int attempt, LoaderPool::Urgency urgency);
  void on_result(const LoadJob& job, int attempt, const LoadResult& result);
  void on_unload_result(const std::string& module, const UnloadResult& result);
  // MODULE's running operation is done: taken off its queue, the next one started.
  Operation take_front(const std::string& module);
  void on_slow(const LoadJob& job);

  boost::asio::io_context& io_;
  LoaderPool loaders_;
  std::unique_ptr<NamedTimers> timers_;
  std::chrono::milliseconds slow_load_;
  Counters& counters_;
  Clock clock_;
  std::function<void()> after_each_;
  bool stopping_ = false;
  std::map<std::string, ModuleQueue> modules_;  // only modules with an operation queued or running
  std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> slow_loads_;
};

}  // namespace kplug
