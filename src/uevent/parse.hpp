// Parsing a kernel uevent datagram (`ACTION@DEVPATH\0KEY=VALUE\0...`) with every check
// on it. Pure: no I/O, no logging. A malformed datagram is an error value.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "base/names.hpp"
#include "base/result.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

// Limits on what a kernel datagram can look like. The kernel builds uevents in a 2 KiB
// environment buffer with at most 64 variables (UEVENT_BUFFER_SIZE, UEVENT_NUM_ENVP);
// the header adds the devpath. Anything larger did not come from a well-behaved kernel.
struct ParseLimits {
  std::size_t max_datagram = 16384;
  std::size_t max_keys = 64;
  std::size_t max_key_length = 64;
  std::size_t max_value_length = 4096;
};

enum class ParseErrorKind {
  empty,
  too_long,
  truncated,
  not_nul_terminated,
  bad_header,
  empty_field,
  bad_field,
  bad_key,
  too_many_keys,
  value_too_long,
  duplicate_key,
  missing_key,
  header_mismatch,
  bad_action,
  bad_devpath,
  bad_seqnum,
};

struct ParseError {
  ParseErrorKind kind;
  std::string detail;  // human-readable, names the offending field
};

// Short stable name of an error kind, used for counters ("bad_header", ...).
const char* to_string(ParseErrorKind kind);

// `truncated` is the MSG_TRUNC flag of the recvmsg that produced the bytes.
Result<Uevent, ParseError> parse_datagram(std::span<const char> bytes, bool truncated = false,
                                          const ParseLimits& limits = {});

// True for the actions the kernel emits (kobject_action names).
bool is_known_action(std::string_view action);

}  // namespace kplug
