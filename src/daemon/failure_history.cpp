#include "daemon/failure_history.hpp"

#include <algorithm>

namespace kplug {

void FailureHistory::record(const std::string& module, const std::string& devpath, int error,
                            const std::string& message, double now_unix) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const FailedLoad& f) { return f.module == module; });
  FailedLoad entry;
  if (it != entries_.end()) {
    entry = std::move(*it);
    entries_.erase(it);
  } else if (capacity_ > 0 && entries_.size() >= capacity_) {
    entries_.erase(entries_.begin());
    ++evicted_;
  }
  if (capacity_ == 0) return;
  entry.module = module;
  entry.devpath = devpath;
  entry.error = error;
  entry.message = message.substr(0, 256);
  ++entry.count;
  entry.last_unix = now_unix;
  entries_.push_back(std::move(entry));
}

std::vector<FailedLoad> FailureHistory::entries() const { return {entries_.rbegin(), entries_.rend()}; }

}  // namespace kplug
