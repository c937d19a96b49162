#include "daemon/handled_devices.hpp"

#include <fmt/format.h>

namespace kplug {

bool HandledDevices::note_add(const std::string& devpath, std::uint64_t stamp) {
  if (auto it = devices_.find(devpath); it != devices_.end()) {
    it->second = stamp;
    return true;
  }
  if (devices_.size() >= max_) ++overflow_;
  else devices_.emplace(devpath, stamp);
  return false;
}

bool HandledDevices::handled_as(const std::string& devpath, std::uint64_t stamp) const {
  auto it = devices_.find(devpath);
  return it != devices_.end() && it->second != 0 && it->second == stamp;
}

void HandledDevices::note_failure(const std::string& devpath) {
  if (auto it = devices_.find(devpath); it != devices_.end()) it->second = 0;
}

void HandledDevices::note_remove(const std::string& devpath) { devices_.erase(devpath); }

std::uint64_t decision_stamp(const Decision& d, std::uint64_t generation) {
  // FNV-1a over the parts that shape the loads, each followed by a separator.
  std::uint64_t h = 14695981039346656037ull;
  auto mix = [&h](std::string_view part) {
    for (unsigned char c : part) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  };
  mix(d.modalias);
  mix(d.ignore ? "i" : "-");
  mix(d.autoload ? "a" : "-");
  mix(d.unload_on_remove ? "u" : "-");
  for (const auto& [module, rule] : d.load) mix(module);
  mix("|");
  for (const auto& module : d.load_blacklisted) mix(module);
  mix("|");
  for (const auto& module : d.blacklist) mix(module);
  mix("|");
  for (const auto& [module, options] : d.options) {
    mix(module);
    mix(options);
  }
  h ^= generation * 0x9E3779B97F4A7C15ull;
  return h == 0 ? 1 : h;
}

namespace {
std::string joined(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}
}  // namespace

std::string RescanTally::summary() const {
  std::string out = fmt::format("{} present device(s) decided again, {} not seen before, {} gone", devices, not_seen, gone);
  if (loaded.empty()) out += dry_run ? "; nothing would be loaded" : "; nothing new loaded";
  else out += (dry_run ? "; would load " : "; loaded ") + joined(loaded);
  if (!failed.empty()) out += "; failed " + joined(failed);
  if (quiet) out += fmt::format("; rule actions not repeated for {} device(s) already handled", quiet);
  return out;
}

}  // namespace kplug
