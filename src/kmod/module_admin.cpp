// The module commands over libkmod: list, describe, insert, remove, with errors that
// name the cause (not root, in use and by whom, unknown, built for another kernel, no
// module support) and the way out.
#include "kmod/module_admin.hpp"

#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sys/utsname.h>

#include <fmt/format.h>
#include <libkmod.h>
#include <sys/stat.h>

#include "base/names.hpp"
#include "kmod/kmod_refs.hpp"

namespace kplug {

namespace {

std::string running_release() {
  utsname u{};
  uname(&u);
  return u.release;
}

std::vector<std::string> holder_names(kmod_module* mod) {
  std::vector<std::string> names;
  ModuleList holders{kmod_module_get_holders(mod)};
  kmod_list* it;
  kmod_list_foreach(it, holders.list) {
    ModuleRef h{kmod_module_get_module(it)};
    names.push_back(kmod_module_get_name(h.mod));
  }
  return names;
}

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

bool is_loaded(kmod_module* mod) {
  int state = kmod_module_get_initstate(mod);
  return state == KMOD_MODULE_LIVE || state == KMOD_MODULE_COMING || state == KMOD_MODULE_GOING;
}

std::string not_root_hint(const char* what) {
  if (geteuid() != 0) return fmt::format("{} needs root (CAP_SYS_MODULE): run it with sudo", what);
  std::ifstream disabled("/proc/sys/kernel/modules_disabled");
  if (int value = 0; disabled >> value && value == 1)
    return fmt::format("{} is refused: module loading is disabled until reboot (kernel.modules_disabled=1)", what);
  return fmt::format("{} is refused although we are root: the kernel is locked down (Secure Boot wants modules "
                     "signed with a trusted key) or the process lacks CAP_SYS_MODULE",
                     what);
}

ModuleInfo info_of(kmod_module* mod) {
  ModuleInfo info;
  info.name = kmod_module_get_name(mod);
  const char* path = kmod_module_get_path(mod);
  info.filename = path ? path : "(builtin)";
  ModuleList fields;
  if (kmod_module_get_info(mod, &fields.list) >= 0) {
    kmod_list* it;
    kmod_list_foreach(it, fields.list)
        info.fields.emplace_back(kmod_module_info_get_key(it), kmod_module_info_get_value(it));
    kmod_module_info_free_list(fields.list);
    fields.list = nullptr;
  }
  return info;
}

std::string parameter_names(const ModuleInfo& info) {
  std::vector<std::string> names;
  for (const auto& parm : info.values("parm")) names.push_back(parm.substr(0, parm.find(':')));
  return names.empty() ? "none" : join(names, ", ");
}

// Why insmod got ENOENT: a dependency that is not loaded, or a parameter the module
// does not take.
std::string explain_enoent(const KmodContext& ctx, const ModuleInfo& info, const std::string& options) {
  std::vector<std::string> missing;
  for (const auto& depends : info.values("depends")) {
    for (std::size_t start = 0; start < depends.size();) {
      std::size_t comma = depends.find(',', start);
      std::string dep = depends.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      start = comma == std::string::npos ? depends.size() : comma + 1;
      ModuleRef d;
      if (!dep.empty() && kmod_module_new_from_name(ctx.get(), dep.c_str(), &d.mod) == 0 && !is_loaded(d.mod))
        missing.push_back(dep);
    }
  }
  if (!missing.empty())
    return fmt::format("{} uses symbols from {}, which {} not loaded: insert {} first (insmod loads no "
                       "dependencies; modprobe does, for modules installed under /lib/modules)",
                       info.name, join(missing, ", "), missing.size() == 1 ? "is" : "are", join(missing, ", "));
  if (auto unknown = unknown_parameters(info, options); !unknown.empty())
    return fmt::format("{} has no parameter '{}'; it takes: {}", info.name, unknown[0], parameter_names(info));
  return fmt::format("the kernel refused {}: an unknown symbol or parameter (dmesg says which)", info.name);
}

}  // namespace

std::vector<std::string> ModuleInfo::values(const std::string& key) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : fields)
    if (k == key) out.push_back(v);
  return out;
}

std::string module_support_problem(const std::string& proc_modules) {
  std::error_code ec;
  if (std::filesystem::exists(proc_modules, ec)) return "";
  return fmt::format("this kernel ({}) has no loadable module support: {} does not exist (CONFIG_MODULES is "
                     "off), so modules can be neither listed, inserted nor removed here",
                     running_release(), proc_modules);
}

