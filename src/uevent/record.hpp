// The record format for one event, as `kplug test --event FILE` reads it: either a JSON
// object as `kplug monitor --json` prints it, or KEY=VALUE lines (`#` comments allowed).
#pragma once

#include <string>

#include "base/result.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

// ACTION defaults to add; DEVPATH and SUBSYSTEM are required; SEQNUM defaults to 0.
Result<Uevent, std::string> parse_record(const std::string& text);

}  // namespace kplug
