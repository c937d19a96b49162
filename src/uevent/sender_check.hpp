// Deciding whether a datagram on the uevent socket was sent by the kernel. Pure: the
// netlink source gathers the facts from recvmsg, this judges them.
#pragma once

#include <cstdint>
#include <optional>

namespace kplug {

// What recvmsg told us about who sent a datagram.
struct SenderInfo {
  std::uint32_t nl_pid = 0;     // sender port id; the kernel is 0
  std::uint32_t nl_groups = 0;  // multicast groups it was sent to; kernel uevents use group 1
  bool has_credentials = false; // an SCM_CREDENTIALS control message was present
  std::uint32_t uid = 0;        // from the credentials
};

enum class RejectReason { not_kernel_port, not_group_1, no_credentials, not_root, malformed };

const char* to_string(RejectReason reason);

// nullopt when the datagram may be trusted; the reason otherwise. GROUPS is the group
// mask the socket listens on: 1 (the kernel's group) trusts only the kernel itself (port
// 0); another mask (a loader's rebroadcast, `kplug monitor --group`) trusts root senders
// on those groups only — and the kernel lets no one else send there anyway.
std::optional<RejectReason> check_sender(const SenderInfo& sender, std::uint32_t groups = 1);

}  // namespace kplug
