// A problem found in a config or rule file, with the place it was found. Every loader
// collects all of them rather than stopping at the first.
#pragma once

#include <string>
#include <vector>

namespace kplug {

struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when the problem is the file as a whole
  int column = 0;  // 1-based
  std::string message;

  // "FILE:LINE:COLUMN: message" (or "FILE: message" for whole-file problems).
  std::string to_string() const;
};

using Diagnostics = std::vector<Diagnostic>;

}  // namespace kplug
