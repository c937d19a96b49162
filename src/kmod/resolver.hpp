// MODALIAS → module names through libkmod (modules.alias, modules.builtin.alias,
// modules.symbols, modprobe.d aliases: the same lookup as `modprobe -R`), with every
// answer cached, "nothing matches" included. Used from one thread only. The cache holds
// at most max_cached keys and starts over when full, so devices that keep inventing new
// MODALIAS strings cannot make kplugd grow.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kmod/kmod_context.hpp"
#include "kmod/module_resolver.hpp"
#include "base/result.hpp"

namespace kplug {

class KmodResolver : public ModuleResolver {
 public:
  static constexpr std::size_t default_max_cached = 8192;  // a machine has a few hundred

  explicit KmodResolver(std::unique_ptr<KmodContext> ctx, std::size_t max_cached = default_max_cached)
      : ctx_(std::move(ctx)), max_cached_(max_cached) {}

  // The modules KEY names, in libkmod's order; empty when nothing matches. At most every
  // check_interval, first checks whether the indexes or modprobe.d changed on disk; if so
  // the context is read again and the cache dropped (refresh()).
  Result<std::vector<std::string>, std::string> resolve(const std::string& key) override;
  // Checks now (SIGHUP does); true when the context was rebuilt. A change is logged once.
  bool refresh() override;
  // The same lookup with no cache involved (for benchmarks and tests).
  Result<std::vector<std::string>, std::string> resolve_uncached(const std::string& key) const;

  static constexpr std::chrono::milliseconds check_interval{250};

  std::uint64_t cache_hits() const override { return hits_; }
  std::uint64_t reloads() const override { return reloads_; }
  std::uint64_t cache_misses() const override { return misses_; }
  std::size_t cache_size() const { return cache_.size(); }
  const KmodContext& context() const { return *ctx_; }

 private:
  std::unique_ptr<KmodContext> ctx_;
  std::size_t max_cached_;
  std::unordered_map<std::string, std::vector<std::string>> cache_;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
  std::uint64_t reloads_ = 0;
  std::chrono::steady_clock::time_point last_check_ = std::chrono::steady_clock::now();
  std::string reopen_error_;  // the last failed rebuild, logged once
};

}  // namespace kplug