Result<std::vector<LiveModule>, std::string> list_live_modules(const KmodContext& ctx) {
  if (auto problem = module_support_problem(); !problem.empty()) return unexpected(problem);
  ModuleList loaded;
  if (int err = kmod_module_new_from_loaded(ctx.get(), &loaded.list); err < 0)
    return unexpected(fmt::format("cannot read /proc/modules: {}", std::strerror(-err)));
  std::vector<LiveModule> out;
  kmod_list* it;
  kmod_list_foreach(it, loaded.list) {
    ModuleRef m{kmod_module_get_module(it)};
    out.push_back({kmod_module_get_name(m.mod), kmod_module_get_size(m.mod), kmod_module_get_refcnt(m.mod),
                   holder_names(m.mod)});
  }
  return out;
}

std::string format_module_options(const std::vector<std::string>& parameters) {
  std::string out;
  for (const auto& p : parameters) {
    std::size_t eq = p.find('=');
    bool quote = eq != std::string::npos && p.find(' ', eq) != std::string::npos;
    out += (out.empty() ? "" : " ") + (quote ? p.substr(0, eq + 1) + '"' + p.substr(eq + 1) + '"' : p);
  }
  return out;
}

std::vector<std::string> unknown_parameters(const ModuleInfo& info, const std::string& options) {
  std::vector<std::string> declared, unknown;
  for (const auto& parm : info.values("parm")) declared.push_back(parm.substr(0, parm.find(':')));
  bool quoted = false;
  std::string word;
  auto flush = [&] {
    std::string key = word.substr(0, word.find('='));
    if (!key.empty() && std::find(declared.begin(), declared.end(), key) == declared.end()) unknown.push_back(key);
    word.clear();
  };
  for (char c : options) {
    if (c == '"') quoted = !quoted;
    if (c == ' ' && !quoted) flush();
    else word += c;
  }
  flush();
  return unknown;
}

bool alias_matches(const std::string& pattern, const std::string& modalias) {
  return fnmatch(pattern.c_str(), modalias.c_str(), 0) == 0;
}

bool looks_like_module_file(const std::string& arg) {
  auto ends_with = [&](const char* suffix) {
    std::string_view s(suffix);
    return arg.size() > s.size() && arg.compare(arg.size() - s.size(), s.size(), s) == 0;
  };
  return arg.find('/') != std::string::npos || ends_with(".ko") || ends_with(".ko.xz") || ends_with(".ko.zst") ||
         ends_with(".ko.gz");
}

Result<std::vector<ModuleInfo>, std::string> read_module_info(const KmodContext& ctx,
                                                              const std::string& name_or_file) {
  if (looks_like_module_file(name_or_file)) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(name_or_file, ec))
      return unexpected(fmt::format("{}: no such module file", name_or_file));
    ModuleRef m;
    if (int err = kmod_module_new_from_path(ctx.get(), name_or_file.c_str(), &m.mod); err < 0)
      return unexpected(fmt::format("cannot read {}: {}", name_or_file, std::strerror(-err)));
    ModuleInfo info = info_of(m.mod);
    if (info.fields.empty()) return unexpected(fmt::format("{} is not a kernel module (no .modinfo section)", name_or_file));
    return std::vector<ModuleInfo>{info};
  }
  ModuleList found;
  if (int err = kmod_module_new_from_lookup(ctx.get(), name_or_file.c_str(), &found.list); err < 0)
    return unexpected(fmt::format("cannot look up {}: {}", name_or_file, std::strerror(-err)));
  std::vector<ModuleInfo> out;
  kmod_list* it;
  kmod_list_foreach(it, found.list) {
    ModuleRef m{kmod_module_get_module(it)};
    out.push_back(info_of(m.mod));
  }
  if (out.empty())
    return unexpected(fmt::format("no module named or aliased '{}' in {} (give a path to a .ko file, or "
                                  "--modules-dir for another kernel)",
                                  name_or_file, ctx.modules_dir()));
  return out;
}

