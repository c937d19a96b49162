// The loader threads. Module insertion blocks while the kernel runs the module's init,
// so it runs here, off the event loop. libkmod is not thread-safe: each loader (and its
// kmod_ctx, created once with its indexes loaded) is used by one thread at a time, and
// there are exactly as many loaders as threads, so a task always finds one free.
#pragma once

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "kmod/module_loader.hpp"

namespace kplug {

class LoaderPool {
 public:
  explicit LoaderPool(std::vector<std::unique_ptr<ModuleLoader>> loaders)
      : loaders_(std::move(loaders)), threads_(loaders_.size()) {
    for (auto& l : loaders_) free_.push_back(l.get());
  }
  ~LoaderPool() { join(); }

  std::size_t size() const { return loaders_.size(); }
  void join() { threads_.join(); }

  // Runs FN(ModuleLoader&) on a loader thread.
  template <typename Fn>
  void post(Fn fn) {
    boost::asio::post(threads_, [this, fn = std::move(fn)]() mutable {
      ModuleLoader* loader = acquire();
      fn(*loader);
      release(loader);
    });
  }

 private:
  ModuleLoader* acquire() {
    std::lock_guard lock(mutex_);
    ModuleLoader* l = free_.back();
    free_.pop_back();
    return l;
  }
  void release(ModuleLoader* l) {
    std::lock_guard lock(mutex_);
    free_.push_back(l);
  }

  std::vector<std::unique_ptr<ModuleLoader>> loaders_;
  boost::asio::thread_pool threads_;
  std::mutex mutex_;
  std::vector<ModuleLoader*> free_;
};

}  // namespace kplug
