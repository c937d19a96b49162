// Reading module/*/drivers and a device's physical nodes.
#include "sysfs/driver_buses.hpp"

#include <filesystem>

namespace kplug {

namespace fs = std::filesystem;

std::optional<std::set<std::string>> module_driver_buses(const std::string& sys_root, const std::string& module) {
  fs::path module_dir = fs::path(sys_root) / "module" / module;
  std::error_code ec;
  if (!fs::is_directory(module_dir, ec)) return std::nullopt;
  std::set<std::string> buses;
  for (const auto& entry : fs::directory_iterator(module_dir / "drivers", ec)) {
    std::string name = entry.path().filename();
    if (auto colon = name.find(':'); colon != std::string::npos && colon > 0) buses.insert(name.substr(0, colon));
  }
  return buses;  // no drivers directory: it registered no driver
}

std::set<std::string> device_buses(const std::string& sys_root, const std::string& devpath,
                                   const std::string& subsystem) {
  std::set<std::string> buses;
  if (!subsystem.empty()) buses.insert(subsystem);
  fs::path dir = fs::path(sys_root) / devpath.substr(devpath.starts_with('/') ? 1 : 0);
  for (int i = 0; i < 8; ++i) {
    std::string link = i == 0 ? "physical_node" : "physical_node" + std::to_string(i);
    std::error_code ec;
    fs::path target = fs::read_symlink(dir / link / "subsystem", ec);
    if (!ec && !target.filename().empty()) buses.insert(target.filename());
  }
  return buses;
}

}  // namespace kplug
