// The record format. One event, as `kplug test --event FILE` has always read it: a JSON
// object as `kplug monitor --json` prints it, or KEY=VALUE lines (`#` comments allowed).
// A stream of events, as `kplug monitor --record` writes it and `kplug replay` reads it
// (docs/record-format.md): JSON lines, the first a header naming the format version and
// the kernel, then one event a line with its receive time.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

// ACTION defaults to add; DEVPATH and SUBSYSTEM are required; SEQNUM defaults to 0.
Result<Uevent, std::string> parse_record(const std::string& text);

inline constexpr int record_format_version = 1;
// A longer line is refused: the kernel's uevent buffer is 2 KiB, escaped JSON a few times that.
inline constexpr std::size_t record_max_line = 64 * 1024;

struct RecordHeader {
  int version = record_format_version;
  std::string kernel;    // uname -r of the machine recorded
  std::string hostname;
  double started = 0;    // wall clock, seconds since the epoch, when recording began
  std::vector<std::string> modules;  // loaded when recording began (/proc/modules), for replay
};

struct RecordedEvent {
  Uevent event;           // its source: kernel, or coldplug for the devices present at the start
  double timestamp = 0;   // receive time, CLOCK_MONOTONIC seconds (only differences matter)
};

std::string record_header_line(const RecordHeader& header);
std::string record_event_line(const Uevent& event, double timestamp);

// Reads a stream line by line, in bounded memory: a file of `kplug monitor --record`, or
// of `kplug monitor --json` (no header). Never throws; an error names the line.
class RecordReader {
 public:
  explicit RecordReader(std::istream& in) : in_(in) {}
  // The next event, nullopt at the end, or why the line cannot be read ("line 7: ...").
  Result<std::optional<RecordedEvent>, std::string> next();
  const std::optional<RecordHeader>& header() const { return header_; }
  std::uint64_t line() const { return line_; }

 private:
  std::istream& in_;
  std::optional<RecordHeader> header_;
  std::uint64_t line_ = 0;
  double last_timestamp_ = 0;
};

}  // namespace kplug
