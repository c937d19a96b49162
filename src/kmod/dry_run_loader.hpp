// A ModuleLoader that inserts nothing: it runs the same checks as the real loader
// against the modules tree (builtin, blacklist, present in modules.dep), records each
// job and answers `would_load`. Used by --dry-run and by tests.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "kmod/kmod_context.hpp"
#include "kmod/module_loader.hpp"

namespace kplug {

class DryRunLoader : public ModuleLoader {
 public:
  // Without a context it checks nothing and answers `would_load` for every job.
  explicit DryRunLoader(std::unique_ptr<KmodContext> ctx = nullptr) : ctx_(std::move(ctx)) {}
  LoadResult load(const LoadJob& job) override;
  UnloadResult unload(const std::string& module, const std::vector<std::string>& dependencies) override;
  std::vector<LoadJob> jobs() const;

 private:
  std::unique_ptr<KmodContext> ctx_;
  mutable std::mutex mutex_;  // jobs_ is read by tests from another thread
  std::vector<LoadJob> jobs_;
};

}  // namespace kplug
