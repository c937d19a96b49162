// The seam between kplugd and the running system: what it reads of /sys and /proc. The
// daemon's parts take a SystemView; kplugd passes the real one (SysfsView), the unit
// tests an in-memory fake, so coldplug, rescan, restore and settle run without a kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "base/result.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

class SystemView {
 public:
  using Wanted = std::function<bool(const Uevent&)>;
  using Visit = std::function<void(Uevent&&)>;

  virtual ~SystemView() = default;
  // Every present device WANTED accepts, as an `add` event, handed to VISIT as the walk
  // finds it (parents before children); how many, or why the walk stopped.
  virtual Result<std::size_t, std::string> walk_devices(const Wanted& wanted, const Visit& visit) = 0;
  // True while DEVPATH (e.g. "/devices/pci0000:00/...") exists under /sys.
  virtual bool device_present(const std::string& devpath) = 0;
  // The names of the modules loaded now.
  virtual std::set<std::string> live_modules() = 0;
  // The SEQNUM of the kernel's latest uevent (0 when unknown).
  virtual std::uint64_t kernel_seqnum() = 0;
  // A device attribute for `attr:` conditions; nullopt when it cannot be read.
  virtual std::optional<std::string> read_attribute(const std::string& devpath, const std::string& name) = 0;
};

// /sys and /proc of the machine kplugd runs on.
std::unique_ptr<SystemView> make_sysfs_view();

// The module names listed in PROC_MODULES (a /proc/modules file).
std::set<std::string> read_live_modules(const std::string& proc_modules = "/proc/modules");

}  // namespace kplug
