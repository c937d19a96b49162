// The ledger: which modules kplugd itself loaded, and for which devices. It decides
// when a module has lost its last device; the Unloader owns it, the grace timers and the
// unload itself. Pure: plain values, no I/O. Modules kplugd did not insert are never in it.
#pragma once

#include "base/clock.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace kplug {

struct LedgerEntry {
  std::set<std::string> devices;  // devpaths it was loaded (or re-plugged) for
  std::string cause;              // the first device's MODALIAS
  std::chrono::microseconds load_time{0};
  std::int64_t loaded_at = 0;    // wall-clock seconds since the epoch, when kplugd loaded it
  bool unload_on_remove = true;  // from the decision that loaded it
  std::chrono::milliseconds unload_grace{5000};
  std::vector<std::string> pulled_in;  // dependencies its load inserted; they go with it
};

class Ledger {
 public:
  // WALL: when a load is recorded (an entry's loaded_at); without one, loaded_at is 0.
  explicit Ledger(WallClock wall = {}) : wall_(std::move(wall)) {}
  // kplugd inserted MODULE for DEVPATH.
  void record_load(const std::string& module, const std::string& devpath, const std::string& modalias,
                   std::chrono::microseconds load_time, bool unload_on_remove = true,
                   std::chrono::milliseconds unload_grace = std::chrono::milliseconds(5000),
                   const std::vector<std::string>& pulled_in = {});
  // An entry read back from disk, whole (also one with no device left: kplugd still owns
  // that module).
  void restore_entry(const std::string& module, const LedgerEntry& entry) {
    entries_[module] = entry;
    ++revision_;
  }
  bool owns(const std::string& module) const { return entries_.count(module) != 0; }
  // Another device needs a module kplugd loaded: it must not be unloaded while it is there.
  void add_device(const std::string& module, const std::string& devpath);
  // DEVPATH went away (and with it every device below it). Returns the modules whose
  // last device that was, in name order.
  std::vector<std::string> remove_device(const std::string& devpath);
  // The module was unloaded (or vanished): forget it.
  void forget(const std::string& module) { revision_ += entries_.erase(module); }

  const std::map<std::string, LedgerEntry>& entries() const { return entries_; }
  // Goes up with every change, so the daemon writes the file only when there is news.
  std::uint64_t revision() const { return revision_; }

 private:
  WallClock wall_;
  std::map<std::string, LedgerEntry> entries_;
  std::uint64_t revision_ = 0;
};


}  // namespace kplug
