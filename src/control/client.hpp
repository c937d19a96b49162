// The client side of kplugd's control socket: one JSON object per line each way.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace kplug::control {

inline constexpr const char* default_control_socket = "/run/kplug/control.sock";
// A reply line longer than this is an error (a ledger of thousands of modules is far less).
inline constexpr std::size_t max_reply_line = 16u << 20;

class ControlClient {
 public:
  static Result<ControlClient, std::string> connect(const std::string& path);
  // The same, waiting up to WAIT for kplugd to come up: while the socket does not exist
  // yet or nobody listens on it (a stale file, or kplugd still starting), it tries again
  // every 50 ms. Other errors are reported at once.
  static Result<ControlClient, std::string> connect_within(const std::string& path, std::chrono::milliseconds wait);
  ControlClient(ControlClient&& other) noexcept : fd_(other.fd_), buffer_(std::move(other.buffer_)) { other.fd_ = -1; }
  ControlClient(const ControlClient&) = delete;
  ~ControlClient();

  Result<bool, std::string> send(const nlohmann::json& request);
  // The next line from kplugd; waits at most TIMEOUT (negative: forever).
  Result<nlohmann::json, std::string> receive(std::chrono::milliseconds timeout = std::chrono::milliseconds(-1));
  // send + receive, for one-answer requests.
  Result<nlohmann::json, std::string> request(const nlohmann::json& request,
                                              std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  explicit ControlClient(int fd) : fd_(fd) {}
  int fd_;
  std::string buffer_;
};

}  // namespace kplug::control
