// Opening and reading the uevent socket. libnl-3 owns the socket's set-up; datagrams are
// read with plain recvmmsg (a batch per call) because kernel uevents carry no nlmsghdr
// for libnl to parse.
#include "uevent/netlink_source.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <fmt/format.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

namespace kplug {

namespace {
constexpr std::size_t batch_size = 16;
constexpr std::size_t slot_size = ParseLimits{}.max_datagram + 1;  // one byte more than allowed shows MSG_TRUNC
}  // namespace

struct NetlinkSource::Batch {
  // One mapping for every slot: a page of it costs memory only once a datagram has been
  // written into it, and release() gives back the pages a burst touched.
  struct Buffers {
    static constexpr std::size_t size = batch_size * slot_size;
    char* data = static_cast<char*>(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    Buffers() = default;
    Buffers(const Buffers&) = delete;
    Buffers& operator=(const Buffers&) = delete;
    ~Buffers() {
      if (data != MAP_FAILED) munmap(data, size);
    }
    char* get() const { return data; }
  } buffers;
  void release() { madvise(buffers.data, Buffers::size, MADV_DONTNEED); }
  std::array<mmsghdr, batch_size> headers{};
  std::array<iovec, batch_size> iovecs{};
  std::array<sockaddr_nl, batch_size> senders{};
  struct alignas(cmsghdr) Control {
    char bytes[CMSG_SPACE(sizeof(ucred))];
  };
  std::array<Control, batch_size> controls{};

  // Readies every slot for the next recvmmsg (the kernel rewrites lengths and flags).
  void reset() {
    for (std::size_t i = 0; i < batch_size; ++i) {
      iovecs[i] = {buffers.get() + i * slot_size, slot_size};
      msghdr& m = headers[i].msg_hdr;
      m = msghdr{};
      m.msg_name = &senders[i];
      m.msg_namelen = sizeof senders[i];
      m.msg_iov = &iovecs[i];
      m.msg_iovlen = 1;
      m.msg_control = controls[i].bytes;
      m.msg_controllen = sizeof controls[i].bytes;
      headers[i].msg_len = 0;
    }
  }
};

Result<std::unique_ptr<NetlinkSource>, std::string> NetlinkSource::open(const NetlinkOptions& options) {
  std::unique_ptr<NetlinkSource> src(new NetlinkSource());
  if (src->batch_->buffers.data == MAP_FAILED)
    return unexpected(fmt::format("cannot map the receive buffers: {}", std::strerror(errno)));
  src->sock_ = nl_socket_alloc();
  if (!src->sock_) return unexpected(std::string("cannot allocate a netlink socket: out of memory"));
  nl_socket_disable_seq_check(src->sock_);
  if (int err = nl_connect(src->sock_, NETLINK_KOBJECT_UEVENT); err < 0)
    return unexpected(fmt::format("cannot open the uevent netlink socket: {}", nl_geterror(err)));
  if (options.groups == 0) return unexpected(std::string("no uevent multicast group to join (the mask is 0)"));
  src->groups_ = options.groups;
  for (int group = 1; group <= 32; ++group)
    if (options.groups & (1u << (group - 1)))
      if (int err = nl_socket_add_membership(src->sock_, group); err < 0)
        return unexpected(fmt::format("cannot join uevent multicast group {}: {}", group, nl_geterror(err)));
  if (int err = nl_socket_set_passcred(src->sock_, 1); err < 0)
    return unexpected(fmt::format("cannot enable SO_PASSCRED on the uevent socket: {}", nl_geterror(err)));
  if (options.nonblocking) {
    if (int err = nl_socket_set_nonblocking(src->sock_); err < 0)
      return unexpected(fmt::format("cannot make the uevent socket non-blocking: {}", nl_geterror(err)));
  }

  // A boot-time burst can be thousands of events: ask for a large buffer. FORCE needs
  // CAP_NET_ADMIN and ignores rmem_max; without it the kernel caps SO_RCVBUF silently.
  int fd = nl_socket_get_fd(src->sock_);
  int size = static_cast<int>(std::min<std::size_t>(options.receive_buffer, 1u << 30));
  src->buffer_forced_ = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) == 0;
  if (!src->buffer_forced_ && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) < 0)
    return unexpected(fmt::format("cannot size the uevent socket buffer: {}", std::strerror(errno)));
  int granted = 0;
  socklen_t len = sizeof granted;
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &len) == 0) src->receive_buffer_ = static_cast<std::size_t>(granted);
  return src;
}

NetlinkSource::NetlinkSource() : batch_(std::make_unique<Batch>()) {}

void NetlinkSource::release_idle_memory() {
  // Only between batches: the datagrams of a batch are read from the buffers one by one.
  if (batch_next_ == batch_count_) batch_->release();
}

NetlinkSource::~NetlinkSource() {
  if (sock_) nl_socket_free(sock_);
}

int NetlinkSource::fd() const { return nl_socket_get_fd(sock_); }

std::uint32_t NetlinkSource::port_id() const { return nl_socket_get_local_port(sock_); }

ReceiveOutcome NetlinkSource::receive() {
  if (batch_next_ == batch_count_) {
    batch_->reset();
    batch_next_ = batch_count_ = 0;
    int n = recvmmsg(fd(), batch_->headers.data(), batch_size, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) return WouldBlock{};
      if (err == ENOBUFS) {
        // The next event cannot be compared with the last one we saw.
        seqnums_.reset();
        return Overrun{};
      }
      return ReceiveFailed{err};
    }
    // An error after the first datagram (ENOBUFS) comes with the next call.
    batch_count_ = static_cast<std::size_t>(n);
    if (batch_count_ == 0) return WouldBlock{};
  }
  return take(batch_next_++);
}

ReceiveOutcome NetlinkSource::take(std::size_t index) {
  const sockaddr_nl& addr = batch_->senders[index];
  msghdr& msg = batch_->headers[index].msg_hdr;
  std::size_t n = batch_->headers[index].msg_len;
  const char* data = batch_->buffers.get() + index * slot_size;

  SenderInfo sender;
  sender.nl_pid = addr.nl_pid;
  sender.nl_groups = addr.nl_groups;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
        c->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
      ucred cred;
      std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
      sender.has_credentials = true;
      sender.uid = cred.uid;
    }
  }
  std::size_t size = n;
  bool truncated = (msg.msg_flags & MSG_TRUNC) != 0;
  auto bytes = std::span<const char>(data, std::min(size, slot_size));
  if (auto reason = check_sender(sender, groups_)) {
    Rejected r{*reason,
               fmt::format("sender port {} groups {:#x} uid {}", sender.nl_pid, sender.nl_groups,
                           sender.has_credentials ? std::to_string(sender.uid) : std::string("none")),
               sender, size, "", ""};
    // Classified for the log and the counters only: a forger learns nothing from it,
    // and the parser is bounded and fuzzed.
    if (auto forged = parse_datagram(bytes, truncated)) {
      r.shape = "well_formed";
      r.claims = fmt::format("{} {} ({}) MODALIAS={}", forged->action, forged->devpath, forged->subsystem,
                             forged->get_or_empty("MODALIAS"));
    } else {
      r.shape = to_string(forged.error().kind);
      r.claims = forged.error().detail;
    }
    return r;
  }

  auto parsed = parse_datagram(bytes, truncated);
  if (!parsed)
    return Rejected{RejectReason::malformed,
                    fmt::format("{}: {}", to_string(parsed.error().kind), parsed.error().detail), sender, size, "", ""};
  std::uint64_t missed = seqnums_.observe(parsed->seqnum);
  return Received{std::move(*parsed), missed};
}

}  // namespace kplug
