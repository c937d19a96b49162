// What to do with one event: the seam between matching and the daemon. For now the
// policy is kplug's default (autoload on `add` with a MODALIAS); the rules engine will
// compute Decisions from the user's YAML rules through the same type.
#pragma once

#include <string>

#include "uevent/uevent.hpp"

namespace kplug {

struct Decision {
  bool autoload = false;  // resolve MODALIAS through modules.alias and load the result
  std::string modalias;
  std::string reason;  // why, in plain words, for logs and `kplug test`
};

// The built-in default policy. Pure.
Decision default_decision(const Uevent& event);

}  // namespace kplug
