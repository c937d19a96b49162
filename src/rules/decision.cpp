// kplug's default policy: load the modules a device's MODALIAS names when it appears.
#include "rules/decision.hpp"

namespace kplug {

Decision default_decision(const Uevent& event) {
  Decision d;
  d.modalias = std::string(event.modalias());
  if (event.action != "add") {
    d.reason = "not an add event";
  } else if (d.modalias.empty()) {
    d.reason = "no MODALIAS";
  } else {
    d.autoload = true;
    d.reason = "add event with MODALIAS";
  }
  return d;
}

}  // namespace kplug
