// Netlink intake: reads the uevent socket on the loop, a bounded batch per wake-up, and
// sorts what comes: kernel events go on to the daemon, forgeries and malformed datagrams
// are counted and logged, an overrun (ENOBUFS, the only sign of lost events) asks for a
// rescan, and a SEQNUM gap alone is counted (other network namespaces take numbers too).
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "daemon/counters.hpp"
#include "uevent/uevent_source.hpp"

namespace kplug {

class NetlinkIntake {
 public:
  struct Hooks {
    std::function<void(Uevent&&)> event;  // a kernel event, checked and parsed
    std::function<void()> overrun;        // the kernel dropped events
    std::function<void()> failed;         // the socket failed: kplugd cannot go on
  };

  // SOURCE may be null (tests feed events to the daemon directly).
  NetlinkIntake(boost::asio::io_context& io, std::unique_ptr<UeventSource> source, Counters& counters, Hooks hooks);
  ~NetlinkIntake();

  void start();
  void stop();
  // Gives back the pages a burst of datagrams touched in the receive batch.
  void release_idle_memory();
  // Bytes waiting on the socket (0 without one).
  int unread_bytes() const;

 private:
  void do_read();
  void on_readable();
  void on_receive(ReceiveOutcome& outcome);

  std::unique_ptr<UeventSource> source_;
  std::optional<boost::asio::posix::stream_descriptor> socket_;
  Counters& counters_;
  Hooks hooks_;
  boost::asio::io_context& io_;
  bool overrun_gap_pending_ = false;  // an overrun whose SEQNUM gap has not shown yet
  bool stopping_ = false;
};

}  // namespace kplug
