// The real system view: the coldplug walk, /sys and /proc/modules.
#include "sysfs/system_view.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/file.hpp"
#include "sysfs/attributes.hpp"
#include "sysfs/enumerate.hpp"

namespace kplug {

namespace {

class SysfsView : public SystemView {
 public:
  Result<std::size_t, std::string> walk_devices(const Wanted& wanted, const Visit& visit) override {
    return for_each_present_device(wanted, visit);
  }
  bool device_present(const std::string& devpath) override {
    std::error_code ec;
    return std::filesystem::exists("/sys" + devpath, ec);
  }
  std::set<std::string> live_modules() override { return read_live_modules(); }
  std::uint64_t kernel_seqnum() override {
    auto text = read_regular_file("/sys/kernel/uevent_seqnum", 8192);
    return text ? std::strtoull(text->c_str(), nullptr, 10) : 0;
  }
  std::optional<std::string> read_attribute(const std::string& devpath, const std::string& name) override {
    return kplug::read_attribute(devpath, name);
  }
};

}  // namespace

std::unique_ptr<SystemView> make_sysfs_view() { return std::make_unique<SysfsView>(); }

std::set<std::string> read_live_modules(const std::string& proc_modules) {
  std::set<std::string> names;
  std::ifstream in(proc_modules);
  for (std::string line; std::getline(in, line);) names.insert(line.substr(0, line.find(' ')));
  return names;
}

}  // namespace kplug
