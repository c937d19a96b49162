// The control socket: AF_UNIX stream, one JSON object per line each way (the protocol is
// in docs/control-protocol.md). This file owns the socket and the sessions; what a
// request means is the daemon's business, handed over with the peer's uid.
#pragma once

#include <sys/types.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/streambuf.hpp>
#include <nlohmann/json.hpp>

#include "uevent/result.hpp"

namespace kplug {

class ControlSession : public std::enable_shared_from_this<ControlSession> {
 public:
  using Handler = std::function<void(const std::shared_ptr<ControlSession>&, const nlohmann::json&)>;
  ControlSession(boost::asio::local::stream_protocol::socket socket, uid_t peer_uid, Handler handler);

  void start();
  // Queues one reply line; writes go out in order.
  void send(const nlohmann::json& message);
  void close();
  uid_t peer_uid() const { return peer_uid_; }
  bool open() const { return socket_.is_open(); }

 private:
  void do_read();
  void do_write();

  boost::asio::local::stream_protocol::socket socket_;
  uid_t peer_uid_;
  Handler handler_;
  boost::asio::streambuf input_{64 * 1024};  // a longer request line is refused
  std::deque<std::string> output_;
};

class ControlServer {
 public:
  ControlServer(boost::asio::io_context& io, ControlSession::Handler handler) : io_(io), handler_(std::move(handler)) {}
  ~ControlServer();

  // Binds PATH (creating its directory). A stale socket file is replaced; a live one
  // (another kplugd answering) is an error.
  Result<bool, std::string> listen(const std::string& path);
  void close();

 private:
  void do_accept();

  boost::asio::io_context& io_;
  ControlSession::Handler handler_;
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> acceptor_;
  std::vector<std::weak_ptr<ControlSession>> sessions_;  // closed with the server
  std::string path_;
};

}  // namespace kplug
