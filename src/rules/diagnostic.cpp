// Formatting diagnostics.
#include "rules/diagnostic.hpp"

#include <fmt/format.h>

namespace kplug {

std::string Diagnostic::to_string() const {
  if (line <= 0) return fmt::format("{}: {}", file, message);
  return fmt::format("{}:{}:{}: {}", file, line, column, message);
}

}  // namespace kplug
