// The devices whose `add` kplugd has handled and that have not been removed since, so
// that a rescan after lost events decides them again without repeating their rules'
// `run:` and `log:` actions, and a replayed `add` (udevadm trigger) whose decision is the
// one already acted on costs nothing more. Each remembers the stamp of its decision
// (decision_stamp); a load that failed clears it. Bounded: past MAX devices new ones are
// not remembered (a rescan would then act on them again), and that is counted. Pure; no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>

#include "rules/decision.hpp"

namespace kplug {

class HandledDevices {
 public:
  explicit HandledDevices(std::size_t max = 65536) : max_(max) {}

  // An `add` of DEVPATH was handled, decided as STAMP says. True if it had been handled
  // before (and not removed).
  bool note_add(const std::string& devpath, std::uint64_t stamp = 0);
  // DEVPATH's add was handled, decided as STAMP says, and no load of it failed since.
  bool handled_as(const std::string& devpath, std::uint64_t stamp) const;
  // A load for DEVPATH failed: its next add is acted on, whatever its decision.
  void note_failure(const std::string& devpath);
  // DEVPATH is gone: its next `add`, whatever its source, is news.
  void note_remove(const std::string& devpath);
  bool contains(const std::string& devpath) const { return devices_.count(devpath) != 0; }
  std::size_t size() const { return devices_.size(); }
  // Adds not remembered because MAX devices were already remembered.
  std::uint64_t overflow() const { return overflow_; }

 private:
  std::unordered_map<std::string, std::uint64_t> devices_;  // devpath -> stamp (0: act again)
  std::size_t max_;
  std::uint64_t overflow_ = 0;
};

// A decision's fingerprint, never 0: what it loads, skips and with which options, from
// which MODALIAS, under the rules' and index's GENERATION (a reload changes it). Two
// decisions with one stamp lead to the same loads.
std::uint64_t decision_stamp(const Decision& decision, std::uint64_t generation);

// What one rescan found and did, for its one summary line.
struct RescanTally {
  std::size_t devices = 0;      // present devices decided again (as at coldplug)
  std::size_t not_seen = 0;     // of them, devices whose add kplugd had not handled (lost events)
  std::size_t gone = 0;         // devices kplugd loaded for that were gone from /sys
  std::size_t quiet = 0;        // devices whose rules' run:/log: actions were not repeated
  bool dry_run = false;
  std::set<std::string> loaded;  // modules the rescan loaded (or, in a dry run, would load)
  std::set<std::string> failed;  // modules whose load failed (not those that found no device)

  // "143 present device(s) decided again, 2 not seen before, 1 gone; loaded usb_hello;
  //  rule actions not repeated for 141 device(s) already handled"
  std::string summary() const;
};

}  // namespace kplug
