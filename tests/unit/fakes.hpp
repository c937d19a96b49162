// In-memory fakes for the daemon's seams: a resolver backed by a map, a system view
// with devices, modules, a SEQNUM and attributes set by the test, and a clock the test
// moves. With them, coldplug, rescan, restore and settle run without /sys or a kernel tree.
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <functional>

#include "base/clock.hpp"
#include "daemon/command_runner.hpp"
#include "daemon/manual_timers.hpp"
#include "daemon/named_timers.hpp"
#include "kmod/module_loader.hpp"
#include "kmod/module_resolver.hpp"
#include "kmod/simulated_loader.hpp"
#include "sysfs/system_view.hpp"
#include "uevent/uevent.hpp"
#include "uevent/uevent_source.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <deque>

namespace kplug::test {

// MODALIAS -> modules, exact keys; a key not in the map resolves to nothing. Counts the
// first lookup of a key as a miss and later ones as hits, as the cached resolver does.
class FakeResolver : public ModuleResolver {
 public:
  explicit FakeResolver(std::map<std::string, std::vector<std::string>> aliases) : aliases_(std::move(aliases)) {}
  Result<std::vector<std::string>, std::string> resolve(const std::string& key) override {
    ++(seen_.insert(key).second ? misses_ : hits_);
    if (broken_) return unexpected(std::string("cannot read the module index"));
    auto it = aliases_.find(key);
    return it == aliases_.end() ? std::vector<std::string>{} : it->second;
  }
  bool refresh() override {
    ++refreshes_;
    return false;
  }
  std::uint64_t cache_hits() const override { return hits_; }
  std::uint64_t cache_misses() const override { return misses_; }
  std::uint64_t reloads() const override { return 0; }

  std::map<std::string, std::vector<std::string>> aliases_;
  bool broken_ = false;  // every lookup fails
  int refreshes_ = 0;

