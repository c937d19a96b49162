// Parsing durations and sizes as config files and flags write them.
#include "rules/units.hpp"

#include <charconv>
#include <string_view>

namespace kplug {

bool parse_duration(const std::string& text, std::chrono::milliseconds& out) {
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr == text.data() || value < 0) return false;
  std::string_view unit(ptr, static_cast<std::size_t>(text.data() + text.size() - ptr));
  double ms = 0;
  if (unit == "ms") ms = value;
  else if (unit == "" || unit == "s") ms = value * 1000;
  else if (unit == "m" || unit == "min") ms = value * 60'000;
  else return false;
  if (ms > 86'400'000.0) return false;  // a day: anything longer is a typo
  out = std::chrono::milliseconds(static_cast<long long>(ms));
  return true;
}

bool parse_size(const std::string& text, std::size_t& out) {
  std::size_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr == text.data()) return false;
  std::string_view suffix(ptr, static_cast<std::size_t>(text.data() + text.size() - ptr));
  std::size_t scale = 1;
  if (suffix == "" || suffix == "B") scale = 1;
  else if (suffix == "K" || suffix == "KiB") scale = 1u << 10;
  else if (suffix == "M" || suffix == "MiB") scale = 1u << 20;
  else if (suffix == "G" || suffix == "GiB") scale = 1u << 30;
  else return false;
  if (value > (std::size_t(1) << 40) / scale) return false;
  out = value * scale;
  return true;
}

}  // namespace kplug
