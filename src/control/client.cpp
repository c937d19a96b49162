// Blocking I/O on the control socket, with timeouts.
#include "control/client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "control/protocol.hpp"

namespace kplug::control {

namespace {
// connect(2) to PATH: the socket, or the errno.
int connect_unix(const std::string& path, int& error);
}  // namespace

Result<ControlClient, std::string> ControlClient::connect(const std::string& path) {
  return connect_within(path, std::chrono::milliseconds(0));
}

Result<ControlClient, std::string> ControlClient::connect_within(const std::string& path,
                                                                 std::chrono::milliseconds wait) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return unexpected(fmt::format("socket path too long: {}", path));
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    int err = 0;
    int fd = connect_unix(path, err);
    if (fd >= 0) return ControlClient(fd);
    bool not_up = err == ENOENT || err == ECONNREFUSED;
    if (!not_up || std::chrono::steady_clock::now() >= deadline) {
      if (err == EMFILE || err == ENFILE || err == ENOMEM)
        return unexpected(fmt::format("cannot create a socket: {}", std::strerror(err)));
      return unexpected(fmt::format("cannot reach kplugd at {}: {} (is kplugd running? --socket PATH picks another)",
                                    path, std::strerror(err)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

namespace {
int connect_unix(const std::string& path, int& error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return error = errno, -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    error = errno;
    close(fd);
    return -1;
  }
  return fd;
}
}  // namespace

ControlClient::~ControlClient() {
  if (fd_ >= 0) close(fd_);
}

Result<bool, std::string> ControlClient::send(const nlohmann::json& request) {
  std::string line = to_line(request);
  for (std::size_t done = 0; done < line.size();) {
    // MSG_NOSIGNAL: kplugd may have closed already (a "busy" answer); that is an error
    // to report, not a signal that kills us.
    ssize_t n = ::send(fd_, line.data() + done, line.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return unexpected(fmt::format("cannot send to kplugd: {}", std::strerror(errno)));
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

Result<nlohmann::json, std::string> ControlClient::receive(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      auto j = nlohmann::json::parse(buffer_.substr(0, nl), nullptr, false);
      buffer_.erase(0, nl + 1);
      if (j.is_discarded()) return unexpected(std::string("kplugd sent a line that is not JSON"));
      return j;
    }
    int wait_ms = -1;
    if (timeout.count() >= 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return unexpected(std::string("timed out waiting for kplugd"));
      wait_ms = static_cast<int>(left.count());
    }
    pollfd pfd{fd_, POLLIN, 0};
    int r = poll(&pfd, 1, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return unexpected(std::string("timed out waiting for kplugd"));
    char buf[65536];
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return unexpected(std::string("kplugd closed the connection"));
    buffer_.append(buf, static_cast<std::size_t>(n));
    if (buffer_.size() > max_reply_line)
      return unexpected(fmt::format("kplugd sent a line longer than {} MiB", max_reply_line >> 20));
  }
}

Result<nlohmann::json, std::string> ControlClient::request(const nlohmann::json& request,
                                                           std::chrono::milliseconds timeout) {
  if (auto sent = send(request); !sent) {
    // Refused at once: kplugd's one line (e.g. busy) says why better than EPIPE does.
    if (auto said = receive(std::chrono::milliseconds(200))) return said;
    return unexpected(sent.error());
  }
  return receive(timeout);
}

}  // namespace kplug::control
