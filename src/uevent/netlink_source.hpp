// The kernel's uevent netlink socket (NETLINK_KOBJECT_UEVENT, group 1), opened with
// libnl-3 and read with recvmmsg so the sender, its credentials and MSG_TRUNC of each
// datagram are checked before any byte of it is parsed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "uevent/parse.hpp"
#include "base/result.hpp"
#include "uevent/sender_check.hpp"
#include "uevent/seqnum_tracker.hpp"
#include "uevent/uevent.hpp"
#include "uevent/uevent_source.hpp"

struct nl_sock;

namespace kplug {

struct NetlinkOptions {
  std::size_t receive_buffer = 128u << 20;  // asked with SO_RCVBUFFORCE, else SO_RCVBUF
  bool nonblocking = true;
  // The multicast groups to join, as a mask: 1 is the kernel's; another (4, where
  // libudev-zero listens) hears a loader's rebroadcasts (`kplug monitor --group`).
  std::uint32_t groups = 1;
};

class NetlinkSource : public UeventSource {
 public:
  // Opens, sizes and binds the socket. Errors name what failed and the errno text.
  static Result<std::unique_ptr<NetlinkSource>, std::string> open(const NetlinkOptions& options);
  ~NetlinkSource() override;  // (out of line: Batch is complete only there)
  NetlinkSource(const NetlinkSource&) = delete;
  NetlinkSource& operator=(const NetlinkSource&) = delete;

  int fd() const override;
  std::uint32_t port_id() const;
  // The receive buffer the kernel granted (it reports double the requested bytes).
  std::size_t receive_buffer() const { return receive_buffer_; }
  bool buffer_forced() const { return buffer_forced_; }

  ReceiveOutcome receive() override;
  // Gives back the memory of the receive buffers (a burst fills many): kplugd is idle.
  void release_idle_memory() override;

 private:
  NetlinkSource();
  nl_sock* sock_ = nullptr;
  std::size_t receive_buffer_ = 0;
  bool buffer_forced_ = false;
  SeqnumTracker seqnums_;
  std::uint32_t groups_ = 1;

  // Datagrams are read in batches (recvmmsg): during a burst one system call brings up
  // to batch_size of them, handed out one per receive().
  struct Batch;
  ReceiveOutcome take(std::size_t index);
  std::unique_ptr<Batch> batch_;
  std::size_t batch_count_ = 0;  // datagrams in the batch
  std::size_t batch_next_ = 0;   // the next one to hand out
};

}  // namespace kplug
