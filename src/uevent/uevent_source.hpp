// Where kernel events come from, as the daemon's intake reads them: a descriptor that
// becomes readable, and receive() until it would block. NetlinkSource is the real one;
// the tests' FakeUeventSource (tests/unit/fakes.hpp) hands out what a test queues.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "uevent/parse.hpp"
#include "uevent/sender_check.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

// One call to receive() yields exactly one of these.
struct Received {
  Uevent event;
  std::uint64_t missed_before = 0;  // SEQNUM numbers skipped since the previous event
};
struct Rejected {
  RejectReason reason;
  std::string detail;  // for the log: who sent it, or what was malformed
  SenderInfo sender;
  std::size_t size = 0;
  // For a datagram not from the kernel: what it holds, for the log and the counters
  // only (nothing parsed here is ever acted on): "well_formed" or the parse error kind,
  // and what it claims or what is wrong with it.
  std::string shape;
  std::string claims;
};
struct Overrun {};     // ENOBUFS: the kernel dropped events because our buffer was full
struct WouldBlock {};  // nothing to read right now
struct ReceiveFailed {
  int error;  // errno
};
using ReceiveOutcome = std::variant<Received, Rejected, Overrun, WouldBlock, ReceiveFailed>;

class UeventSource {
 public:
  virtual ~UeventSource() = default;
  // Readable when receive() has something (the loop waits on it; the source owns it).
  virtual int fd() const = 0;
  virtual ReceiveOutcome receive() = 0;
  // kplugd is idle: give back the memory a burst took.
  virtual void release_idle_memory() {}
};

}  // namespace kplug
