// The loader threads. Module insertion blocks while the kernel runs the module's init,
// so it runs here, off the event loop. libkmod is not thread-safe: each loader (and its
// kmod_ctx) is used by one thread at a time, and there are never more threads than
// loaders, so a task always finds one free.
//
// Threads start when work arrives and stop when the loop says kplugd is idle
// (stop_threads): a kplugd idling for days keeps one fresh thread waiting, so the next
// load starts as soon as before, and no stack the last burst's loads touched. Stacks are
// mapped here and unmapped when a thread stops; glibc would keep the stacks of its own
// threads cached, touched pages and all. post() and stop_threads() are called from the
// event loop only.
//
// Tasks carry a priority (base/priority.hpp): the most urgent waiting task starts first,
// first come first within a priority, and with two loaders or more one is kept for
// critical tasks, so a critical load never waits for a loader behind less urgent ones.
// With that reserve, network and normal tasks also run on threads of a lower CPU priority
// (nice 10 more than the process's): on a busy
// machine at boot a sound card's module init never takes the CPU from what the boot
// waits for (udevd, systemd, the storage driver's init).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include <pthread.h>

#include "kmod/module_loader.hpp"

namespace kplug {

class LoaderPool {
 public:
  // A task's priority, shared with whoever may make it more urgent while it waits (a
  // critical request joining a queued load); null: normal.
  using Urgency = std::shared_ptr<std::atomic<Priority>>;

  // KEEP_ONE_FOR_CRITICAL: with two loaders or more, less urgent tasks leave one free.
  explicit LoaderPool(std::vector<std::unique_ptr<ModuleLoader>> loaders, bool keep_one_for_critical = true);
  ~LoaderPool() { stop_threads(); }
  LoaderPool(const LoaderPool&) = delete;
  LoaderPool& operator=(const LoaderPool&) = delete;

  // The most threads that run at once: one per loader.
  std::size_t size() const { return loaders_.size(); }
  // Threads running now.
  std::size_t running() const { return threads_.size(); }
  // Threads waiting for a task: a task posted while one waits goes to it, no thread is
  // started for it.
  std::size_t waiting() const {
    std::lock_guard lock(mutex_);
    return waiting_;
  }

  // Runs FN(ModuleLoader&) on a loader thread, starting one when none is free, once no
  // more urgent task waits.
  template <typename Fn>
  void post(Fn fn, Urgency urgency = nullptr) {
    // A shared_ptr makes any callable (one holding a work guard, say) a std::function.
    auto task = std::make_shared<Fn>(std::move(fn));
    enqueue({[task](ModuleLoader& loader) { (*task)(loader); }, std::move(urgency)});
  }

  // Lets every thread finish the work posted so far, then stops them and unmaps their
  // stacks; then starts KEEP_WAITING fresh threads (a fresh stack holds a few pages). The
  // next post() starts more as needed.
  void stop_threads(std::size_t keep_waiting = 0);

 private:
  struct Thread {
    pthread_t id;
    void* stack;
  };
  struct Task {
    std::function<void(ModuleLoader&)> run;
    Urgency urgency;
    Priority priority() const { return urgency ? urgency->load() : Priority::normal; }
  };
  void enqueue(Task task);
  // Sets this thread's nice value for a task of PRIORITY (0, or less_urgent_nice).
  void run_at(Priority priority) const;
  static constexpr int less_urgent_nice = 10;  // added to the process's nice value
  // The task to start now: the most urgent one the free loaders allow (all, when
  // stopping); tasks_.end() when none.
  std::deque<Task>::iterator next_task();
  int start_thread();  // 0, or why no thread was started (an errno value)
  void stop_all();
  static void* thread_main(void* pool);
  void work();

  std::vector<std::unique_ptr<ModuleLoader>> loaders_;
  std::vector<Thread> threads_;  // the loop's: started, not yet joined

  mutable std::mutex mutex_;  // guards the members below
  std::condition_variable wake_;
  std::deque<Task> tasks_;
  std::vector<ModuleLoader*> free_;
  std::size_t waiting_ = 0;  // threads waiting for a task
  bool stopping_ = false;
  std::size_t reserved_ = 0;  // loaders less urgent tasks leave free (0 or 1)
  int base_nice_ = 0;         // the process's nice value when the pool was made
};

}  // namespace kplug
