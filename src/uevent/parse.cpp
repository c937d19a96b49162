// Validating parser for kernel uevent datagrams. Every byte is checked before any of it
// is trusted; the first problem found is returned as a ParseError.
#include "uevent/parse.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "base/text.hpp"

namespace kplug {

namespace {

Unexpected<ParseError> fail(ParseErrorKind kind, std::string detail) {
  return unexpected(ParseError{kind, std::move(detail)});
}

// Printable, shortened copy of untrusted bytes for error messages.
std::string quote(std::string_view s) { return printable(s, 64); }

}  // namespace

const char* to_string(ParseErrorKind kind) {
  switch (kind) {
    case ParseErrorKind::empty: return "empty";
    case ParseErrorKind::too_long: return "too_long";
    case ParseErrorKind::truncated: return "truncated";
    case ParseErrorKind::not_nul_terminated: return "not_nul_terminated";
    case ParseErrorKind::bad_header: return "bad_header";
    case ParseErrorKind::empty_field: return "empty_field";
    case ParseErrorKind::bad_field: return "bad_field";
    case ParseErrorKind::bad_key: return "bad_key";
    case ParseErrorKind::too_many_keys: return "too_many_keys";
    case ParseErrorKind::value_too_long: return "value_too_long";
    case ParseErrorKind::duplicate_key: return "duplicate_key";
    case ParseErrorKind::missing_key: return "missing_key";
    case ParseErrorKind::header_mismatch: return "header_mismatch";
    case ParseErrorKind::bad_action: return "bad_action";
    case ParseErrorKind::bad_devpath: return "bad_devpath";
    case ParseErrorKind::bad_seqnum: return "bad_seqnum";
  }
  return "unknown";
}

bool is_known_action(std::string_view action) {
  static constexpr std::array<std::string_view, 8> actions = {
      "add", "remove", "change", "move", "online", "offline", "bind", "unbind"};
  return std::find(actions.begin(), actions.end(), action) != actions.end();
}

namespace {

// The KEY=VALUE fields after the header, each checked, into EV's properties; the first
// problem found, if any.
std::optional<ParseError> read_fields(std::string_view rest, const ParseLimits& limits, Uevent& ev) {
  ev.properties.reserve(std::min<std::size_t>(std::count(rest.begin(), rest.end(), '\0') + 1, limits.max_keys));
  std::size_t pos = 0;
  while (pos <= rest.size()) {
    std::size_t end = rest.find('\0', pos);
    if (end == std::string_view::npos) end = rest.size();
    std::string_view field = rest.substr(pos, end - pos);
    pos = end + 1;
    if (field.empty())
      return fail(ParseErrorKind::empty_field, fmt::format("empty field after {} keys", ev.properties.size())).error;
    std::size_t eq = field.find('=');
    if (eq == std::string_view::npos)
      return fail(ParseErrorKind::bad_field, fmt::format("field '{}' has no '='", quote(field))).error;
    std::string_view key = field.substr(0, eq);
    std::string_view value = field.substr(eq + 1);
    if (key.empty() || key.size() > limits.max_key_length || !std::all_of(key.begin(), key.end(), is_key_char))
      return fail(ParseErrorKind::bad_key, fmt::format("bad key '{}'", quote(key))).error;
    if (value.size() > limits.max_value_length)
      return fail(ParseErrorKind::value_too_long,
                  fmt::format("value of {} is {} bytes, limit {}", key, value.size(), limits.max_value_length))
          .error;
    if (ev.properties.size() >= limits.max_keys)
      return fail(ParseErrorKind::too_many_keys, fmt::format("more than {} keys", limits.max_keys)).error;
    if (ev.get(key)) return fail(ParseErrorKind::duplicate_key, fmt::format("key {} appears twice", key)).error;
    ev.properties.emplace_back(std::string(key), std::string(value));
  }
  return std::nullopt;
}

}  // namespace

Result<Uevent, ParseError> parse_datagram(std::span<const char> bytes, bool truncated,
                                          const ParseLimits& limits) {
  // 1. Size, truncation and termination: the frame as a whole.
  if (truncated) return fail(ParseErrorKind::truncated, "datagram was truncated (MSG_TRUNC)");
  if (bytes.empty()) return fail(ParseErrorKind::empty, "empty datagram");
  if (bytes.size() > limits.max_datagram)
    return fail(ParseErrorKind::too_long,
                fmt::format("datagram of {} bytes exceeds {}", bytes.size(), limits.max_datagram));
  if (bytes.back() != '\0')
    return fail(ParseErrorKind::not_nul_terminated, "datagram does not end with NUL");

  std::string_view all(bytes.data(), bytes.size() - 1);  // without the final NUL

  // 2. The `ACTION@DEVPATH` header.
  std::size_t header_end = all.find('\0');
  std::string_view header = all.substr(0, header_end);
  std::size_t at = header.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= header.size() || header[at + 1] != '/')
    return fail(ParseErrorKind::bad_header, fmt::format("header '{}' is not ACTION@/DEVPATH", quote(header)));
  std::string_view header_action = header.substr(0, at);
  std::string_view header_devpath = header.substr(at + 1);
  if (header_end == std::string_view::npos)
    return fail(ParseErrorKind::missing_key, "datagram has a header but no KEY=VALUE fields");

  // 3. Every KEY=VALUE field.
  Uevent ev;
  if (auto bad = read_fields(all.substr(header_end + 1), limits, ev)) return unexpected(std::move(*bad));

  // 4. The keys every kernel uevent carries, consistent with the header.
  for (std::string_view key : {"ACTION", "DEVPATH", "SUBSYSTEM", "SEQNUM"})
    if (!ev.get(key)) return fail(ParseErrorKind::missing_key, fmt::format("no {} key", key));
  ev.action = std::string(*ev.get("ACTION"));
  ev.devpath = std::string(*ev.get("DEVPATH"));
  ev.subsystem = std::string(*ev.get("SUBSYSTEM"));
  if (ev.action != header_action || ev.devpath != header_devpath)
    return fail(ParseErrorKind::header_mismatch,
                fmt::format("header '{}' disagrees with ACTION={} DEVPATH={}", quote(header),
                            quote(ev.action), quote(ev.devpath)));
  if (!is_known_action(ev.action))
    return fail(ParseErrorKind::bad_action, fmt::format("unknown action '{}'", quote(ev.action)));
  if (!is_safe_devpath(ev.devpath))
    return fail(ParseErrorKind::bad_devpath, fmt::format("devpath '{}' could leave /sys", quote(ev.devpath)));
  std::string_view seq = *ev.get("SEQNUM");
  auto [ptr, ec] = std::from_chars(seq.data(), seq.data() + seq.size(), ev.seqnum);
  if (seq.empty() || ec != std::errc{} || ptr != seq.data() + seq.size())
    return fail(ParseErrorKind::bad_seqnum, fmt::format("SEQNUM '{}' is not a number", quote(seq)));
  return ev;
}

}  // namespace kplug
