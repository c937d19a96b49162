// The kernel-sender test from the safety rules: group 1, port id 0, credentials, uid 0.
#include "uevent/sender_check.hpp"

namespace kplug {

const char* to_string(RejectReason reason) {
  switch (reason) {
    case RejectReason::not_kernel_port: return "not_kernel_port";
    case RejectReason::not_group_1: return "not_group_1";
    case RejectReason::no_credentials: return "no_credentials";
    case RejectReason::not_root: return "not_root";
    case RejectReason::malformed: return "malformed";
  }
  return "unknown";
}

std::optional<RejectReason> check_sender(const SenderInfo& sender, std::uint32_t groups) {
  if (!sender.has_credentials) return RejectReason::no_credentials;
  if (sender.uid != 0) return RejectReason::not_root;
  if (groups != 1) {
    if ((sender.nl_groups & groups) == 0 || (sender.nl_groups & 1) != 0) return RejectReason::not_group_1;
    return std::nullopt;
  }
  if (sender.nl_groups != 1) return RejectReason::not_group_1;
  if (sender.nl_pid != 0) return RejectReason::not_kernel_port;
  return std::nullopt;
}

}  // namespace kplug
