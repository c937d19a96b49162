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

// The closest of CANDIDATES to WORD, when it is close enough to be a likely typo.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace kplug
