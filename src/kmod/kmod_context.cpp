// Creating libkmod contexts, with libkmod's own messages routed into kplug's logger so
// that stdout stays clean for results.
#include "kmod/kmod_context.hpp"

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <filesystem>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <algorithm>

#include <fmt/format.h>
#include <libkmod.h>
#include <spdlog/spdlog.h>

namespace kplug {

namespace {

// `data` is non-null when the context is quiet (KmodOptions::quiet).
void log_from_libkmod(void* data, int priority, const char* file, int line, const char* fn, const char* format,
                      va_list args) {
  char text[1024];
  vsnprintf(text, sizeof text, format, args);
  std::string_view msg(text);
  while (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
  // syslog priorities: 3 err, 4 warning, 6 info, 7 debug.
  auto level = priority <= 3 ? spdlog::level::err
               : priority == 4 ? spdlog::level::warn
               : priority <= 6 ? spdlog::level::info
                               : spdlog::level::trace;
  if (data != nullptr) level = std::min(level, spdlog::level::debug);
  spdlog::log(level, "libkmod: {} ({}:{} {})", msg, file, line, fn);
}

// Every modprobe.d file libkmod reads, as "path ino size mtime" lines, in order.
std::string config_stamp(const std::vector<std::string>& configured) {
  static const std::vector<std::string> defaults = {"/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d",
                                                    "/lib/modprobe.d", "/usr/lib/modprobe.d"};
  std::vector<std::string> files;
  for (const auto& path : configured.empty() ? defaults : configured) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      for (const auto& entry : std::filesystem::directory_iterator(path, ec)) files.push_back(entry.path());
    } else {
      files.push_back(path);
    }
  }
  std::sort(files.begin(), files.end());
  std::string out;
  for (const auto& f : files) {
    struct stat st {};
    if (stat(f.c_str(), &st) != 0) continue;
    out += fmt::format("{} {} {} {}.{}\n", f, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  }
  return out;
}

}  // namespace

std::string default_modules_dir() {
  utsname u{};
  uname(&u);
  return std::string("/lib/modules/") + u.release;
}

Result<std::unique_ptr<KmodContext>, std::string> KmodContext::open(const KmodOptions& options) {
  std::unique_ptr<KmodContext> kc(new KmodContext());
  kc->modules_dir_ = options.modules_dir.empty() ? default_modules_dir() : options.modules_dir;
  kc->options_ = options;
  kc->config_stamp_ = config_stamp(options.modprobe_config);
  std::error_code ec;
  if (!options.require_indexes) {
    kc->ctx_ = kmod_new(kc->modules_dir_.c_str(), nullptr);
    if (!kc->ctx_) return unexpected(std::string("cannot create a libkmod context"));
    kmod_set_log_fn(kc->ctx_, log_from_libkmod, options.quiet ? kc.get() : nullptr);
    kmod_set_log_priority(kc->ctx_, 4);
    return kc;
  }
  if (!std::filesystem::is_directory(kc->modules_dir_, ec))
    return unexpected(fmt::format("modules directory {} {} (pass --modules-dir DIR: the lib/modules/VERSION "
                                  "directory of the kernel to ask about)",
                                  kc->modules_dir_,
                                  std::filesystem::exists(kc->modules_dir_, ec) ? "is not a directory"
                                                                                 : "does not exist"));
  if (!std::filesystem::exists(kc->modules_dir_ + "/modules.alias.bin", ec) &&
      !std::filesystem::exists(kc->modules_dir_ + "/modules.dep.bin", ec))
    return unexpected(fmt::format("{} has no module indexes (modules.alias.bin, modules.dep.bin): run depmod",
                                  kc->modules_dir_));

  std::vector<const char*> config;
  for (const auto& c : options.modprobe_config) config.push_back(c.c_str());
  config.push_back(nullptr);
  kc->ctx_ = kmod_new(kc->modules_dir_.c_str(), options.modprobe_config.empty() ? nullptr : config.data());
  if (!kc->ctx_) return unexpected(fmt::format("cannot create a libkmod context for {}", kc->modules_dir_));
  kmod_set_log_fn(kc->ctx_, log_from_libkmod, options.quiet ? kc.get() : nullptr);
  kmod_set_log_priority(kc->ctx_, 4);
  if (!options.map_indexes) return kc;
  if (int err = kmod_load_resources(kc->ctx_); err < 0)
    return unexpected(fmt::format("cannot load the module indexes of {}: {}", kc->modules_dir_, std::strerror(-err)));
  return kc;
}

bool KmodContext::changed() const {
  if (!ctx_) return false;
  return kmod_validate_resources(ctx_) != KMOD_RESOURCES_OK || config_stamp(options_.modprobe_config) != config_stamp_;
}

Result<bool, std::string> KmodContext::reopen(std::unique_ptr<KmodContext>& ctx) {
  auto fresh = open(ctx->options_);
  if (!fresh) return unexpected(fresh.error());
  ctx = std::move(*fresh);
  return true;
}

KmodContext::~KmodContext() {
  if (ctx_) kmod_unref(ctx_);
}

}  // namespace kplug
