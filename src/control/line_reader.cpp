// Line framing for the control socket.
#include "control/line_reader.hpp"

namespace kplug::control {

bool LineReader::feed(std::string_view bytes, std::vector<std::string>& lines) {
  if (overflowed_) return false;
  while (!bytes.empty()) {
    auto nl = bytes.find('\n');
    std::string_view piece = bytes.substr(0, nl);
    if (partial_.size() + piece.size() > max_line_) {
      overflowed_ = true;
      partial_.clear();
      partial_.shrink_to_fit();
      return false;
    }
    if (nl == std::string_view::npos) {
      partial_.append(piece);
      return true;
    }
    partial_.append(piece);
    lines.push_back(std::move(partial_));
    partial_.clear();
    bytes.remove_prefix(nl + 1);
  }
  return true;
}

}  // namespace kplug::control
