// Rebroadcasting events in the kernel's format (see the header).
#include "uevent/rebroadcast.hpp"

#include <linux/netlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

namespace kplug {

std::string encode_datagram(const Uevent& event) {
  std::string out = event.action + "@" + event.devpath;
  out.push_back('\0');
  for (const auto& [key, value] : event.properties) {
    out += key + "=" + value;
    out.push_back('\0');
  }
  return out;
}

namespace {

class NetlinkRebroadcaster : public Rebroadcaster {
 public:
  NetlinkRebroadcaster(nl_sock* sock, std::uint32_t mask) : sock_(sock), mask_(mask) {}
  ~NetlinkRebroadcaster() override { nl_socket_free(sock_); }

  Result<bool, std::string> send(const Uevent& event) override {
    std::string datagram = encode_datagram(event);
    sockaddr_nl to{};
    to.nl_family = AF_NETLINK;
    to.nl_groups = mask_;
    if (sendto(nl_socket_get_fd(sock_), datagram.data(), datagram.size(), MSG_DONTWAIT,
               reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) {
      // ECONNREFUSED: nobody listens on the groups, which is fine.
      if (errno == ECONNREFUSED) return true;
      return unexpected(fmt::format("cannot rebroadcast {} {}: {}", event.action, event.devpath, std::strerror(errno)));
    }
    return true;
  }

 private:
  nl_sock* sock_;
  std::uint32_t mask_;
};

}  // namespace

Result<std::unique_ptr<Rebroadcaster>, std::string> open_rebroadcaster(std::uint32_t mask) {
  if (mask == 0 || (mask & 1))
    return unexpected(fmt::format("rebroadcast groups {:#x}: give a mask without group 1 (the kernel's), e.g. 4", mask));
  nl_sock* sock = nl_socket_alloc();
  if (!sock) return unexpected(std::string("cannot allocate a netlink socket: out of memory"));
  nl_socket_disable_seq_check(sock);
  if (int err = nl_connect(sock, NETLINK_KOBJECT_UEVENT); err < 0) {  // libnl opens it SOCK_CLOEXEC
    nl_socket_free(sock);
    return unexpected(fmt::format("cannot open a uevent netlink socket for rebroadcasting: {}", nl_geterror(err)));
  }
  return std::unique_ptr<Rebroadcaster>(new NetlinkRebroadcaster(sock, mask));
}

}  // namespace kplug
