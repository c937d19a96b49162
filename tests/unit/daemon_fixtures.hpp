// Helpers shared by the daemon and engine tests: a resolver on the Debian tree from
// scripts/fetch-kernel, and synthetic add events.
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <memory>
#include <string>

#include "kmod/resolver.hpp"
#include "uevent/uevent.hpp"

namespace kplug::test {

inline std::unique_ptr<Resolver> resolver() {
  const char* dir = std::getenv("KPLUG_TEST_MODULES_DIR");
  // Not a skip: without the tree these tests prove nothing, so they fail.
  REQUIRE(dir != nullptr);
  auto ctx = KmodContext::open({dir, {"/nonexistent"}});
  REQUIRE(ctx.has_value());
  return std::make_unique<Resolver>(std::move(*ctx));
}

// An add event of subsystem "test"; no MODALIAS property when MODALIAS is empty.
inline Uevent add(std::string devpath, std::string modalias) {
  Uevent ev;
  ev.action = "add";
  ev.devpath = devpath;
  ev.subsystem = "test";
  ev.properties = {{"ACTION", "add"}, {"DEVPATH", devpath}, {"SUBSYSTEM", "test"}};
  if (!modalias.empty()) ev.properties.emplace_back("MODALIAS", std::move(modalias));
  return ev;
}

}  // namespace kplug::test
