// A ModuleLoader for `kplug replay`: it inserts nothing, but keeps the set of modules
// that would be loaded, so a replay goes the way the machine went — a second device's
// load finds its module already loaded, an unload takes the dependencies the load pulled
// in and refuses while another loaded module needs it. The same checks as the real
// loader (known, builtin, blacklisted) run against the modules tree.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kmod/kmod_context.hpp"
#include "kmod/module_loader.hpp"

namespace kplug {

// The modules "loaded" in a replay, shared by the loader threads and the system view.
class SimulatedModules {
 public:
  explicit SimulatedModules(std::set<std::string> live = {}) : live_(std::move(live)) {}
  std::set<std::string> live() const;
  bool is_live(const std::string& module) const;
  // Modules loaded before the replay's first event (the recording's header).
  void add_live(const std::vector<std::string>& modules);

 private:
  friend class SimulatedLoader;
  mutable std::mutex mutex_;
  std::set<std::string> live_;
  std::map<std::string, std::vector<std::string>> needs_;  // module -> its dependencies (as loaded)
};

// What the simulated loader asks of the modules tree. kmod_tree() reads it with libkmod;
// the tests' FakeModuleTree (tests/unit/fakes.hpp) from a map.
class ModuleTree {
 public:
  virtual ~ModuleTree() = default;
  // The answer when a load would not even start (unknown, builtin, blacklisted).
  virtual std::optional<LoadResult> precheck(const LoadJob& job) = 0;
  // What MODULE needs loaded first, in load order.
  virtual std::vector<std::string> dependencies(const std::string& module) = 0;
};
std::unique_ptr<ModuleTree> kmod_tree(std::unique_ptr<KmodContext> ctx);

class SimulatedLoader : public ModuleLoader {
 public:
  SimulatedLoader(std::unique_ptr<ModuleTree> tree, SimulatedModules& modules)
      : tree_(std::move(tree)), modules_(modules) {}
  LoadResult load(const LoadJob& job) override;
  UnloadResult unload(const std::string& module, const std::vector<std::string>& dependencies) override;

 private:
  std::unique_ptr<ModuleTree> tree_;
  SimulatedModules& modules_;
};

}  // namespace kplug
