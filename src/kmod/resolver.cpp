// Alias resolution with kmod_module_new_from_lookup, cached by key.
#include "kmod/resolver.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <libkmod.h>

namespace kplug {

Result<std::vector<std::string>, std::string> Resolver::resolve_uncached(const std::string& key) const {
  kmod_list* list = nullptr;
  int err = kmod_module_new_from_lookup(ctx_->get(), key.c_str(), &list);
  if (err < 0) return unexpected(fmt::format("cannot look up '{}': {}", key, std::strerror(-err)));
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

Result<std::vector<std::string>, std::string> Resolver::resolve(const std::string& key) {
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
