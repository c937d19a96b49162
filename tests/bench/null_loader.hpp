// A ModuleLoader that inserts nothing and says so, for driving the daemon's pipeline in
// benchmarks and the soak test without a kernel.
#pragma once

#include "kmod/module_loader.hpp"

namespace kplug {

class NullLoader : public ModuleLoader {
 public:
  LoadResult load(const LoadJob&) override {
    LoadResult r;
    r.status = LoadStatus::would_load;
    return r;
  }
  UnloadResult unload(const std::string&, const std::vector<std::string>&) override {
    return {UnloadStatus::would_unload, "", {}, {}};
  }
};

}  // namespace kplug
