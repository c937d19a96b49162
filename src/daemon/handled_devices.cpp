#include "daemon/handled_devices.hpp"

#include <fmt/format.h>

namespace kplug {

bool HandledDevices::note_add(const std::string& devpath) {
  if (devices_.count(devpath)) return true;
  if (devices_.size() >= max_) ++overflow_;
  else devices_.insert(devpath);
  return false;
}

void HandledDevices::note_remove(const std::string& devpath) { devices_.erase(devpath); }

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
