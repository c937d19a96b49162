// Loading modules through libkmod, telling "inserted now" apart from "already there".
#include "kmod/kmod_loader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <libkmod.h>

#include "base/names.hpp"
#include "kmod/kmod_refs.hpp"

namespace kplug {

namespace {

using SteadyClock = std::chrono::steady_clock;

LoadResult failed(int err, std::string message) {
  LoadResult r;
  r.status = LoadStatus::failed;
  r.error = err;
  r.message = std::move(message);
  return r;
}

// "No such device (ENODEV)": the text for people, the name for searching and scripts.
std::string errno_text(int err) {
  const char* name = strerrorname_np(err);
  return name ? fmt::format("{} ({})", std::strerror(err), name) : std::string(std::strerror(err));
}

LoadResult with_status(LoadStatus status) {
  LoadResult r;
  r.status = status;
  return r;
}

// The module named NAME, looked up the way modprobe would (modules.dep, then the
// builtin index), as a one-element list the public filter API can work on.
using NamedModule = ModuleList;

// True when FILTER removes the module from its list.
bool filtered_out(const KmodContext& ctx, const NamedModule& named, kmod_filter filter) {
  kmod_list* out = nullptr;
  int err = kmod_module_apply_filter(ctx.get(), filter, named.list, &out);
  bool removed = err >= 0 && out == nullptr;
  if (out) kmod_module_unref_list(out);
  return removed;
}

}  // namespace

const char* to_string(LoadStatus status) {
  switch (status) {
    case LoadStatus::loaded: return "loaded";
    case LoadStatus::already_loaded: return "already_loaded";
    case LoadStatus::builtin: return "builtin";
    case LoadStatus::blacklisted: return "blacklisted";
    case LoadStatus::would_load: return "would_load";
    case LoadStatus::failed: return "failed";
  }
  return "unknown";
}

const char* to_string(UnloadStatus status) {
  switch (status) {
    case UnloadStatus::unloaded: return "unloaded";
    case UnloadStatus::would_unload: return "would_unload";
    case UnloadStatus::in_use: return "in_use";
    case UnloadStatus::not_loaded: return "not_loaded";
    case UnloadStatus::failed: return "failed";
  }
  return "unknown";
}

namespace {

bool is_live(kmod_module* mod) {
  int state = kmod_module_get_initstate(mod);
  return state == KMOD_MODULE_LIVE || state == KMOD_MODULE_COMING;
}

// MOD's dependencies, recursively, deepest last.
void dependency_closure(kmod_module* mod, std::vector<std::string>& names) {
  kmod_list* deps = kmod_module_get_dependencies(mod);
  kmod_list* it;
  kmod_list_foreach(it, deps) {
    kmod_module* dep = kmod_module_get_module(it);
    std::string name = kmod_module_get_name(dep);
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(name);
      dependency_closure(dep, names);
    }
    kmod_module_unref(dep);
  }
  kmod_module_unref_list(deps);
}

}  // namespace

std::vector<std::string> module_dependencies(const KmodContext& ctx, const std::string& module) {
  std::vector<std::string> names;
  ModuleRef ref;
  if (kmod_module_new_from_name(ctx.get(), module.c_str(), &ref.mod) == 0) dependency_closure(ref.mod, names);
  return names;
}

std::string bound_devices(const std::string& module, const std::string& sys_module_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path drivers = fs::path(sys_module_dir) / module / "drivers";
  for (const auto& driver : fs::directory_iterator(drivers, ec)) {
    // A driver directory holds control files and one symlink per bound device; the
    // symlink named "module" points back at the module itself.
    for (const auto& entry : fs::directory_iterator(driver.path(), ec)) {
      std::string name = entry.path().filename();
      if (name == "module" || !entry.is_symlink(ec)) continue;
      return "driver " + driver.path().filename().string() + " is bound to " + name;
    }
  }
  return "";
}

// EMFILE or ENFILE when no descriptor can be opened now, else 0.
static int descriptors_exhausted() {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  return errno == EMFILE || errno == ENFILE ? errno : 0;
}

std::optional<LoadResult> precheck_load(const KmodContext& ctx, const LoadJob& job, bool check_live,
                                        kmod_module** module) {
  if (!is_safe_module_name(job.module))
    return failed(EINVAL, fmt::format("refusing to load '{}': not a module name", job.module));
  // A module name resolves through modules.dep (or the builtin index) to itself alone.
  NamedModule named;
  if (int err = kmod_module_new_from_lookup(ctx.get(), job.module.c_str(), &named.list); err < 0)
    return failed(-err, fmt::format("failed to look up {}: {}", job.module, std::strerror(-err)));
  if (!named.list) {
    // libkmod reads an index it cannot open as empty: out of descriptors is no "no such module".
    if (int err = descriptors_exhausted())
      return failed(err, fmt::format("failed to look up {}: {}", job.module, std::strerror(err)));
    return failed(ENOENT, fmt::format("failed to load {}: no such module in {}", job.module, ctx.modules_dir()));
  }
  ModuleRef ref{named.first()};
  if (filtered_out(ctx, named, KMOD_FILTER_BUILTIN)) return with_status(LoadStatus::builtin);
  if (check_live) {
    int state = kmod_module_get_initstate(ref.mod);
    if (state == KMOD_MODULE_BUILTIN) return with_status(LoadStatus::builtin);
    if (state == KMOD_MODULE_LIVE || state == KMOD_MODULE_COMING) return with_status(LoadStatus::already_loaded);
  }
  if (job.apply_blacklist && filtered_out(ctx, named, KMOD_FILTER_BLACKLIST)) return with_status(LoadStatus::blacklisted);
  if (!kmod_module_get_path(ref.mod))
    return failed(ENOENT, fmt::format("failed to load {}: not in modules.dep of {}", job.module, ctx.modules_dir()));
  if (module) std::swap(*module, ref.mod);  // hand our reference over
  return std::nullopt;
}

