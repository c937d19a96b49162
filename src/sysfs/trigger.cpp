// Enumerating devices and writing their uevent files.
#include "sysfs/trigger.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

#include <fmt/format.h>
#include <libudev.h>

#include "base/names.hpp"
#include "base/text.hpp"
#include "uevent/parse.hpp"

namespace kplug {

Result<std::vector<std::string>, std::string> list_devices(const std::vector<std::string>& subsystems) {
  std::unique_ptr<udev, decltype(&udev_unref)> u(udev_new(), udev_unref);
  if (!u) return unexpected(fmt::format("cannot start libudev: {}", std::strerror(errno)));
  std::unique_ptr<udev_enumerate, decltype(&udev_enumerate_unref)> en(udev_enumerate_new(u.get()), udev_enumerate_unref);
  for (const auto& s : subsystems) udev_enumerate_add_match_subsystem(en.get(), s.c_str());
  if (int err = udev_enumerate_scan_devices(en.get()); err < 0)
    return unexpected(fmt::format("cannot scan /sys for devices: {}", std::strerror(-err)));
  std::vector<std::string> out;
  udev_list_entry* entry;
  udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(en.get())) {
    std::string syspath = udev_list_entry_get_name(entry);
    if (syspath.rfind("/sys/", 0) == 0) out.push_back(syspath.substr(4));
  }
  return out;
}

Result<bool, std::string> write_uevent(const std::string& devpath, const std::string& action, const std::string& uuid) {
  if (!is_safe_devpath(devpath)) return unexpected(fmt::format("'{}' is not a device path under /sys", printable(devpath)));
  if (action != "add" && action != "change") return unexpected(fmt::format("cannot trigger '{}'", printable(action)));
  std::string path = "/sys" + devpath + "/uevent";
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return unexpected(fmt::format("cannot open {}: {}", printable(path), std::strerror(errno)));
  std::string text = uuid.empty() ? action : action + " " + uuid;
  ssize_t n = write(fd, text.data(), text.size());
  int err = errno;
  close(fd);
  if (n < 0) return unexpected(fmt::format("cannot write {}: {}", printable(path), std::strerror(err)));
  return true;
}

std::string new_uuid() {
  std::ifstream in("/proc/sys/kernel/random/uuid");
  std::string uuid;
  std::getline(in, uuid);
  return uuid;
}

}  // namespace kplug
