// Rebroadcasting handled events, as mdevd's -O does: each kernel uevent, once kplugd has
// handled it (its modules loaded), is sent again in the kernel's own format to other
// netlink multicast groups of NETLINK_KOBJECT_UEVENT, where programs built on
// libudev-zero listen (mask 4). They then see a device only once its driver is there.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

// `ACTION@DEVPATH\0KEY=VALUE\0...`, the datagram the kernel sends for EVENT.
std::string encode_datagram(const Uevent& event);

class Rebroadcaster {
 public:
  virtual ~Rebroadcaster() = default;
  virtual Result<bool, std::string> send(const Uevent& event) = 0;
};

// A netlink socket (libnl-3, close-on-exec) sending to the groups of MASK, which must
// not include group 1 (the kernel's). Needs CAP_NET_ADMIN for the sends.
Result<std::unique_ptr<Rebroadcaster>, std::string> open_rebroadcaster(std::uint32_t mask);

}  // namespace kplug
