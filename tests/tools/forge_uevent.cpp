// forge_uevent: send a forged uevent from user space, as an attacker would, to test that
// kplugd rejects it. A well-formed one is given away only by its sender; the other shapes
// are also malformed in one way each.
//
// usage: forge_uevent [--shape SHAPE] [--uid UID] multicast|unicast:PORT|groups:MASK DEVPATH MODALIAS [SUBSYSTEM]
//   SHAPE: well_formed (default), truncated (40,000 bytes: longer than any reader's
//          buffer), too_long (16,385 bytes), no_nul, bad_header, too_many_keys,
//          huge_value (a 5,000-byte MODALIAS), climbing_devpath (/devices/../../etc)
//   --uid UID: claim to be UID in the SCM_CREDENTIALS (root may claim any uid)
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

void add(std::string& msg, const std::string& field) {
  msg += field;
  msg += '\0';
}

// The datagram for SHAPE, or "" for an unknown shape.
std::string build(const std::string& shape, std::string devpath, std::string modalias, const std::string& subsystem) {
  if (shape == "climbing_devpath") devpath = "/devices/../../../etc";
  if (shape == "huge_value") modalias = std::string(5000, 'A');
  std::string msg;
  add(msg, (shape == "bad_header" ? "add" : "add@") + devpath);
  for (const std::string& field : {std::string("ACTION=add"), "DEVPATH=" + devpath, "SUBSYSTEM=" + subsystem,
                                   "MODALIAS=" + modalias, std::string("SEQNUM=999999")})
    add(msg, field);
  if (shape == "too_many_keys")
    for (int i = 0; i < 100; ++i) add(msg, "KEY" + std::to_string(i) + "=x");
  if (shape == "truncated") msg.resize(40000, 'x');
  if (shape == "too_long") {
    msg.resize(16384, 'x');
    add(msg, "");
  }
  if (shape == "no_nul") msg.back() = 'x';
  static const std::vector<std::string> known{"well_formed",   "truncated",  "too_long",        "no_nul",
                                              "bad_header",    "too_many_keys", "huge_value", "climbing_devpath"};
  for (const auto& k : known)
    if (k == shape) return msg;
  return "";
}

int usage() {
  std::fprintf(stderr,
               "usage: forge_uevent [--shape SHAPE] [--uid UID] multicast|unicast:PORT|groups:MASK DEVPATH MODALIAS "
               "[SUBSYSTEM]\n"
               "SHAPE: well_formed truncated too_long no_nul bad_header too_many_keys huge_value climbing_devpath\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string shape = "well_formed";
  long uid = -1;
  int i = 1;
  for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
    if (std::strcmp(argv[i], "--shape") == 0) shape = argv[i + 1];
    else if (std::strcmp(argv[i], "--uid") == 0) uid = std::strtol(argv[i + 1], nullptr, 10);
    else return usage();
  }
  if (argc - i < 3 || argc - i > 4) return usage();
  std::string target = argv[i];
  std::string msg = build(shape, argv[i + 1], argv[i + 2], argc - i == 4 ? argv[i + 3] : "usb");
  if (msg.empty()) return usage();

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
  } else if (target.rfind("groups:", 0) == 0) {  // a rebroadcast group mask, e.g. groups:4
    dest.nl_groups = static_cast<__u32>(std::strtoul(target.c_str() + 7, nullptr, 0));
  } else {
    std::fprintf(stderr, "forge_uevent: target must be multicast, unicast:PORT or groups:MASK\n");
    return 2;
  }
  iovec iov{msg.data(), msg.size()};
  msghdr hdr{};
  hdr.msg_name = &dest;
  hdr.msg_namelen = sizeof dest;
  hdr.msg_iov = &iov;
  hdr.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))] = {};
  if (uid >= 0) {
    hdr.msg_control = control;
    hdr.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&hdr);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(ucred));
    ucred cred{getpid(), static_cast<uid_t>(uid), getgid()};
    std::memcpy(CMSG_DATA(c), &cred, sizeof cred);
  }
  if (sendmsg(fd, &hdr, 0) < 0) {
    std::fprintf(stderr, "forge_uevent: sendmsg: %s\n", std::strerror(errno));
    return errno == EPERM ? 3 : 1;
  }
  close(fd);
  return 0;
}
