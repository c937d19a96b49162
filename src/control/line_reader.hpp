// Splitting a control connection's bytes into request lines, with a cap on a line's
// length so that no client can make kplugd hold more than that for it. Pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kplug::control {

class LineReader {
 public:
  explicit LineReader(std::size_t max_line) : max_line_(max_line) {}

  // Adds BYTES; complete lines (without their newline) are appended to LINES. Returns
  // false once a line is longer than the cap: the connection is to be answered and closed,
  // and nothing more is taken.
  bool feed(std::string_view bytes, std::vector<std::string>& lines);

  // Bytes of a line begun but not finished.
  std::size_t pending() const { return partial_.size(); }
  bool overflowed() const { return overflowed_; }
  std::size_t max_line() const { return max_line_; }

 private:
  std::size_t max_line_;
  std::string partial_;
  bool overflowed_ = false;
};

}  // namespace kplug::control
