// The unloader: owns the ledger of modules kplugd loaded and for which devices, unloads a
// module a grace period after its last device went (and the dependencies it pulled in,
// later if they were still held), and keeps the ledger in state_dir across restarts.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/common.h>

#include "control/events.hpp"
#include "daemon/counters.hpp"
#include "daemon/ledger.hpp"
#include "daemon/load_scheduler.hpp"
#include "daemon/named_timers.hpp"
#include "sysfs/system_view.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

class Unloader {
 public:
  // Each unload's outcome as a `{"type":"unload",...}` message, for `events` subscribers.
  using Publish = std::function<void(const control::EventMessage&)>;

  // TIMERS runs the grace periods (Asio's in kplugd, recorded time in kplug replay).
  // WALL: the ledger's loaded_at times.
  Unloader(NamedTimers& timers, LoadScheduler& scheduler, SystemView& system, Counters& counters, WallClock wall,
           Publish publish);

  // Reads the ledger a previous kplugd left in PATH: modules unloaded meanwhile are
  // dropped, devices gone meanwhile handled as removed. Later changes are saved there.
  void restore(const std::string& path);
  // Devices in the ledger that are gone from /sys: handled as if removed now. Returns them.
  std::vector<std::string> forget_gone_devices(spdlog::level::level_enum level = spdlog::level::info);

  // A load for JOB came back with RESULT: what kplugd inserted is recorded (only that is
  // ever unloaded), and a device that shares a module kplugd loaded is added to it. Not
  // saved yet: the daemon saves once all of an event's loads have answered (save()).
  void on_loaded(const LoadJob& job, const LoadResult& result, bool unload_on_remove,
                 std::chrono::milliseconds unload_grace);
  // Modules kplugd loaded earlier now serve EVENT's device too: no unload while it stays.
  void keep_loaded_for(const std::vector<LoadJob>& jobs, const Uevent& event);
  // DEVPATH went away: modules left with no device are unloaded after their grace.
  void on_device_removed(const std::string& devpath);

  // Writes the ledger to the state file if it changed since the last write.
  void save();
  // Pending unloads are abandoned: the modules stay loaded, which is always safe.
  void stop();

  const Ledger& ledger() const { return ledger_; }
  std::size_t pending() const { return timers_.running(); }

 private:
  void do_schedule(const std::string& module, const std::string& devpath, std::chrono::milliseconds grace);
  void on_timer(const std::string& module);
  void do_unload(const std::string& module);
  void on_unloaded(const std::string& module, const UnloadResult& result);
  void do_unload_leftovers();

  NamedTimers& timers_;  // grace periods running, by module
  LoadScheduler& scheduler_;
  SystemView& system_;
  Counters& counters_;
  Publish publish_;
  Ledger ledger_;
  // Dependencies kplugd pulled in that were still held when their module went; tried
  // again after every later unload (e.g. hid, held by hid_generic when usbhid goes first).
  std::set<std::string> leftover_deps_;
  std::string state_path_;  // "" = not persisted (dry run, tests)
  std::uint64_t saved_revision_ = ~std::uint64_t{0};  // the ledger revision on disk
  bool stopping_ = false;
};

}  // namespace kplug
