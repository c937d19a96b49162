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

std::vector<std::pair<std::string, std::string>> event_fields(const Uevent& event) {
  std::vector<std::pair<std::string, std::string>> fields{{"DEVPATH", event.devpath}};
  if (!event.subsystem.empty()) fields.emplace_back("SUBSYSTEM", event.subsystem);
  if (auto modalias = event.modalias(); !modalias.empty()) fields.emplace_back("MODALIAS", std::string(modalias));
  if (auto seqnum = event.get("SEQNUM"); seqnum && *seqnum != "0") fields.emplace_back("SEQNUM", std::string(*seqnum));
  return fields;
}

}  // namespace kplug
