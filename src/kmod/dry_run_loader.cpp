// Dry-run loading: every check, no insertion.
#include "kmod/dry_run_loader.hpp"

#include "kmod/kmod_loader.hpp"

namespace kplug {

LoadResult DryRunLoader::load(const LoadJob& job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(job);
  }
  if (ctx_ && ctx_->changed()) (void)KmodContext::reopen(ctx_);
  // /sys/module describes the running kernel, not necessarily the tree we check against.
  if (ctx_)
    if (auto early = precheck_load(*ctx_, job, false)) return *early;
  LoadResult r;
  r.status = LoadStatus::would_load;
  return r;
}

UnloadResult DryRunLoader::unload(const std::string&, const std::vector<std::string>&) {
  return {UnloadStatus::would_unload, "", {}, {}};
}

std::vector<LoadJob> DryRunLoader::jobs() const {
  std::lock_guard lock(mutex_);
  return jobs_;
}

}  // namespace kplug