 private:
  std::set<std::string> seen_;
  std::uint64_t hits_ = 0, misses_ = 0;
};

// A machine's present devices, loaded modules and SEQNUM, all set by the test. Shared
// with the test through a shared_ptr, so it can change after the daemon took it.
struct FakeSystem {
  std::vector<Uevent> devices;  // present, in walk order
  std::set<std::string> modules;
  std::uint64_t seqnum = 0;
  std::map<std::pair<std::string, std::string>, std::string> attributes;  // (devpath, name) -> value
  std::optional<std::string> walk_error;  // the walk fails with this
  int walks = 0;
};

class FakeSystemView : public SystemView {
 public:
  explicit FakeSystemView(std::shared_ptr<FakeSystem> system) : s_(std::move(system)) {}
  Result<std::size_t, std::string> walk_devices(const Wanted& wanted, const Visit& visit) override {
    ++s_->walks;
    if (s_->walk_error) return unexpected(*s_->walk_error);
    std::size_t n = 0;
    for (Uevent ev : s_->devices) {
      ev.source = EventSource::coldplug;
      if (!wanted(ev)) continue;
      ++n;
      visit(std::move(ev));
    }
    return n;
  }
  bool device_present(const std::string& devpath) override {
    for (const auto& d : s_->devices)
      if (d.devpath == devpath) return true;
    return false;
  }
  std::set<std::string> live_modules() override { return s_->modules; }
  std::uint64_t kernel_seqnum() override { return s_->seqnum; }
  std::optional<std::string> read_attribute(const std::string& devpath, const std::string& name) override {
    auto it = s_->attributes.find({devpath, name});
    if (it == s_->attributes.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::shared_ptr<FakeSystem> s_;
};

// Named timers that fire only when the test says so (daemon/manual_timers.hpp, the same
// implementation `kplug replay` runs its grace periods on): the test keeps the shared
// state, the part under test owns the ManualTimers. Nothing waits on a real timer.
using kplug::ManualTimerState;
using kplug::ManualTimers;

// A clock that moves only when the test says so.
struct FakeClock {
  std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
  Clock clock() {
    return [this] { return now; };
  }
};

// The modules tree as a map for the simulated loader: a module it does not list is
// unknown (the load fails, as modprobe's "not found"); DEPENDS gives what each needs.
class FakeModuleTree : public ModuleTree {
 public:
  explicit FakeModuleTree(std::map<std::string, std::vector<std::string>> depends) : depends_(std::move(depends)) {}
  std::optional<LoadResult> precheck(const LoadJob& job) override {
    if (depends_.count(job.module)) return std::nullopt;
    LoadResult r;
    r.status = LoadStatus::failed;
    r.error = ENOENT;
    r.message = "module " + job.module + " not found";
    return r;
  }
  std::vector<std::string> dependencies(const std::string& module) override {
    auto it = depends_.find(module);
    return it == depends_.end() ? std::vector<std::string>{} : it->second;
  }

 private:
  std::map<std::string, std::vector<std::string>> depends_;
};

// A command runner that runs nothing: records each argv and answers as the test says
// (exit status 0 by default). Copies share the record, so the test keeps one.
struct FakeCommands {
  struct State {
    std::mutex mutex;
    std::vector<std::vector<std::string>> ran;
    int exit_status = 0;
  };
  std::shared_ptr<State> state = std::make_shared<State>();
  CommandResult operator()(const std::vector<std::string>& argv, std::chrono::milliseconds, RunningGroups*) const {
    std::lock_guard lock(state->mutex);
    state->ran.push_back(argv);
    CommandResult r;
    r.started = true;
    r.exit_status = state->exit_status;
    return r;
  }
};

// A uevent source that hands out what the test queues: its descriptor (an eventfd) is
// readable while something is queued, as a netlink socket is while datagrams wait.
class FakeUeventSource : public UeventSource {
 public:
  struct State {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    std::deque<ReceiveOutcome> queued;
    std::size_t receives = 0;
    int released = 0;
    void push(ReceiveOutcome outcome) {
      queued.push_back(std::move(outcome));
      std::uint64_t one = 1;
      (void)!write(fd, &one, sizeof one);
    }
    ~State() { close(fd); }
  };
  explicit FakeUeventSource(std::shared_ptr<State> state) : s_(std::move(state)) {}
  int fd() const override { return s_->fd; }
  ReceiveOutcome receive() override {
    ++s_->receives;
    if (s_->queued.empty()) {
      std::uint64_t count = 0;
      (void)!read(s_->fd, &count, sizeof count);  // drained: not readable until the next push
      return WouldBlock{};
    }
    ReceiveOutcome next = std::move(s_->queued.front());
    s_->queued.pop_front();
    return next;
  }
  void release_idle_memory() override { ++s_->released; }

 private:
  std::shared_ptr<State> s_;
};

// Shared by every loader of a test: records each attempt; virtio_balloon's load waits
// at the gate until the test opens it.
struct GateKernel {
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
  explicit GateLoader(GateKernel& k) : k_(k) {}
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
  GateKernel& k_;
};

inline std::vector<std::unique_ptr<ModuleLoader>> gate_loaders(GateKernel& k, int n) {
  std::vector<std::unique_ptr<ModuleLoader>> v;
  for (int i = 0; i < n; ++i) v.push_back(std::make_unique<GateLoader>(k));
  return v;
}

// A loader that touches no kernel: each load answers LOADS_ANSWER (failed unless told),
// each unload succeeds; both are written down, in order, in the lists the test passes.
class RecordingLoader : public ModuleLoader {
 public:
  explicit RecordingLoader(std::vector<std::string>* loads = nullptr, std::vector<std::string>* unloads = nullptr,
                           LoadStatus loads_answer = LoadStatus::failed)
      : loads_(loads), unloads_(unloads), answer_(loads_answer) {}
  LoadResult load(const LoadJob& job) override {
    if (loads_) loads_->push_back(job.module);
    return LoadResult{answer_};
  }
  UnloadResult unload(const std::string& module, const std::vector<std::string>&) override {
    if (unloads_) unloads_->push_back(module);
    return {UnloadStatus::unloaded, "", {}, {}};
  }

 private:
  std::vector<std::string>* loads_;
  std::vector<std::string>* unloads_;
  LoadStatus answer_;
};

// Records the jobs and answers as the daemon tests expect, without touching any kernel:
// virtio_pci fails, virtio_rng was loaded before kplugd started, the rest load once.
class JobLoader : public ModuleLoader {
 public:
  explicit JobLoader(std::vector<LoadJob>& jobs, std::vector<std::string>* unloads = nullptr)
      : jobs_(jobs), unloads_(unloads) {}
  LoadResult load(const LoadJob& job) override {
    jobs_.push_back(job);
    LoadResult r;
    if (job.module == "virtio_pci") {
      r.status = LoadStatus::failed;
      r.message = "failed to load virtio_pci: Operation not permitted";
    } else if (job.module == "virtio_rng" || live_.count(job.module)) {
      r.status = LoadStatus::already_loaded;
    } else {
      r.status = LoadStatus::loaded;
      live_.insert(job.module);
    }
    return r;
  }
  UnloadResult unload(const std::string& module, const std::vector<std::string>&) override {
    if (unloads_) unloads_->push_back(module);
    live_.erase(module);
    return {UnloadStatus::unloaded, "", {}, {}};
  }

 private:
  std::vector<LoadJob>& jobs_;
  std::vector<std::string>* unloads_;
  std::set<std::string> live_;
};

// virtio_balloon's load pulls in dep_a and dep_b; records what unload is asked to remove.
class PullsInLoader : public ModuleLoader {
 public:
  explicit PullsInLoader(std::vector<std::string>& deps_seen) : deps_seen_(deps_seen) {}
  LoadResult load(const LoadJob& job) override {
    LoadResult r;
    r.status = LoadStatus::loaded;
    if (job.module == "virtio_balloon") r.pulled_in = {"dep_a", "virtio_net"};
    return r;
  }
  UnloadResult unload(const std::string&, const std::vector<std::string>& deps) override {
    deps_seen_ = deps;
    return {UnloadStatus::unloaded, "", {}, deps};
  }

 private:
  std::vector<std::string>& deps_seen_;
};

// Out of descriptors for the first FAILURES tries, then the load goes through.
class NoDescriptorsLoader : public ModuleLoader {
 public:
  explicit NoDescriptorsLoader(int failures) : failures_(failures) {}
  LoadResult load(const LoadJob& job) override {
    ++tries;
    LoadResult r;
    if (tries <= failures_) {
      r.status = LoadStatus::failed;
      r.error = EMFILE;
      r.message = "failed to look up " + job.module + ": Too many open files";
    } else {
      r.status = LoadStatus::loaded;
    }
    return r;
  }
  UnloadResult unload(const std::string&, const std::vector<std::string>&) override { return {}; }
  int tries = 0;

 private:
  int failures_;
};

// A kernel whose module operations finish one step at a time: each load or unload, on
// whichever loader thread, records "load M" or "unload M" as started, then waits until the
// test releases that operation; the kernel's module set (LIVE) follows what finished.
struct StepKernel {
  std::mutex mutex;
  std::condition_variable cv;
  std::set<std::string> live;
  std::vector<std::string> started, finished;
  std::multiset<std::string> released;

  void release(const std::string& op) {
    std::lock_guard lock(mutex);
    released.insert(op);
    cv.notify_all();
  }
  std::size_t started_count(const std::string& op) {
    std::lock_guard lock(mutex);
    return static_cast<std::size_t>(std::count(started.begin(), started.end(), op));
  }
  std::size_t finished_count(const std::string& op) {
    std::lock_guard lock(mutex);
    return static_cast<std::size_t>(std::count(finished.begin(), finished.end(), op));
  }
  bool is_live(const std::string& module) {
    std::lock_guard lock(mutex);
    return live.count(module) > 0;
  }
  // Runs on a loader thread: waits for the test, then applies CHANGE to LIVE.
  template <typename Change>
  auto step(const std::string& op, Change change) {
    std::unique_lock lock(mutex);
    started.push_back(op);
    cv.wait(lock, [&] { return released.count(op) > 0; });
    released.erase(released.find(op));
    finished.push_back(op);
    return change();
  }
};

class StepLoader : public ModuleLoader {
 public:
  explicit StepLoader(StepKernel& k) : k_(k) {}
  LoadResult load(const LoadJob& job) override {
    return k_.step("load " + job.module, [&] {
      LoadResult r;
      r.status = k_.live.insert(job.module).second ? LoadStatus::loaded : LoadStatus::already_loaded;
      return r;
    });
  }
  UnloadResult unload(const std::string& module, const std::vector<std::string>&) override {
    return k_.step("unload " + module, [&] {
      UnloadResult r;
      r.status = k_.live.erase(module) ? UnloadStatus::unloaded : UnloadStatus::not_loaded;
      return r;
    });
  }

 private:
  StepKernel& k_;
};

}  // namespace kplug::test
