// Where rule `run` commands wait and run: a few worker threads (a slow command never
// delays a module load or another event) fed from a bounded queue, so a burst of events
// for a rule whose program hangs costs at most the queue, never unbounded memory. Owns
// the running process groups: stop() kills them and drops what waits.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "daemon/command_runner.hpp"

namespace kplug {

class CommandPool {
 public:
  using Done = std::function<void(const CommandResult&)>;
  // RUN runs each command on a worker thread (run_command in kplugd).
  CommandPool(boost::asio::io_context& io, unsigned workers, std::size_t max_queued, CommandRunner run);
  ~CommandPool();

  // Queues ARGV; DONE(result) runs on IO's loop when it has run (or was dropped at
  // stop). False, and nothing queued, when the queue is full. Call it on IO's loop.
  bool submit(std::vector<std::string> argv, std::chrono::milliseconds limit, Done done);

  struct Stopped {
    std::size_t killed = 0;   // running: their process groups were killed (or they never start)
    std::size_t dropped = 0;  // queued: they will not run
  };
  // Nothing starts any more; what runs is killed. Call it on IO's loop.
  Stopped stop();

  std::size_t running() const { return running_; }
  std::size_t queued() const { return outstanding_ - std::min<std::size_t>(outstanding_, running_); }

 private:
  boost::asio::io_context& io_;
  unsigned workers_;
  // Started at the first command: most machines' rules run none, and an idle thread
  // still holds its stack and its malloc arena.
  std::optional<boost::asio::thread_pool> threads_;
  std::size_t max_queued_;
  CommandRunner run_;
  std::size_t outstanding_ = 0;  // submitted and not yet done (loop thread only)
  std::atomic<std::size_t> running_{0};
  RunningGroups groups_;
};

}  // namespace kplug
