// Alias resolution with kmod_module_new_from_lookup, cached by key.
#include "kmod/resolver.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <libkmod.h>
#include <spdlog/spdlog.h>

#include "base/text.hpp"

namespace kplug {

Result<std::vector<std::string>, std::string> KmodResolver::resolve_uncached(const std::string& key) const {
  kmod_list* list = nullptr;
  int err = kmod_module_new_from_lookup(ctx_->get(), key.c_str(), &list);
  if (err < 0) return unexpected(fmt::format("cannot look up '{}': {}", printable(key), std::strerror(-err)));
  std::vector<std::string> names;
  kmod_list* it;
  kmod_list_foreach(it, list) {
    kmod_module* mod = kmod_module_get_module(it);
    // A module with several matching aliases is listed once per alias: keep the first.
    std::string name = kmod_module_get_name(mod);
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
    kmod_module_unref(mod);
  }
  kmod_module_unref_list(list);
  return names;
}

bool KmodResolver::refresh() {
  last_check_ = std::chrono::steady_clock::now();
  if (!ctx_->changed()) return false;
  auto start = std::chrono::steady_clock::now();
  if (auto reopened = KmodContext::reopen(ctx_); !reopened) {
    // depmod may be writing the index right now: the old context serves meanwhile.
    if (reopened.error() != reopen_error_)
      spdlog::warn("the module index of {} changed, but reading it again failed: {}; the previous one stays in use",
                   ctx_->modules_dir(), reopened.error());
    reopen_error_ = reopened.error();
    return false;
  }
  reopen_error_.clear();
  std::size_t dropped = cache_.size();
  cache_.clear();
  ++reloads_;
  spdlog::info("the module index or modprobe.d configuration of {} changed: read again in {:.1f} ms, {} cached "
               "answer(s) dropped",
               ctx_->modules_dir(),
               std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count(), dropped);
  return true;
}

Result<std::vector<std::string>, std::string> KmodResolver::resolve(const std::string& key) {
  if (std::chrono::steady_clock::now() - last_check_ >= check_interval) refresh();
  if (auto it = cache_.find(key); it != cache_.end()) {
    ++hits_;
    return it->second;
  }
  ++misses_;
  auto names = resolve_uncached(key);
  if (names) {
    if (cache_.size() >= max_cached_) cache_.clear();
    cache_.emplace(key, *names);
  }
  return names;
}

}  // namespace kplug
