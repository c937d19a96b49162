// forge_uevent: send a well-formed but forged uevent from user space, as an attacker
// would, to test that kplugd rejects it. Only its sender gives it away.
//
// usage: forge_uevent multicast|unicast:PORT DEVPATH MODALIAS [SUBSYSTEM]
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5) {
    std::fprintf(stderr, "usage: forge_uevent multicast|unicast:PORT DEVPATH MODALIAS [SUBSYSTEM]\n");
    return 2;
  }
  std::string target = argv[1], devpath = argv[2], modalias = argv[3];
  std::string subsystem = argc == 5 ? argv[4] : "usb";
  std::string msg;
  for (const std::string& field : {"add@" + devpath, std::string("ACTION=add"), "DEVPATH=" + devpath,
                                   "SUBSYSTEM=" + subsystem, "MODALIAS=" + modalias, std::string("SEQNUM=999999")}) {
    msg += field;
    msg += '\0';
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
  if (fd < 0) {
    std::perror("forge_uevent: socket");
    return 1;
  }
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
    std::perror("forge_uevent: bind");
    return 1;
  }
  sockaddr_nl dest{};
  dest.nl_family = AF_NETLINK;
  if (target == "multicast") {
    dest.nl_groups = 1;
  } else if (target.rfind("unicast:", 0) == 0) {
    dest.nl_pid = static_cast<__u32>(std::strtoul(target.c_str() + 8, nullptr, 10));
  } else {
    std::fprintf(stderr, "forge_uevent: target must be multicast or unicast:PORT\n");
    return 2;
  }
  if (sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&dest), sizeof dest) < 0) {
    std::fprintf(stderr, "forge_uevent: sendto: %s\n", std::strerror(errno));
    return 1;
  }
  close(fd);
  return 0;
}
