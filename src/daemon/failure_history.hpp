// kplugd's memory of failed loads, for `kplug doctor`: per module, how many times, the
// last errno and message, when, and for which device. Bounded: at most `capacity`
// modules (the one that failed longest ago is forgotten first), messages cut to 256 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/failed_load.hpp"

namespace kplug {

class FailureHistory {
 public:
  explicit FailureHistory(std::size_t capacity = 64) : capacity_(capacity) {}
  void record(const std::string& module, const std::string& devpath, int error, const std::string& message,
              double now_unix);
  // Most recent first.
  std::vector<FailedLoad> entries() const;
  std::uint64_t evicted() const { return evicted_; }

 private:
  std::size_t capacity_;
  std::vector<FailedLoad> entries_;  // most recent last; small, so a vector
  std::uint64_t evicted_ = 0;
};

}  // namespace kplug
