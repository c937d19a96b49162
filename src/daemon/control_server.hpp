// The control socket: AF_UNIX stream, one JSON object per line each way (the protocol is
// in docs/control-protocol.md, its types in control/protocol.hpp). This file owns the
// socket and the sessions and keeps every client within bounds: how many sessions, how
// long a line, how long a session may sit idle, how much unread output it may hold. What
// a request means is the daemon's business, handed over decoded, with the peer's uid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "control/line_reader.hpp"
#include "control/protocol.hpp"
#include "base/result.hpp"

namespace kplug {

struct ControlLimits {
  std::size_t max_sessions = 64;     // at once, for non-root peers; beyond: "busy"
  std::size_t root_reserve = 8;      // more sessions that only root may take
  std::size_t max_line = 64 * 1024;  // a longer request line: one error line, then closed
  std::chrono::milliseconds idle_timeout{30000};  // no complete request for this long: closed
  std::size_t max_output = 256 * 1024;  // unread reply bytes; a subscriber past it is dropped
  std::chrono::milliseconds linger{2000};  // how long a closing session may take to drain
};

// What the server counts, for `kplug status`.
struct ControlStats {
  std::uint64_t sessions_refused = 0;    // answered "busy"
  std::uint64_t subscribers_lagged = 0;  // dropped for falling behind
  std::uint64_t sessions_timed_out = 0;  // idle too long
  std::uint64_t lines_too_long = 0;
  std::uint64_t accept_errors = 0;       // EMFILE, ENFILE, ENOMEM ... (accepting resumes)
};

class ControlServer;

class ControlSession : public std::enable_shared_from_this<ControlSession> {
 public:
  using Handler = std::function<void(const std::shared_ptr<ControlSession>&, const control::Request&)>;
  ControlSession(boost::asio::local::stream_protocol::socket socket, uid_t peer_uid, Handler handler,
                 const ControlLimits& limits, ControlStats& stats);

  void start();
  // Queues one line; writes go out in order. Past max_output a subscriber is sent
  // {"lagged":N} and dropped; any other session is closed.
  void send(const nlohmann::json& message);
  // The same for a line already serialised (with its newline), shared by every
  // subscriber it goes to: a stream costs one copy of each message, not one per session.
  void send_line(std::shared_ptr<const std::string> line);
  // Sends MESSAGE as the last line, then closes once it is written (or after `linger`).
  void send_and_close(const nlohmann::json& message);
  void close();
  uid_t peer_uid() const { return peer_uid_; }
  bool open() const { return !closed_; }
  // A subscriber (events) or a session waiting for an answer (settle) is not idle.
  void set_subscribed() { subscribed_ = true; }
  bool subscribed() const { return subscribed_; }
  void set_waiting(bool waiting) { waiting_ = waiting; }

 private:
  void do_read();
  void do_write();
  void do_idle_check();
  void on_lines(std::vector<std::string>& lines);
  void push(std::shared_ptr<const std::string> line);

  boost::asio::local::stream_protocol::socket socket_;
  uid_t peer_uid_;
  Handler handler_;
  const ControlLimits& limits_;
  ControlStats& stats_;
  control::LineReader reader_;
  char read_buffer_[4096];
  // The front line is being written while writing_; it stays until its completion.
  std::deque<std::shared_ptr<const std::string>> output_;
  std::size_t output_bytes_ = 0;
  bool writing_ = false;
  bool closing_ = false;  // the last line is queued: read nothing more
  bool closed_ = false;
  bool subscribed_ = false;
  bool waiting_ = false;
  std::uint64_t dropped_ = 0;
  boost::asio::steady_timer timer_;  // idle check, then the linger limit when closing
  std::chrono::steady_clock::time_point last_request_;
};

class ControlServer {
 public:
  ControlServer(boost::asio::io_context& io, ControlSession::Handler handler, ControlLimits limits = {})
      : io_(io), handler_(std::move(handler)), limits_(limits), retry_timer_(io) {}
  ~ControlServer();

  // Binds PATH (creating its directory), mode 0666 set without following links. A stale
  // socket file is replaced; a live one (another kplugd answering) is an error.
  Result<bool, std::string> listen(const std::string& path);
  void close();

  std::size_t sessions() const;
  const ControlStats& stats() const { return stats_; }

 private:
  void do_accept();
  void on_acceptable();
  void do_accept_later();
  void on_connection(int fd);

  boost::asio::io_context& io_;
  ControlSession::Handler handler_;
  ControlLimits limits_;
  ControlStats stats_;
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> acceptor_;
  std::vector<std::weak_ptr<ControlSession>> sessions_;  // closed with the server
  std::string path_;
  boost::asio::steady_timer retry_timer_;  // accepting again after running out of descriptors
  std::chrono::milliseconds retry_delay_{0};
  std::chrono::steady_clock::time_point last_accept_warning_{};
};

}  // namespace kplug
