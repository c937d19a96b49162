// ModuleLoader over libkmod: probe-insert with modprobe.d options, dependencies and
// softdeps, skipping builtin, already-loaded and (for aliases) blacklisted modules.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kmod/kmod_context.hpp"
#include "kmod/module_loader.hpp"

struct kmod_module;

namespace kplug {

class KmodLoader : public ModuleLoader {
 public:
  explicit KmodLoader(std::unique_ptr<KmodContext> ctx) : ctx_(std::move(ctx)) {}
  LoadResult load(const LoadJob& job) override;
  UnloadResult unload(const std::string& module, const std::vector<std::string>& dependencies) override;

 private:
  static std::string why_in_use(kmod_module* mod, const std::string& name);
  std::unique_ptr<KmodContext> ctx_;
};

// The checks both loaders share: a result when the module must not (or need not) be
// inserted — bad name, unknown, builtin, already live, blacklisted — nullopt otherwise.
// `check_live` consults /sys/module (off for dry runs against another kernel's tree).
// When it passes and MODULE is given, *MODULE receives the looked-up module (the caller
// unrefs it), so the insertion needs no second lookup.
std::optional<LoadResult> precheck_load(const KmodContext& ctx, const LoadJob& job, bool check_live,
                                        kmod_module** module = nullptr);

// MODULE's dependencies from modules.dep, all the way down (what loading it inserts when
// none is loaded); empty when it has none or is unknown.
std::vector<std::string> module_dependencies(const KmodContext& ctx, const std::string& module);

// Why MODULE must stay, read from /sys/module/MODULE/drivers: "" when no device is bound
// to any of its drivers, else e.g. "driver usb:usb_hello is bound to 1-1:1.0".
std::string bound_devices(const std::string& module, const std::string& sys_module_dir = "/sys/module");

}  // namespace kplug
