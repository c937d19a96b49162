#include "sysfs/kernel_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>

#include <fmt/format.h>

namespace kplug {

std::string kmsg_message(const std::string& record) {
  auto semi = record.find(';');
  std::string message = semi == std::string::npos ? record : record.substr(semi + 1);
  if (auto nl = message.find('\n'); nl != std::string::npos) message.resize(nl);  // drop the dictionary
  return message.substr(0, 1024);
}

Result<std::vector<std::string>, std::string> read_kernel_log(const std::string& path, std::size_t max_records) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return unexpected(fmt::format("cannot read the kernel log ({}): {}", path, std::strerror(errno)));
  std::deque<std::string> kept;
  char buf[8192];
  for (std::size_t reads = 0; reads < 4 * max_records + 16; ++reads) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EPIPE) continue;  // a record was overwritten while we read: go on
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;                      // EAGAIN: the end of the log
    kept.push_back(kmsg_message(std::string(buf, static_cast<std::size_t>(n))));
    if (kept.size() > max_records) kept.pop_front();
  }
  ::close(fd);
  return std::vector<std::string>(kept.begin(), kept.end());
}

}  // namespace kplug
