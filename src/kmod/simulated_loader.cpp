// Simulated loading for replay (see the header).
#include "kmod/simulated_loader.hpp"

#include <algorithm>

#include "kmod/kmod_loader.hpp"

namespace kplug {

std::set<std::string> SimulatedModules::live() const {
  std::lock_guard lock(mutex_);
  return live_;
}

bool SimulatedModules::is_live(const std::string& module) const {
  std::lock_guard lock(mutex_);
  return live_.count(module) > 0;
}

void SimulatedModules::add_live(const std::vector<std::string>& modules) {
  std::lock_guard lock(mutex_);
  live_.insert(modules.begin(), modules.end());
}

namespace {

class KmodTree : public ModuleTree {
 public:
  explicit KmodTree(std::unique_ptr<KmodContext> ctx) : ctx_(std::move(ctx)) {}
  std::optional<LoadResult> precheck(const LoadJob& job) override { return precheck_load(*ctx_, job, false); }
  std::vector<std::string> dependencies(const std::string& module) override {
    return module_dependencies(*ctx_, module);
  }

 private:
  std::unique_ptr<KmodContext> ctx_;
};

}  // namespace

std::unique_ptr<ModuleTree> kmod_tree(std::unique_ptr<KmodContext> ctx) {
  return std::make_unique<KmodTree>(std::move(ctx));
}

LoadResult SimulatedLoader::load(const LoadJob& job) {
  if (auto early = tree_->precheck(job)) return *early;  // unknown, builtin, blacklisted
  std::vector<std::string> deps = tree_->dependencies(job.module);
  std::map<std::string, std::vector<std::string>> deps_of;  // each dependency's own, for unloading
  for (const auto& dep : deps) deps_of[dep] = tree_->dependencies(dep);
  std::lock_guard lock(modules_.mutex_);
  LoadResult r;
  if (modules_.live_.count(job.module)) {
    r.status = LoadStatus::already_loaded;
    return r;
  }
  r.status = LoadStatus::loaded;
  for (const auto& dep : deps)
    if (modules_.live_.insert(dep).second) {
      r.pulled_in.push_back(dep);
      modules_.needs_[dep] = deps_of[dep];
    }
  modules_.live_.insert(job.module);
  modules_.needs_[job.module] = deps;
  return r;
}

UnloadResult SimulatedLoader::unload(const std::string& module, const std::vector<std::string>& dependencies) {
  std::lock_guard lock(modules_.mutex_);
  auto& live = modules_.live_;
  auto& needs = modules_.needs_;
  // Held: another loaded module needs it (the kernel's refcount and holders).
  auto holder = [&](const std::string& name) -> std::string {
    for (const auto& [other, deps] : needs)
      if (other != name && live.count(other) && std::find(deps.begin(), deps.end(), name) != deps.end()) return other;
    return "";
  };
  UnloadResult r;
  if (!live.count(module)) {
    r.status = UnloadStatus::not_loaded;
    return r;
  }
  if (auto by = holder(module); !by.empty()) {
    r.status = UnloadStatus::in_use;
    r.message = "used by " + by;
    return r;
  }
  live.erase(module);
  needs.erase(module);
  r.status = UnloadStatus::unloaded;
  // Then, as modprobe -r does, the dependencies it pulled in that nothing uses any more.
  for (bool removed = true; removed;) {
    removed = false;
    for (const auto& dep : dependencies)
      if (live.count(dep) && holder(dep).empty()) {
        live.erase(dep);
        needs.erase(dep);
        r.removed_dependencies.push_back(dep);
        removed = true;
      }
  }
  return r;
}

}  // namespace kplug
