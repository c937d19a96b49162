// Naming a device the ways udevadm takes it: devpath, /sys path, /dev node, sysname.
#include "sysfs/device_name.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "base/names.hpp"
#include "base/text.hpp"

namespace kplug {

namespace {

namespace fs = std::filesystem;

// PATH's real path as a devpath when it lies under SYS_ROOT/devices; "" otherwise.
std::string devpath_behind(const std::string& sys_root, const fs::path& path) {
  std::error_code ec;
  std::string real = fs::canonical(path, ec).string();
  if (ec) return "";
  std::string devices = fs::canonical(sys_root, ec).string() + "/devices/";
  if (ec || !real.starts_with(devices) || real.size() == devices.size()) return "";
  return "/devices/" + real.substr(devices.size());
}

bool is_sysname(const std::string& arg) {
  return !arg.empty() && arg.size() <= 255 && arg != "." && arg != ".." && arg.find('/') == std::string::npos &&
         arg.find('\0') == std::string::npos;
}

}  // namespace

std::vector<std::string> devices_named(const std::string& sys_root, const std::string& sysname) {
  std::set<std::string> found;
  if (!is_sysname(sysname)) return {};
  for (const char* top : {"class", "bus"}) {
    std::error_code ec;
    for (const auto& group : fs::directory_iterator(fs::path(sys_root) / top, ec)) {
      fs::path candidate = std::string(top) == "class" ? group.path() / sysname : group.path() / "devices" / sysname;
      std::error_code exists_ec;
      if (!fs::exists(candidate, exists_ec)) continue;
      if (std::string devpath = devpath_behind(sys_root, candidate); !devpath.empty()) found.insert(devpath);
    }
  }
  return {found.begin(), found.end()};
}

Result<std::string, std::string> device_path_of(const std::string& sys_root, const std::string& arg) {
  // A device node: its major:minor leads to the device through /sys/dev.
  struct stat st {};
  if (arg.starts_with("/dev/") && stat(arg.c_str(), &st) == 0) {
    if (!S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode))
      return unexpected(fmt::format("{} is not a device node", printable(arg)));
    std::string link = fmt::format("{}/dev/{}/{}:{}", sys_root, S_ISBLK(st.st_mode) ? "block" : "char",
                                   major(st.st_rdev), minor(st.st_rdev));
    std::string devpath = devpath_behind(sys_root, link);
    if (devpath.empty()) return unexpected(fmt::format("no device in /sys for the node {}", printable(arg)));
    return devpath;
  }
  if (is_sysname(arg)) {
    auto named = devices_named(sys_root, arg);
    if (named.size() == 1) return named.front();
    if (named.empty())
      return unexpected(fmt::format("no device called '{}' in any class or bus (give its /devices/... path)",
                                    printable(arg)));
    std::string list;
    for (const auto& d : named) list += (list.empty() ? "" : ", ") + printable(d);
    return unexpected(fmt::format("'{}' names {} devices: {}; give one of these paths", printable(arg),
                                  named.size(), list));
  }
  // A path under /sys, given with or without /sys in front, as udevadm takes it.
  std::string devpath = arg.starts_with("/sys/") ? arg.substr(4) : arg;
  if (!is_safe_devpath(devpath))
    return unexpected(fmt::format("'{}' is not a device: give /devices/..., /sys/..., /dev/NODE or a name like sda",
                                  printable(arg)));
  std::string syspath = sys_root + devpath;
  std::error_code ec;
  fs::path real = fs::canonical(syspath, ec);
  if (ec) return unexpected(fmt::format("no device at {}: {}", printable(syspath), ec.message()));
  std::string resolved = devpath_behind(sys_root, syspath);
  if (resolved.empty())
    return unexpected(fmt::format("{} is not a device (it leads to {}, outside {}/devices)", printable(syspath),
                                  printable(real.string()), sys_root));
  return resolved;
}

}  // namespace kplug
