// The Debian modules tree from scripts/fetch-kernel, for the tests of the libkmod code
// (resolver, loaders, module verbs): the only unit tests that need it.
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "kmod/kmod_context.hpp"

namespace kplug::test {

inline std::string modules_dir() {
  const char* dir = std::getenv("KPLUG_TEST_MODULES_DIR");
  // Not a skip: without the tree these tests prove nothing, so they fail.
  REQUIRE(dir != nullptr);
  REQUIRE(std::string(dir) != "");
  return dir;
}

inline std::unique_ptr<KmodContext> context(std::vector<std::string> config = {"/nonexistent"}) {
  auto ctx = KmodContext::open({modules_dir(), std::move(config)});
  REQUIRE(ctx.has_value());
  return std::move(*ctx);
}

}  // namespace kplug::test
