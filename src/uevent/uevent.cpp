// Lookups on the Uevent value type.
#include "uevent/uevent.hpp"

namespace kplug {

const char* to_string(EventSource source) {
  switch (source) {
    case EventSource::coldplug: return "coldplug";
    case EventSource::rescan: return "rescan";
    case EventSource::kernel: break;
  }
  return "kernel";
}

std::optional<std::string_view> Uevent::get(std::string_view key) const {
  for (const auto& [k, v] : properties)
    if (k == key) return std::string_view(v);
  return std::nullopt;
}

std::string_view Uevent::get_or_empty(std::string_view key) const {
  return get(key).value_or(std::string_view{});
}

}  // namespace kplug
