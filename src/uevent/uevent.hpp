// The Uevent value type: one kernel (or synthesized coldplug) event, as plain data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kplug {

// Where an event came from. Coldplug and rescan events are synthesized from sysfs, not
// received: coldplug at start, rescan after the kernel dropped events.
enum class EventSource { kernel, coldplug, rescan };
// "kernel", "coldplug" or "rescan": the events stream's `source`, and the log's prefix.
const char* to_string(EventSource source);

struct Uevent {
  std::string action;     // add, remove, change, move, online, offline, bind, unbind
  std::string devpath;    // relative to /sys, starts with '/'
  std::string subsystem;
  std::uint64_t seqnum = 0;
  // Every KEY=VALUE pair in the order the kernel sent them (ACTION, DEVPATH, ... included).
  std::vector<std::pair<std::string, std::string>> properties;
  EventSource source = EventSource::kernel;

  // The value of KEY, or nullopt when the event does not carry it.
  std::optional<std::string_view> get(std::string_view key) const;
  // The value of KEY, or "" when absent.
  std::string_view get_or_empty(std::string_view key) const;
  std::string_view modalias() const { return get_or_empty("MODALIAS"); }
};

// DEVPATH, SUBSYSTEM, MODALIAS and SEQNUM of EVENT (those it has), as journal fields.
std::vector<std::pair<std::string, std::string>> event_fields(const Uevent& event);

}  // namespace kplug
