// libudev enumeration. Without udevd running, libudev reads each device's sysfs `uevent`
// file, which is exactly the property set the kernel would send for it.
#include "sysfs/enumerate.hpp"

#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <libudev.h>

#include "uevent/parse.hpp"

namespace kplug {

namespace {

struct UdevDeleter {
  void operator()(udev* u) const { udev_unref(u); }
  void operator()(udev_enumerate* e) const { udev_enumerate_unref(e); }
  void operator()(udev_device* d) const { udev_device_unref(d); }
};
template <typename T>
using UdevPtr = std::unique_ptr<T, UdevDeleter>;

Uevent to_add_event(udev_device* dev) {
  Uevent ev;
  ev.action = "add";
  ev.source = EventSource::coldplug;
  ev.devpath = udev_device_get_devpath(dev);
  if (const char* s = udev_device_get_subsystem(dev)) ev.subsystem = s;
  ev.properties.emplace_back("ACTION", "add");
  ev.properties.emplace_back("DEVPATH", ev.devpath);
  ev.properties.emplace_back("SUBSYSTEM", ev.subsystem);
  udev_list_entry* entry;
  udev_list_entry_foreach(entry, udev_device_get_properties_list_entry(dev)) {
    std::string key = udev_list_entry_get_name(entry);
    if (key == "ACTION" || key == "DEVPATH" || key == "SUBSYSTEM" || key == "SEQNUM") continue;
    const char* value = udev_list_entry_get_value(entry);
    ev.properties.emplace_back(std::move(key), value ? value : "");
  }
  ev.properties.emplace_back("SEQNUM", "0");
  return ev;
}

}  // namespace

Result<std::vector<Uevent>, std::string> enumerate_modalias_devices() {
  UdevPtr<udev> u(udev_new());
  if (!u) return unexpected(fmt::format("cannot start libudev: {}", std::strerror(errno)));
  UdevPtr<udev_enumerate> en(udev_enumerate_new(u.get()));
  if (!en) return unexpected(fmt::format("cannot enumerate devices: {}", std::strerror(errno)));
  if (int err = udev_enumerate_scan_devices(en.get()); err < 0)
    return unexpected(fmt::format("cannot scan /sys for devices: {}", std::strerror(-err)));

  std::vector<Uevent> events;
  udev_list_entry* entry;
  udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(en.get())) {
    UdevPtr<udev_device> dev(udev_device_new_from_syspath(u.get(), udev_list_entry_get_name(entry)));
    if (!dev || !udev_device_get_property_value(dev.get(), "MODALIAS")) continue;
    events.push_back(to_add_event(dev.get()));
  }
  return events;
}

Result<Uevent, std::string> read_device(const std::string& devpath) {
  if (!is_safe_devpath(devpath))
    return unexpected(fmt::format("'{}' is not a device path under /sys (expected /devices/...)", devpath));
  UdevPtr<udev> u(udev_new());
  if (!u) return unexpected(fmt::format("cannot start libudev: {}", std::strerror(errno)));
  std::string syspath = "/sys" + devpath;
  UdevPtr<udev_device> dev(udev_device_new_from_syspath(u.get(), syspath.c_str()));
  if (!dev) return unexpected(fmt::format("no device at {}: {}", syspath, std::strerror(errno)));
  return to_add_event(dev.get());
}

}  // namespace kplug
