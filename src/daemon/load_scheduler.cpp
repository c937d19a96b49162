// Loads and unloads on the loader threads, results back on the loop (see the header).
#include "daemon/load_scheduler.hpp"

#include <cerrno>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "base/logging.hpp"
#include "base/text.hpp"

namespace kplug {

namespace {

// A load that failed for lack of file descriptors is tried this many times in all.
constexpr int max_load_attempts = 5;
constexpr std::chrono::milliseconds load_retry_delay{500};

}  // namespace

LoadScheduler::LoadScheduler(boost::asio::io_context& io, std::vector<std::unique_ptr<ModuleLoader>> loaders,
                             std::unique_ptr<NamedTimers> timers, std::chrono::milliseconds slow_load, Counters& counters,
                             Clock clock, bool keep_one_for_critical)
    : io_(io), loaders_(std::move(loaders), keep_one_for_critical), timers_(std::move(timers)), slow_load_(slow_load), counters_(counters),
      clock_(std::move(clock)) {}

template <typename Fn, typename Done>
void LoadScheduler::on_loader(Fn fn, Done done, LoaderPool::Urgency urgency) {
  // The guard keeps io.run() alive until the result is back on the loop.
  loaders_.post([this, fn = std::move(fn), done = std::move(done),
                 guard = boost::asio::make_work_guard(io_)](ModuleLoader& loader) mutable {
    boost::asio::post(io_, [done = std::move(done), result = fn(loader), guard = std::move(guard)] { done(result); });
  }, std::move(urgency));
}

void LoadScheduler::load(LoadJob job, LoadDone done) {
  // A load of the module already queued or running (nothing after it): share its result.
  if (auto it = modules_.find(job.module); it != modules_.end() && it->second.operations.back().is_load) {
    Operation& shared = it->second.operations.back();
    // A more urgent request makes the load more urgent, while it waits for a loader.
    if (job.priority < shared.urgency->load()) shared.urgency->store(job.priority);
    shared.waiting.push_back(std::move(done));
    return;
  }
  std::string module = job.module;
  Operation op;
  op.urgency = std::make_shared<std::atomic<Priority>>(job.priority);
  op.job = std::move(job);
  op.waiting.push_back(std::move(done));
  add(module, std::move(op));
}

void LoadScheduler::unload(const std::string& module, std::vector<std::string> deps, UnloadDone done,
                           std::function<bool()> still_wanted) {
  Operation op;
  op.is_load = false;
  op.deps = std::move(deps);
  op.unloaded = std::move(done);
  op.still_wanted = std::move(still_wanted);
  add(module, std::move(op));
}

void LoadScheduler::add(const std::string& module, Operation op) {
  modules_[module].operations.push_back(std::move(op));
  do_next(module);
}

void LoadScheduler::do_next(const std::string& module) {
  auto it = modules_.find(module);
  if (it == modules_.end() || it->second.running) return;
  auto& queue = it->second;
  // Unloads whose turn came too late (a device needs the module again; stopping) go.
  while (!queue.operations.empty() && !queue.operations.front().is_load &&
         (stopping_ || (queue.operations.front().still_wanted && !queue.operations.front().still_wanted()))) {
    queue.operations.pop_front();
  }
  if (queue.operations.empty()) {
    modules_.erase(it);  // (the result that made it so calls after_each_ once, after this)
    return;
  }
  queue.running = true;
  const Operation& op = queue.operations.front();
  if (!op.is_load) {
    on_loader([module, deps = op.deps](ModuleLoader& loader) { return loader.unload(module, deps); },
              [this, module](const UnloadResult& result) { on_unload_result(module, result); });
    return;
  }
  timers_->start("slow " + module, slow_load_, [this, job = op.job] {
    if (!stopping_) on_slow(job);
  });
  do_attempt(op.job, 1, op.urgency);
}

LoadScheduler::Operation LoadScheduler::take_front(const std::string& module) {
  auto& queue = modules_.at(module);
  Operation op = std::move(queue.operations.front());
  queue.operations.pop_front();
  queue.running = false;
  if (queue.operations.empty()) modules_.erase(module);
  return op;
}

void LoadScheduler::do_attempt(const LoadJob& job, int attempt, LoaderPool::Urgency urgency) {
  on_loader([job](ModuleLoader& loader) { return loader.load(job); },
            [this, job, attempt](const LoadResult& result) { on_result(job, attempt, result); }, std::move(urgency));
}

void LoadScheduler::on_result(const LoadJob& job, int attempt, const LoadResult& result) {
  // Out of descriptors says nothing about the module: try again shortly (kplugd's own
  // descriptors are bounded, so this passes once whoever holds the rest lets go).
  bool no_fds = result.status == LoadStatus::failed && (result.error == EMFILE || result.error == ENFILE);
  if (no_fds && attempt < max_load_attempts && !stopping_) {
    ++counters_.loads_retried;
    spdlog::warn("{}; trying again in {} ms (try {} of {})", printable(result.message), load_retry_delay.count(),
                 attempt + 1, max_load_attempts);
    // Not cancelled at stop: it fires and reports the failure as it stands.
    timers_->start("retry " + job.module, load_retry_delay, [this, job, attempt, result] {
      if (!stopping_) do_attempt(job, attempt + 1, modules_.at(job.module).operations.front().urgency);
      else on_result(job, max_load_attempts, result);
    });
    return;
  }
  timers_->cancel("slow " + job.module);
  if (slow_loads_.erase(job.module))
    spdlog::info("the slow load of {} finished after {:.1f} s", job.module,
                 static_cast<double>(result.duration.count()) / 1e6);
  Operation op = take_front(job.module);
  for (std::size_t i = 0; i < op.waiting.size(); ++i) {
    op.waiting[i](result, i > 0);
  }
  do_next(job.module);  // what waited for this load (a callback may have started it already)
  if (after_each_) after_each_();
}

void LoadScheduler::on_unload_result(const std::string& module, const UnloadResult& result) {
  Operation op = take_front(module);
  op.unloaded(result);
  do_next(module);  // a load that arrived meanwhile loads afresh
  if (after_each_) after_each_();
}

void LoadScheduler::on_slow(const LoadJob& job) {
  ++counters_.slow_loads;
  slow_loads_[job.module] = {job.devpath, clock_() - slow_load_};
  log_fields(spdlog::level::warn, {{"KPLUG_ACTION", "slow_load"}, {"MODULE", job.module}, {"DEVPATH", job.devpath}},
             fmt::format("loading {} for {} is slow: still in the kernel's module init after {:.1f} s; other events go on",
                         job.module, printable(job.devpath), static_cast<double>(slow_load_.count()) / 1000.0));
}

void LoadScheduler::stop() {
  stopping_ = true;
  for (const auto& [module, queue] : modules_) timers_->cancel("slow " + module);
}

std::size_t LoadScheduler::operations() const {
  std::size_t n = 0;
  for (const auto& [module, queue] : modules_)
    for (const auto& op : queue.operations) n += op.is_load ? op.waiting.size() : 1;
  return n;
}

std::vector<LoadScheduler::SlowLoad> LoadScheduler::slow_loads() const {
  std::vector<SlowLoad> out;
  auto now = clock_();
  for (const auto& [module, info] : slow_loads_)
    out.push_back({module, info.first, std::chrono::duration<double>(now - info.second).count()});
  return out;
}

}  // namespace kplug
