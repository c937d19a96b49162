// Coldplug and rescan: every present device read from the system view and fed into the
// pipeline as an `add`, at start (coldplug) and again after the kernel dropped events
// (a rescan, debounced to one per storm). It remembers which devices' adds were handled,
// so a rescan decides every device again but does not repeat the rules' run:/log:
// actions, and it tells a rescan in one summary line. Complete when the walk is done and
// every event it fed has been handled (EventFlight counts them, not Coldplug). Before
// that, the initial coldplug's boot-critical part is done once the walk is done, every
// device it fed has been decided and no critical event is in flight: kplugd's READY.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>


#include "base/clock.hpp"
#include "daemon/counters.hpp"
#include "daemon/handled_devices.hpp"
#include "daemon/named_timers.hpp"
#include "kmod/module_loader.hpp"
#include "rules/decision.hpp"
#include "sysfs/system_view.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

class Coldplug {
 public:
  struct Hooks {
    SystemView::Wanted wanted;                         // which present devices to hand on
    std::function<void(Uevent&&)> feed;                // into the daemon's pipeline
    std::function<std::vector<std::string>()> forget_gone;  // ledger devices gone from /sys, handled as removed
    std::function<void(bool initial)> finished;        // a coldplug (initial) or a rescan is complete
    std::function<std::size_t()> in_flight;            // events fed by walks and not yet handled
    // Events fed by walks not decided yet, plus critical events in flight (any source).
    std::function<std::size_t()> boot_pending;
    std::function<void()> boot_done;                   // the initial coldplug's boot-critical part is done
  };

  // TIMERS: its own set (one timer, "rescan": the debounce).
  Coldplug(std::unique_ptr<NamedTimers> timers, SystemView& system, Counters& counters, Clock clock, bool dry_run,
           Hooks hooks);

  // The initial coldplug.
  void start();
  // Events were lost (ENOBUFS): read sysfs again shortly, once per storm.
  void request_rescan(const std::string& why);

  // Every event on its way through the pipeline, with its decision. False when it is a
  // rescan's add of a device already handled: its rules' actions are not repeated.
  bool note_event(const Uevent& event, const Decision& decision);
  // While a walk runs (at boot: systemd-udev-trigger replays every device as coldplug
  // handles them), EVENT is a kernel `add` replayed by a trigger (it carries SYNTH_UUID)
  // of a device already handled with this DECISION under the same rules and index, and no
  // load of it failed since: nothing to do again. Outside a walk every replay is acted on
  // (an administrator's `udevadm trigger` after an rmmod loads the module again).
  bool unchanged_replay(const Uevent& event, const Decision& decision) const;
  // The rules or the module index were reloaded: replays are acted on again.
  void rules_changed() { ++generation_; }
  // A load for DEVPATH failed: its next replay is acted on.
  void note_failure(const std::string& devpath) { handled_.note_failure(devpath); }
  // An event the walk fed (SOURCE coldplug or rescan) was handled, its loads' OUTCOMES
  // known: told in a rescan's summary; the walk may be complete.
  void landed(EventSource source, const std::vector<std::pair<std::string, LoadResult>>& outcomes);

  bool running() const { return running_; }
  // The initial coldplug's boot-critical part is done (or there was none to do).
  bool boot_critical_done() const { return boot_told_; }
  // Running, or a rescan is due.
  bool busy() const { return running_ || timers_->running() > 0; }
  void stop();
  const HandledDevices& handled() const { return handled_; }

 private:
  void do_walk(bool rescan);
  void do_rescan();
  // Complete once the walk is done and nothing it fed is in flight.
  void check_complete();
  void check_boot_done();

  std::unique_ptr<NamedTimers> timers_;
  SystemView& system_;
  Counters& counters_;
  Clock clock_;
  bool dry_run_;
  Hooks hooks_;
  bool running_ = false;
  bool walking_ = false;     // sysfs is being read: not complete, whatever is in flight
  std::chrono::steady_clock::time_point started_;
  bool rescanning_ = false;     // the running walk is a rescan
  bool rescan_again_ = false;   // more events were lost while it ran
  std::string rescan_why_;
  RescanTally tally_;           // what the running rescan found
  HandledDevices handled_;      // devices whose add was handled
  bool boot_told_ = false;      // boot_done was called
  std::uint64_t generation_ = 0;  // of the rules and the index: reloads so far
  bool stopping_ = false;
};

}  // namespace kplug
