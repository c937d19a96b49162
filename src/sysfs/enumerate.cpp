// Coldplug enumeration: a walk of /sys/devices that reads each device's `uevent` file,
// which is exactly the property set the kernel would send for it.
#include "sysfs/enumerate.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "base/file.hpp"
#include "base/names.hpp"
#include "base/text.hpp"
#include "sysfs/device_name.hpp"
#include "uevent/parse.hpp"

namespace kplug {

namespace {

// The properties a uevent file lists, one KEY=VALUE per line; lines that are not
// KEY=VALUE are skipped.
void add_properties(Uevent& ev, std::string_view text) {
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    std::size_t eq = line.find('=');
    if (eq == 0 || eq == std::string_view::npos) continue;
    std::string_view key = line.substr(0, eq);
    if (key == "ACTION" || key == "DEVPATH" || key == "SUBSYSTEM" || key == "SEQNUM") continue;
    ev.properties.emplace_back(std::string(key), std::string(line.substr(eq + 1)));
  }
}

// The roots of /sys/devices that are buses of hardware (pci0000:00, platform, pnp0, ...),
// not the firmware's description of the machine (ACPI's namespace, LNXSYSTM:00, whose
// devices' drivers are buttons, fans and thermal zones), CPUs and memory (system) or
// software devices (virtual). The walk takes them first: the storage controller and the
// USB host controller a boot waits for are found, and their loads started, before the
// rest (on a booting Debian VM the ACPI namespace is about a tenth of the walk).
bool is_hardware_root(const std::string& name) {
  return name != "system" && name != "virtual" && !name.starts_with("LNXSYSTM");
}

// The CPUs go before even those: a CPU's MODALIAS brings its checksum and cipher drivers
// (crct10dif_pclmul, crc32c_intel, aesni_intel), and the storage stack asks the kernel
// for those algorithms as its modules come up (sd_mod's crc_t10dif asks for "crct10dif",
// and waits while the driver is still loading). Started first, as udevd's trigger does
// (bus cpu before bus pci), their loads have the most time before the disk comes; at
// nice 10 under TCG they may still be loading when it does (the boot bench, 2026-12-07:
// crct10dif_pclmul was live just before sd_mod either way; the boot 0.97x udevd's
// beside it against 1.04x with the CPUs walked last, within the runs' spread).
constexpr std::string_view cpus_parent = "/devices/system", cpus_name = "cpu";

// The loaded modules are devices too (subsystem "module", devpath /module/NAME), as
// udevd's coldplug (`udevadm trigger --type=subsystems`) announces them; one level only.
std::size_t for_each_loaded_module(const std::function<bool(const Uevent&)>& wanted,
                                   const std::function<void(Uevent&&)>& visit, const std::string& sys_root) {
  std::size_t handed = 0;
  std::string modules = sys_root + "/module";
  if (DIR* dir = opendir(modules.c_str())) {
    std::vector<std::string> names;
    while (dirent* e = readdir(dir))
      if (e->d_type == DT_DIR && e->d_name[0] != '.') names.emplace_back(e->d_name);
    closedir(dir);
    std::sort(names.begin(), names.end());
    // Built-in modules have no uevent file (read_uevent_file fails, and they are skipped);
    // a loadable one's directory has no subsystem link: the kernel's events say "module".
    for (const auto& name : names) {
      auto ev = read_uevent_file(sys_root, "/module/" + name);
      if (!ev) continue;
      ev->subsystem = "module";
      for (auto& [key, value] : ev->properties)
        if (key == "SUBSYSTEM") value = "module";
      if (wanted(*ev)) {
        ++handed;
        visit(std::move(*ev));
      }
    }
  }
  return handed;
}

}  // namespace

