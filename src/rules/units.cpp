// Parsing durations and sizes as config files and flags write them.
#include "rules/units.hpp"

#include <charconv>
#include <cstdint>
#include <string_view>

namespace kplug {

// In whole numbers: a floating-point from_chars would pull libm into the embedded build
// for this alone (docs/embedded.md).
bool parse_duration(const std::string& text, std::chrono::milliseconds& out) {
  const char* p = text.data();
  const char* end = p + text.size();
  std::uint64_t whole = 0;
  auto [after_whole, ec] = std::from_chars(p, end, whole);
  if (ec != std::errc{} || after_whole == p || whole > 100'000'000) return false;
  p = after_whole;
  // Up to 6 decimals count; more are read and ignored (a millisecond is the unit).
  std::uint64_t fraction = 0, scale = 1;
  if (p != end && *p == '.') {
    ++p;
    const char* digits = p;
    for (; p != end && *p >= '0' && *p <= '9'; ++p)
      if (scale < 1'000'000) {
        fraction = fraction * 10 + static_cast<std::uint64_t>(*p - '0');
        scale *= 10;
      }
    if (p == digits) return false;
  }
  std::string_view unit(p, static_cast<std::size_t>(end - p));
  std::uint64_t unit_ms = 0;
  if (unit == "ms") unit_ms = 1;
  else if (unit == "" || unit == "s") unit_ms = 1000;
  else if (unit == "m" || unit == "min") unit_ms = 60'000;
  else if (unit == "h") unit_ms = 3'600'000;
  else return false;
  if (whole > 86'400'000 / unit_ms + 1) return false;  // past a day (and no 64-bit overflow below)
  // At most (86,400,000 + 1) * 10^6 * 1000 < 2^64.
  std::uint64_t ms = (whole * scale + fraction) * unit_ms / scale;
  if (ms > 86'400'000) return false;  // a day: anything longer is a typo
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
