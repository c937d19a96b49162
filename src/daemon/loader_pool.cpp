// Loader threads that come and go with the work (see the header).
#include "daemon/loader_pool.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace kplug {

namespace {
// As glibc's default for a thread; only the pages a load touches cost memory.
constexpr std::size_t stack_size = std::size_t{8} << 20;
}  // namespace

LoaderPool::LoaderPool(std::vector<std::unique_ptr<ModuleLoader>> loaders, bool keep_one_for_critical)
    : loaders_(std::move(loaders)), reserved_(keep_one_for_critical && loaders_.size() >= 2 ? 1 : 0),
      base_nice_(getpriority(PRIO_PROCESS, 0)) {
  for (auto& l : loaders_) free_.push_back(l.get());
}

std::deque<LoaderPool::Task>::iterator LoaderPool::next_task() {
  auto best = tasks_.end();
  for (auto it = tasks_.begin(); it != tasks_.end(); ++it) {
    Priority p = it->priority();
    if (p != Priority::critical && free_.size() <= reserved_ && !stopping_) continue;
    if (best == tasks_.end() || p < best->priority()) best = it;
    if (p == Priority::critical) break;
  }
  return best;
}

void LoaderPool::enqueue(Task task) {
  bool more_needed;
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
    more_needed = tasks_.size() > waiting_ && threads_.size() < loaders_.size();
  }
  int error = more_needed ? start_thread() : 0;
  if (more_needed && error == 0) return;  // it takes the task on its first look
  wake_.notify_one();
  if (threads_.empty()) {
    // No thread could be started and none runs: do the work here rather than never.
    spdlog::warn("no loader thread could be started ({}); loading on the event loop", std::strerror(error));
    std::unique_lock lock(mutex_);
    while (!tasks_.empty()) {
      auto next = std::move(tasks_.front().run);
      tasks_.pop_front();
      lock.unlock();
      next(*loaders_.front());
      lock.lock();
    }
  }
}

int LoaderPool::start_thread() {
  std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  void* stack = mmap(nullptr, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                     -1, 0);
  if (stack == MAP_FAILED) return errno;
  mprotect(stack, page, PROT_NONE);  // the guard below the stack
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstack(&attr, stack, stack_size);
  // The thread takes no signal: they are the loop's (SIGTERM, SIGHUP, ...).
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  pthread_t id;
  int err = pthread_create(&id, &attr, &LoaderPool::thread_main, this);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    munmap(stack, stack_size);
    return err;
  }
  threads_.push_back({id, stack});
  return 0;
}

void* LoaderPool::thread_main(void* pool) {
  static_cast<LoaderPool*>(pool)->work();
  return nullptr;
}

void LoaderPool::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    ++waiting_;
    wake_.wait(lock, [this] { return stopping_ || next_task() != tasks_.end(); });
    --waiting_;
    auto next = next_task();
    if (next == tasks_.end()) return;  // stopping, and nothing left to do
    auto task = std::move(next->run);
    Priority priority = next->priority();
    tasks_.erase(next);
    ModuleLoader* loader = free_.back();
    free_.pop_back();
    lock.unlock();
    if (reserved_ > 0) run_at(priority);
    task(*loader);
    task = nullptr;  // what it holds goes before the loader is given back
    lock.lock();
    free_.push_back(loader);
    // A loader more may let a waiting thread start a task the reserve held back.
    if (!tasks_.empty() && waiting_ > 0) wake_.notify_all();
  }
}

void LoaderPool::run_at(Priority priority) const {
  // This thread's nice value, kept between tasks (a fresh thread starts at the loop's).
  thread_local int nice_now = base_nice_;
  int wanted = priority <= Priority::console ? base_nice_ : std::min(19, base_nice_ + less_urgent_nice);
  if (wanted == nice_now) return;
  // Going back to 0 needs CAP_SYS_NICE or an RLIMIT_NICE that allows it (the unit's
  // LimitNICE=+0); without either, the thread stays at the lower priority.
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), wanted) == 0) nice_now = wanted;
}

void LoaderPool::stop_threads(std::size_t keep_waiting) {
  stop_all();
  for (std::size_t i = 0; i < std::min(keep_waiting, loaders_.size()); ++i)
    if (start_thread() != 0) break;  // the next post() tries again
}

void LoaderPool::stop_all() {
  if (threads_.empty()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (const Thread& t : threads_) {
    pthread_join(t.id, nullptr);
    munmap(t.stack, stack_size);
  }
  threads_.clear();
  std::lock_guard lock(mutex_);
  stopping_ = false;
}

}  // namespace kplug