Result<Uevent, std::string> read_uevent_file(const std::string& sys_root, const std::string& devpath, int dir_fd) {
  std::string dir = sys_root + devpath;
  std::optional<UniqueFd> owned;
  if (dir_fd < 0) {
    owned.emplace(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (owned->fd < 0) return unexpected(fmt::format("no device at {}: {}", printable(dir), std::strerror(errno)));
    dir_fd = owned->fd;
  }
  UniqueFd file(openat(dir_fd, "uevent", O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (file.fd < 0) return unexpected(fmt::format("cannot read {}/uevent: {}", printable(dir), std::strerror(errno)));
  std::array<char, 8192> buf;
  ssize_t n = read(file.fd, buf.data(), buf.size());
  if (n < 0) return unexpected(fmt::format("cannot read {}/uevent: {}", printable(dir), std::strerror(errno)));
  std::array<char, 256> link{};
  ssize_t len = readlinkat(dir_fd, "subsystem", link.data(), link.size() - 1);
  std::string_view target(link.data(), len > 0 ? static_cast<std::size_t>(len) : 0);

  Uevent ev;
  ev.action = "add";
  ev.source = EventSource::coldplug;
  ev.devpath = devpath;
  ev.subsystem = std::string(target.substr(target.rfind('/') + 1));
  ev.properties.emplace_back("ACTION", "add");
  ev.properties.emplace_back("DEVPATH", ev.devpath);
  ev.properties.emplace_back("SUBSYSTEM", ev.subsystem);
  add_properties(ev, std::string_view(buf.data(), static_cast<std::size_t>(n)));
  ev.properties.emplace_back("SEQNUM", "0");
  return ev;
}

Result<std::size_t, std::string> for_each_modalias_device(const std::function<void(Uevent&&)>& visit,
                                                          const std::string& sys_root) {
  return for_each_present_device([](const Uevent& ev) { return !ev.modalias().empty(); }, visit, sys_root);
}

Result<std::size_t, std::string> for_each_present_device(const std::function<bool(const Uevent&)>& wanted,
                                                         const std::function<void(Uevent&&)>& visit,
                                                         const std::string& sys_root) {
  std::size_t handed = 0;
  // Depth first, in name order, so a parent is handed before its children.
  std::function<void(int, const std::string&)> walk = [&](int dir_fd, const std::string& devpath) {
    DIR* dir = fdopendir(dir_fd);
    if (!dir) {
      close(dir_fd);
      return;
    }
    std::vector<std::string> children;
    bool is_device = false;
    while (dirent* e = readdir(dir)) {
      std::string_view name = e->d_name;
      if (e->d_type == DT_DIR && name != "." && name != "..")
        children.emplace_back(name);
      else if (e->d_type == DT_REG && name == "uevent")
        is_device = true;
    }
    std::sort(children.begin(), children.end());
    if (devpath == "/devices") std::stable_partition(children.begin(), children.end(), is_hardware_root);
    // A directory with a uevent file but no subsystem (a CPU's cache/index0) is never
    // announced by the kernel (no bus or class: its uevent filter drops it), so coldplug
    // does not hand it on either; udevd's enumeration skips it the same way.
    if (is_device)
      if (auto ev = read_uevent_file(sys_root, devpath, dirfd(dir)); ev && !ev->subsystem.empty() && wanted(*ev)) {
        ++handed;
        visit(std::move(*ev));
      }
    for (const auto& child : children) {
      if (child == cpus_name && devpath == cpus_parent) continue;  // walked first
      // Every device has a power/ attribute directory, never a device below it: not opened
      // (on a host 400 of the 950 directories under /sys/devices), unless a device is
      // itself called "power" (it has a uevent file).
      if (child == "power" && faccessat(dirfd(dir), "power/uevent", F_OK, AT_SYMLINK_NOFOLLOW) != 0) continue;
      int fd = openat(dirfd(dir), child.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) walk(fd, devpath + "/" + child);
    }
    closedir(dir);
  };
  std::string top = sys_root + "/devices";
  int fd = open(top.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return unexpected(fmt::format("cannot read {}: {}", top, std::strerror(errno)));
  std::string cpus = fmt::format("{}/{}", cpus_parent, cpus_name);
  if (int cpus_fd = open((sys_root + cpus).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC); cpus_fd >= 0)
    walk(cpus_fd, cpus);
  walk(fd, "/devices");
  handed += for_each_loaded_module(wanted, visit, sys_root);
  return handed;
}

Result<std::vector<Uevent>, std::string> enumerate_modalias_devices(const std::string& sys_root) {
  std::vector<Uevent> events;
  auto walked = for_each_modalias_device([&](Uevent&& ev) { events.push_back(std::move(ev)); }, sys_root);
  if (!walked) return unexpected(walked.error());
  return events;
}

Result<Uevent, std::string> read_device(const std::string& arg) {
  auto devpath = device_path_of("/sys", arg);
  if (!devpath) return unexpected(devpath.error());
  return read_uevent_file("/sys", *devpath);
}

}  // namespace kplug