Result<std::string, std::string> insert_module_file(const KmodContext& ctx, const std::string& file,
                                                    const std::string& options) {
  if (auto problem = module_support_problem(); !problem.empty()) return unexpected(problem);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return unexpected(fmt::format("{}: no such module file", file));
  ModuleRef m;
  if (int err = kmod_module_new_from_path(ctx.get(), file.c_str(), &m.mod); err < 0)
    return unexpected(fmt::format("cannot read {}: {}", file, std::strerror(-err)));
  ModuleInfo info = info_of(m.mod);
  if (is_loaded(m.mod))
    return unexpected(fmt::format("{} is already loaded (kplug rmmod {} removes it)", info.name, info.name));
  int err = kmod_module_insert_module(m.mod, 0, options.empty() ? nullptr : options.c_str());
  if (err >= 0) return info.name;
  switch (-err) {
    case EEXIST:
      return unexpected(fmt::format("{} is already loaded (kplug rmmod {} removes it)", info.name, info.name));
    case EPERM:
      return unexpected(not_root_hint("inserting a module"));
    case ENOSYS:
      return unexpected(module_support_problem("/nonexistent"));
    case ENOEXEC: {
      auto vermagic = info.values("vermagic");
      std::string built_for = vermagic.empty() ? "another kernel" : vermagic[0].substr(0, vermagic[0].find(' '));
      return unexpected(fmt::format("{} is not a module for this kernel: built for {}, running {}; rebuild it "
                                    "with make KDIR=/lib/modules/$(uname -r)/build",
                                    file, built_for, running_release()));
    }
    case ENOENT:
      return unexpected(explain_enoent(ctx, info, options));
    case EKEYREJECTED:
    case EBADMSG:
      return unexpected(fmt::format("the kernel rejected {}'s signature: {} (it wants modules signed with a "
                                    "trusted key)",
                                    info.name, std::strerror(-err)));
    default:
      return unexpected(fmt::format("the kernel refused {}: {} (a parameter value it rejects, or its init "
                                    "failed; dmesg has the module's own message)",
                                    info.name, std::strerror(-err)));
  }
}

Result<std::string, std::string> remove_live_module(const KmodContext& ctx, const std::string& name_or_file) {
  if (auto problem = module_support_problem(); !problem.empty()) return unexpected(problem);
  std::string name = name_or_file;
  if (looks_like_module_file(name)) {
    name = std::filesystem::path(name).filename();
    name = name.substr(0, name.find(".ko"));
  }
  std::replace(name.begin(), name.end(), '-', '_');
  if (!is_safe_module_name(name)) return unexpected(fmt::format("'{}' is not a module name", name_or_file));
  ModuleRef m;
  if (int err = kmod_module_new_from_name(ctx.get(), name.c_str(), &m.mod); err < 0)
    return unexpected(fmt::format("cannot look up {}: {}", name, std::strerror(-err)));
  int state = kmod_module_get_initstate(m.mod);
  if (state == KMOD_MODULE_BUILTIN)
    return unexpected(fmt::format("{} is built into the kernel: it cannot be removed", name));
  if (state < 0) return unexpected(fmt::format("{} is not loaded (kplug lsmod lists the loaded modules)", name));
  if (auto holders = holder_names(m.mod); !holders.empty())
    return unexpected(fmt::format("{} is in use by {}: remove {} first (kplug rmmod {})", name, join(holders, ", "),
                                  holders.size() == 1 ? "it" : "them", join(holders, " ")));
  if (int refcount = kmod_module_get_refcnt(m.mod); refcount > 0)
    return unexpected(fmt::format("{} is in use (refcount {}): something holds it, such as an open device file, "
                                  "a mounted filesystem or a network interface; close or stop that, then retry",
                                  name, refcount));
  if (int err = kmod_module_remove_module(m.mod, 0); err < 0) {
    switch (-err) {
      case EPERM: return unexpected(not_root_hint("removing a module"));
      case ENOENT: return unexpected(fmt::format("{} is not loaded", name));
      case EBUSY:
      case EAGAIN:
        return unexpected(fmt::format("{} is in use or cannot be removed (a module without an exit function stays "
                                      "until reboot)",
                                      name));
      default: return unexpected(fmt::format("failed to remove {}: {}", name, std::strerror(-err)));
    }
  }
  return name;
}

ModuleStanding module_standing(const KmodContext& ctx, const std::string& name) {
  ModuleStanding out;
  ModuleList found;
  if (kmod_module_new_from_lookup(ctx.get(), name.c_str(), &found.list) < 0 || !found.list) return out;
  out.in_index = true;
  ModuleRef m{found.first()};  // first() gives a reference of its own
  int state = kmod_module_get_initstate(m.mod);
  out.builtin = state == KMOD_MODULE_BUILTIN;
  out.live = state == KMOD_MODULE_LIVE || state == KMOD_MODULE_COMING;
  if (const char* path = kmod_module_get_path(m.mod)) {
    out.path = path;
    struct stat st {};
    out.file_present = ::stat(path, &st) == 0 && S_ISREG(st.st_mode);
  }
  if (!out.builtin) {
    // A tree for another kernel: modules.builtin says so (the filter drops builtin modules).
    ModuleList kept;
    if (kmod_module_apply_filter(ctx.get(), KMOD_FILTER_BUILTIN, found.list, &kept.list) == 0 && !kept.list)
      out.builtin = true;
  }
  return out;
}

}  // namespace kplug
