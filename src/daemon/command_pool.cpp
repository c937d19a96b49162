// Worker threads for `run` commands, with results handed back to the loop.
#include "daemon/command_pool.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

namespace kplug {

CommandPool::CommandPool(boost::asio::io_context& io, unsigned workers, std::size_t max_queued, CommandRunner run)
    : io_(io), workers_(std::max(1u, workers)), max_queued_(max_queued), run_(std::move(run)) {}

CommandPool::~CommandPool() {
  groups_.stop();
  if (threads_) threads_->join();
}

bool CommandPool::submit(std::vector<std::string> argv, std::chrono::milliseconds limit, Done done) {
  if (groups_.stopping() || queued() >= max_queued_) return false;
  ++outstanding_;
  if (!threads_) threads_.emplace(workers_);
  boost::asio::post(*threads_, [this, argv = std::move(argv), limit, done = std::move(done),
                               guard = boost::asio::make_work_guard(io_)]() mutable {
    CommandResult result;
    if (groups_.stopping()) {
      result.stopped = true;
      result.error = "dropped: kplugd is stopping";
    } else {
      ++running_;
      result = run_(argv, limit, &groups_);
      --running_;
    }
    boost::asio::post(io_, [this, done = std::move(done), result = std::move(result), guard = std::move(guard)] {
      --outstanding_;
      done(result);
    });
  });
  return true;
}

CommandPool::Stopped CommandPool::stop() {
  Stopped s;
  s.dropped = queued();
  // Taken by a worker: killed now, or refused at its spawn a moment later.
  s.killed = running_;
  groups_.stop();
  return s;
}

}  // namespace kplug
