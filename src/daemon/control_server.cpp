// Accepting control connections and framing their JSON lines.
#include "daemon/control_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <istream>

#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

namespace kplug {

namespace local = boost::asio::local;

ControlSession::ControlSession(local::stream_protocol::socket socket, uid_t peer_uid, Handler handler)
    : socket_(std::move(socket)), peer_uid_(peer_uid), handler_(std::move(handler)) {}

void ControlSession::start() { do_read(); }

void ControlSession::do_read() {
  boost::asio::async_read_until(socket_, input_, '\n',
                                [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                                  if (ec) {
                                    if (ec == boost::asio::error::not_found)
                                      self->send({{"ok", false}, {"error", "request line longer than 64 KiB"}});
                                    return self->close();
                                  }
                                  std::istream in(&self->input_);
                                  std::string line;
                                  std::getline(in, line);
                                  auto request = nlohmann::json::parse(line, nullptr, false);
                                  if (request.is_discarded() || !request.is_object())
                                    self->send({{"ok", false}, {"error", "a request is one JSON object per line"}});
                                  else
                                    self->handler_(self, request);
                                  self->do_read();
                                });
}

void ControlSession::send(const nlohmann::json& message) {
  if (!socket_.is_open()) return;
  output_.push_back(message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  if (output_.size() == 1) do_write();
}

void ControlSession::do_write() {
  boost::asio::async_write(socket_, boost::asio::buffer(output_.front()),
                           [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                             if (ec) return self->close();
                             self->output_.pop_front();
                             if (!self->output_.empty()) self->do_write();
                           });
}

void ControlSession::close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
  output_.clear();
}

ControlServer::~ControlServer() { close(); }

Result<bool, std::string> ControlServer::listen(const std::string& path) {
  std::error_code fec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), fec);
  if (std::filesystem::exists(path, fec)) {
    local::stream_protocol::socket probe(io_);
    boost::system::error_code ec;
    probe.connect(local::stream_protocol::endpoint(path), ec);
    if (!ec) return unexpected(fmt::format("{} is in use: is another kplugd running?", path));
    std::filesystem::remove(path, fec);  // stale: left by a kplugd that died
  }
  auto acceptor = std::make_unique<local::stream_protocol::acceptor>(io_);
  boost::system::error_code ec;
  acceptor->open(local::stream_protocol(), ec);
  if (!ec) acceptor->bind(local::stream_protocol::endpoint(path), ec);
  if (!ec) acceptor->listen(16, ec);
  if (ec) return unexpected(fmt::format("cannot listen on {}: {}", path, ec.message()));
  // Anyone may ask for status; requests that change things check the peer's uid.
  chmod(path.c_str(), 0666);
  acceptor_ = std::move(acceptor);
  path_ = path;
  do_accept();
  return true;
}

void ControlServer::do_accept() {
  acceptor_->async_accept([this](const boost::system::error_code& ec, local::stream_protocol::socket socket) {
    if (ec) return;  // closed
    ucred cred{};
    socklen_t len = sizeof cred;
    uid_t uid = getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? cred.uid : ~0u;
    auto session = std::make_shared<ControlSession>(std::move(socket), uid, handler_);
    std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
    sessions_.push_back(session);
    session->start();
    do_accept();
  });
}

void ControlServer::close() {
  for (auto& w : sessions_)
    if (auto s = w.lock()) s->close();
  sessions_.clear();
  if (!acceptor_) return;
  boost::system::error_code ec;
  acceptor_->close(ec);
  acceptor_.reset();
  std::error_code fec;
  std::filesystem::remove(path_, fec);
}

}  // namespace kplug
