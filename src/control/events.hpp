// The `events` stream's messages, typed: one struct per kind, written to JSON and read
// back by this code only — kplugd's publisher, `kplug monitor --decisions`, `kplug
// replay` (its summary and its comparison), `kplug trigger --wait` and the tests. Reading
// never throws: a message of the wrong shape is an error value.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace kplug::control {

// What the rules and the config decided for one event.
struct DecisionMessage {
  std::uint64_t seqnum = 0;
  std::string action, devpath, subsystem, modalias;
  std::string source;  // kernel, coldplug or rescan
  bool ignored = false;
  bool autoload = false;
  std::string reason;                // why autoload is on or off
  std::string priority = "normal";   // of its loads: critical, console, network, normal
  std::string priority_why;          // "PCI class 0x0c03 (USB host controller)"
  std::vector<std::string> rules;    // the rules that matched, in order
  std::vector<std::string> load;     // modules the rules load
  struct Run {
    std::string rule;
    std::vector<std::string> argv;  // withheld (empty) for a peer that is not root
    bool withheld = false;
  };
  std::vector<Run> run;
  std::string synth_uuid;  // the SYNTH_UUID a `kplug trigger` wrote, if any
};

struct LoadOutcome {
  std::string module;
  std::string status;  // loaded, would_load, already_loaded, builtin, blacklisted, failed
  double duration_ms = 0;
  std::string message;
  std::vector<std::string> pulled_in;  // dependencies the load inserted
};

// One event's loads, all answered.
struct LoadsMessage {
  std::string event;  // "add /devices/... (usb)"
  std::string modalias;
  std::vector<LoadOutcome> outcomes;
};

// One unload of a module kplugd loaded.
struct UnloadMessage {
  std::string module;
  std::string status;  // unloaded, in_use, not_loaded, failed
  std::string message;
  double duration_ms = 0;
  std::vector<std::string> removed_dependencies;
};

using EventMessage = std::variant<DecisionMessage, LoadsMessage, UnloadMessage>;

nlohmann::json to_json(const EventMessage& message);
// The message M holds; an error naming the field that is wrong.
Result<EventMessage, std::string> event_from_json(const nlohmann::json& m);
// What a peer that is not root is sent: rule commands' argv left out.
EventMessage for_unprivileged_peer(EventMessage message);

}  // namespace kplug::control
