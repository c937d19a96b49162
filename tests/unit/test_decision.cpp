// The default policy: add events with a MODALIAS autoload; nothing else does.
#include <catch2/catch.hpp>

#include "rules/decision.hpp"

using namespace kplug;

namespace {
Uevent event(std::string action, std::string modalias) {
  Uevent ev;
  ev.action = std::move(action);
  ev.devpath = "/devices/x";
  if (!modalias.empty()) ev.properties.emplace_back("MODALIAS", std::move(modalias));
  return ev;
}
}  // namespace

TEST_CASE("default decision", "[decision]") {
  auto d = default_decision(event("add", "usb:v08E6p4433d0100dc00dsc00dp00ic0Bisc00ip00in00"));
  CHECK(d.autoload);
  CHECK(d.modalias == "usb:v08E6p4433d0100dc00dsc00dp00ic0Bisc00ip00in00");
  CHECK_FALSE(default_decision(event("add", "")).autoload);
  CHECK(default_decision(event("add", "")).reason == "no MODALIAS");
  CHECK_FALSE(default_decision(event("remove", "pci:v1")).autoload);
  CHECK_FALSE(default_decision(event("change", "pci:v1")).autoload);
  CHECK_FALSE(default_decision(event("bind", "pci:v1")).autoload);
}
