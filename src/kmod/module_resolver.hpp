// The seam between kplugd and the module index: MODALIAS → module names. KmodResolver
// (resolver.hpp) answers from libkmod; the unit tests use a map.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace kplug {

class ModuleResolver {
 public:
  virtual ~ModuleResolver() = default;
  // The modules KEY names, in the index's order; empty when nothing matches; an error
  // when the index cannot be read.
  virtual Result<std::vector<std::string>, std::string> resolve(const std::string& key) = 0;
  // Reads the index and modprobe.d again if they changed (SIGHUP); true when it did.
  virtual bool refresh() = 0;
  // For `kplug status`.
  virtual std::uint64_t cache_hits() const = 0;
  virtual std::uint64_t cache_misses() const = 0;
  virtual std::uint64_t reloads() const = 0;
};

}  // namespace kplug