LoadResult KmodLoader::load(const LoadJob& job) {
  auto start = SteadyClock::now();
  // This thread's context reads modprobe.d once; a changed blacklist or options file
  // must count from the next load on.
  if (ctx_->changed()) (void)KmodContext::reopen(ctx_);
  auto finish = [&](LoadResult r) {
    r.duration = std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - start);
    return r;
  };
  ModuleRef ref;
  if (auto early = precheck_load(*ctx_, job, true, &ref.mod)) return finish(*early);
  // FAIL_ON_LOADED: a module that went live since the precheck reports -EEXIST instead
  // of a success that would make us claim a load we did not do.
  // Which dependencies this load will insert: those not loaded yet (for unloading later).
  std::vector<std::string> deps, not_yet;
  dependency_closure(ref.mod, deps);
  for (const auto& name : deps) {
    ModuleRef dep;
    if (kmod_module_new_from_name(ctx_->get(), name.c_str(), &dep.mod) == 0 && !is_live(dep.mod) &&
        kmod_module_get_initstate(dep.mod) != KMOD_MODULE_BUILTIN)
      not_yet.push_back(name);
  }
  // modprobe.d options apply by themselves; a rule's options are added to them.
  int err = kmod_module_probe_insert_module(ref.mod, KMOD_PROBE_FAIL_ON_LOADED,
                                            job.options.empty() ? nullptr : job.options.c_str(), nullptr, nullptr,
                                            nullptr);
  if (err == -EEXIST) return finish(with_status(LoadStatus::already_loaded));
  if (err < 0) return finish(failed(-err, fmt::format("failed to load {}: {}", job.module, errno_text(-err))));
  if (err > 0) return finish(with_status(LoadStatus::blacklisted));
  LoadResult done = with_status(LoadStatus::loaded);
  for (const auto& name : not_yet) {
    ModuleRef dep;
    if (kmod_module_new_from_name(ctx_->get(), name.c_str(), &dep.mod) == 0 && is_live(dep.mod))
      done.pulled_in.push_back(name);
  }
  return finish(done);
}

// Why MOD cannot be removed now, or "" when it can.
std::string KmodLoader::why_in_use(kmod_module* mod, const std::string& name) {
  if (kmod_module_get_initstate(mod) == KMOD_MODULE_BUILTIN) return "built into the kernel";
  if (int refcnt = kmod_module_get_refcnt(mod); refcnt > 0) return fmt::format("refcount is {}", refcnt);
  if (kmod_list* holders = kmod_module_get_holders(mod)) {
    std::string names;
    kmod_list* it;
    kmod_list_foreach(it, holders) {
      kmod_module* h = kmod_module_get_module(it);
      names += (names.empty() ? "" : " ") + std::string(kmod_module_get_name(h));
      kmod_module_unref(h);
    }
    kmod_module_unref_list(holders);
    return "held by " + names;
  }
  return bound_devices(name);
}

UnloadResult KmodLoader::unload(const std::string& module, const std::vector<std::string>& dependencies) {
  auto start = SteadyClock::now();
  auto finish = [&](UnloadStatus status, std::string message = "") {
    UnloadResult r{status, std::move(message), {}, {}};
    r.duration = std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - start);
    return r;
  };
  if (!is_safe_module_name(module)) return finish(UnloadStatus::failed, "not a module name");
  ModuleRef ref;
  if (int err = kmod_module_new_from_name(ctx_->get(), module.c_str(), &ref.mod); err < 0)
    return finish(UnloadStatus::failed, std::strerror(-err));
  if (kmod_module_get_initstate(ref.mod) < 0) return finish(UnloadStatus::not_loaded);
  if (std::string why = why_in_use(ref.mod, module); !why.empty()) return finish(UnloadStatus::in_use, why);
  if (int err = kmod_module_remove_module(ref.mod, 0); err < 0) {
    if (err == -EBUSY || err == -EAGAIN) return finish(UnloadStatus::in_use, std::strerror(-err));
    if (err == -ENOENT) return finish(UnloadStatus::not_loaded);
    return finish(UnloadStatus::failed, fmt::format("failed to unload {}: {}", module, std::strerror(-err)));
  }
  UnloadResult result = finish(UnloadStatus::unloaded);
  // Dependencies go in order: each pass frees the ones that only the removed held.
  std::vector<std::string> left = dependencies;
  for (bool progress = true; progress && !left.empty();) {
    progress = false;
    for (auto it = left.begin(); it != left.end();) {
      ModuleRef dep;
      bool removed = is_safe_module_name(*it) &&
                     kmod_module_new_from_name(ctx_->get(), it->c_str(), &dep.mod) == 0 && is_live(dep.mod) &&
                     why_in_use(dep.mod, *it).empty() && kmod_module_remove_module(dep.mod, 0) == 0;
      if (removed) {
        result.removed_dependencies.push_back(*it);
        it = left.erase(it);
        progress = true;
      } else {
        ++it;
      }
    }
  }
  result.duration = std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - start);
  return result;
}

}  // namespace kplug
