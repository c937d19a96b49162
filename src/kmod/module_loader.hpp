// The ModuleLoader interface: the one place module insertion happens, so tests and
// --dry-run can swap in an implementation that inserts nothing.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/priority.hpp"

namespace kplug {

struct LoadJob {
  std::string module;
  // The modprobe.d blacklist applies, as to every automatic load in udevd (MODALIAS and a
  // rule's `load:` alike); false only for a rule that says `load_blacklisted: true`.
  bool apply_blacklist = true;
  std::string devpath;    // for logs
  std::string modalias;   // for logs
  std::string options;    // extra module parameters from a rule, "key=value ..."
  Priority priority = Priority::normal;  // the loader pool starts more urgent loads first
};

enum class LoadStatus {
  loaded,          // inserted now, by us
  already_loaded,  // was live before we asked
  builtin,         // part of the kernel image
  blacklisted,     // blacklisted in modprobe.d, and the blacklist applies to the job
  would_load,      // dry run: would have been inserted
  failed,
};

struct LoadResult {
  LoadStatus status = LoadStatus::failed;
  int error = 0;        // errno for `failed`
  std::string message;  // for `failed`: what was attempted and why it failed
  std::chrono::microseconds duration{0};
  std::vector<std::string> pulled_in;  // dependencies this load inserted (were not loaded before)
};

const char* to_string(LoadStatus status);

enum class UnloadStatus {
  unloaded,      // removed now
  would_unload,  // dry run
  in_use,        // refcount, holders or a bound device keep it; nothing was done
  not_loaded,    // already gone
  failed,
};

struct UnloadResult {
  UnloadStatus status = UnloadStatus::failed;
  std::string message;  // for in_use and failed: why
  std::chrono::microseconds duration{0};
  std::vector<std::string> removed_dependencies;
};

const char* to_string(UnloadStatus status);

class ModuleLoader {
 public:
  virtual ~ModuleLoader() = default;
  // Blocks while the kernel runs the module's init; call it from a loader thread.
  virtual LoadResult load(const LoadJob& job) = 0;
  // Removes MODULE only if its refcount is 0, no module holds it and no device is bound
  // to its drivers; then, as `modprobe -r` does, those of DEPENDENCIES (what loading it
  // pulled in) that nothing uses any more. Call it from a loader thread.
  virtual UnloadResult unload(const std::string& module, const std::vector<std::string>& dependencies) = 0;
};

}  // namespace kplug
