// Bookkeeping of kplugd's own loads.
#include "daemon/ledger.hpp"
#include "base/names.hpp"

namespace kplug {

void Ledger::record_load(const std::string& module, const std::string& devpath, const std::string& modalias,
                         std::chrono::microseconds load_time, bool unload_on_remove,
                         std::chrono::milliseconds unload_grace, const std::vector<std::string>& pulled_in) {
  auto& e = entries_[module];
  if (e.devices.insert(devpath).second) ++revision_;
  if (e.cause.empty()) {
    ++revision_;
    e.cause = modalias;
    e.load_time = load_time;
    e.unload_on_remove = unload_on_remove;
    e.unload_grace = unload_grace;
    e.pulled_in = pulled_in;
    e.loaded_at = wall_ ? static_cast<std::int64_t>(wall_()) : 0;
  }
}

void Ledger::add_device(const std::string& module, const std::string& devpath) {
  if (auto it = entries_.find(module); it != entries_.end() && it->second.devices.insert(devpath).second) ++revision_;
}

std::vector<std::string> Ledger::remove_device(const std::string& devpath) {
  std::vector<std::string> orphaned;
  for (auto& [module, entry] : entries_) {
    bool had = false;
    for (auto it = entry.devices.begin(); it != entry.devices.end();) {
      if (is_same_or_below(*it, devpath)) {
        it = entry.devices.erase(it);
        had = true;
        ++revision_;
      } else {
        ++it;
      }
    }
    if (had && entry.devices.empty()) orphaned.push_back(module);
  }
  return orphaned;
}

}  // namespace kplug
