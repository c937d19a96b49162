// Accepting control connections within bounds, and framing their JSON lines.
#include "daemon/control_server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace kplug {

namespace local = boost::asio::local;

namespace {

using SteadyClock = std::chrono::steady_clock;

// At most this many connections are taken per wake-up, so events get their turn.
constexpr int max_accepts_per_wakeup = 64;

double seconds(std::chrono::milliseconds d) { return static_cast<double>(d.count()) / 1000.0; }

}  // namespace

// ---------------------------------------------------------------- a session

ControlSession::ControlSession(local::stream_protocol::socket socket, uid_t peer_uid, Handler handler,
                               const ControlLimits& limits, ControlStats& stats)
    : socket_(std::move(socket)),
      peer_uid_(peer_uid),
      handler_(std::move(handler)),
      limits_(limits),
      stats_(stats),
      reader_(limits.max_line),
      timer_(socket_.get_executor()),
      last_request_(SteadyClock::now()) {}

void ControlSession::start() {
  do_read();
  do_idle_check();
}

void ControlSession::do_read() {
  socket_.async_read_some(boost::asio::buffer(read_buffer_),
                          [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                            if (self->closed_ || self->closing_) return;
                            if (ec) return self->close();  // the peer left, or we closed
                            std::vector<std::string> lines;
                            bool fits = self->reader_.feed({self->read_buffer_, n}, lines);
                            self->on_lines(lines);
                            if (!fits) {
                              ++self->stats_.lines_too_long;
                              return self->send_and_close(control::error_reply(fmt::format(
                                  "request line longer than {} KiB; closing", self->limits_.max_line / 1024)));
                            }
                            if (!self->closed_ && !self->closing_) self->do_read();
                          });
}

void ControlSession::on_lines(std::vector<std::string>& lines) {
  for (auto& line : lines) {
    if (closed_ || closing_) return;
    last_request_ = SteadyClock::now();
    auto request = control::parse_request_line(line);
    if (!request) send(control::error_reply(request.error()));
    else handler_(shared_from_this(), *request);
  }
}

void ControlSession::send(const nlohmann::json& message) {
  if (closed_ || closing_) return;
  send_line(std::make_shared<const std::string>(control::to_line(message)));
}

void ControlSession::send_line(std::shared_ptr<const std::string> line) {
  if (closed_ || closing_) return;
  // One reply larger than the cap (a huge ledger) still goes out when nothing else waits.
  if (output_bytes_ == 0 || output_bytes_ + line->size() <= limits_.max_output) return push(std::move(line));
  if (!subscribed_) {
    // Replies pile up unread: a client pipelining requests it never reads.
    return send_and_close(control::error_reply("too many unread replies; closing"));
  }
  // A subscriber that fell behind: what it has not been sent yet is dropped (the line
  // being written stays until its write completes), then one last line says how much.
  ++stats_.subscribers_lagged;
  std::uint64_t dropped = 1;
  while (output_.size() > (writing_ ? 1u : 0u)) {
    output_bytes_ -= output_.back()->size();
    output_.pop_back();
    ++dropped;
  }
  send_and_close(control::lagged(dropped));
}

void ControlSession::push(std::shared_ptr<const std::string> line) {
  output_bytes_ += line->size();
  output_.push_back(std::move(line));
  if (!writing_) do_write();
}

void ControlSession::send_and_close(const nlohmann::json& message) {
  if (closed_ || closing_) return;
  push(std::make_shared<const std::string>(control::to_line(message)));
  closing_ = true;
  // A peer that never reads would keep the last write pending forever.
  timer_.expires_after(limits_.linger);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->close();
  });
}

void ControlSession::do_write() {
  writing_ = true;
  boost::asio::async_write(socket_, boost::asio::buffer(*output_.front()),
                           [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                             self->writing_ = false;
                             // Closed meanwhile: the queue stays as it is until the session goes.
                             if (self->closed_) return;
                             if (ec) return self->close();
                             self->output_bytes_ -= self->output_.front()->size();
                             self->output_.pop_front();
                             if (!self->output_.empty()) self->do_write();
                             else if (self->closing_) self->close();
                           });
}

void ControlSession::do_idle_check() {
  timer_.expires_at(last_request_ + limits_.idle_timeout);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->closed_ || self->closing_) return;
    auto now = SteadyClock::now();
    if (self->subscribed_ || self->waiting_) {
      self->last_request_ = now;
    } else if (now - self->last_request_ >= self->limits_.idle_timeout) {
      ++self->stats_.sessions_timed_out;
      return self->send_and_close(control::error_reply(
          fmt::format("no complete request for {:g} s; closing", seconds(self->limits_.idle_timeout))));
    }
    self->do_idle_check();
  });
}

void ControlSession::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
  timer_.cancel();
}

// ---------------------------------------------------------------- the server

ControlServer::~ControlServer() { close(); }

Result<bool, std::string> ControlServer::listen(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return unexpected(fmt::format("the control socket path '{}' is empty or too long", path));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  std::error_code fec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), fec);
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live = probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (probe >= 0) ::close(probe);
    if (live) return unexpected(fmt::format("{} is in use: is another kplugd running?", path));
    if (!S_ISSOCK(st.st_mode))
      return unexpected(fmt::format("{} exists and is not a socket; remove it or pick another --control-socket", path));
    unlink(path.c_str());  // stale: left by a kplugd that died
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return unexpected(fmt::format("cannot create the control socket: {}", std::strerror(errno)));
  auto fail = [&](const char* what) {
    int err = errno;
    ::close(fd);
    return unexpected(fmt::format("cannot {} {}: {}", what, path, std::strerror(err)));
  };
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) return fail("bind");
  if (::listen(fd, 64) < 0) return fail("listen on");
  // Anyone may ask for status; requests that change things check the peer's uid. The
  // mode is set on the socket itself, never through a link planted at the path.
  if (fchmodat(AT_FDCWD, path.c_str(), 0666, AT_SYMLINK_NOFOLLOW) < 0) return fail("set the mode of");
  acceptor_ = std::make_unique<local::stream_protocol::acceptor>(io_);
  boost::system::error_code ec;
  acceptor_->assign(local::stream_protocol(), fd, ec);
  if (ec) {
    ::close(fd);
    acceptor_.reset();
    return unexpected(fmt::format("cannot listen on {}: {}", path, ec.message()));
  }
  path_ = path;
  do_accept();
  return true;
}

void ControlServer::do_accept() {
  acceptor_->async_wait(local::stream_protocol::acceptor::wait_read, [this](const boost::system::error_code& ec) {
    if (!ec && acceptor_) on_acceptable();
  });
}

void ControlServer::on_acceptable() {
  for (int i = 0; i < max_accepts_per_wakeup; ++i) {
    int fd = ::accept4(acceptor_->native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
      retry_delay_ = std::chrono::milliseconds(0);
      on_connection(fd);
      continue;
    }
    int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) return do_accept();
    if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
    // EMFILE, ENFILE, ENOBUFS, ENOMEM: the connection waits in the backlog; try again
    // shortly. Accepting never stops for good.
    ++stats_.accept_errors;
    auto now = SteadyClock::now();
    if (now - last_accept_warning_ >= std::chrono::seconds(10)) {
      last_accept_warning_ = now;
      spdlog::warn("control socket: cannot accept a connection: {}{}; trying again shortly ({} session(s) open)",
                   std::strerror(err), err == EMFILE || err == ENFILE ? " (out of file descriptors)" : "", sessions());
    }
    return do_accept_later();
  }
  // Others waiting: let the loop run events first.
  boost::asio::post(io_, [this] {
    if (acceptor_) on_acceptable();
  });
}

void ControlServer::do_accept_later() {
  retry_delay_ = std::clamp(retry_delay_ * 2, std::chrono::milliseconds(50), std::chrono::milliseconds(1000));
  retry_timer_.expires_after(retry_delay_);
  retry_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && acceptor_) on_acceptable();
  });
}

void ControlServer::on_connection(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  uid_t uid = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? cred.uid : ~0u;
  std::erase_if(sessions_, [](const auto& w) {
    auto s = w.lock();
    return !s || !s->open();
  });
  std::size_t limit = limits_.max_sessions + (uid == 0 ? limits_.root_reserve : 0);
  if (sessions() >= limit) {
    ++stats_.sessions_refused;
    std::string busy = control::to_line(control::error_reply(
        fmt::format("busy: kplugd serves at most {} sessions at once; try again later", limits_.max_sessions)));
    [[maybe_unused]] auto sent = ::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::close(fd);
    return;
  }
  local::stream_protocol::socket socket(io_);
  boost::system::error_code ec;
  socket.assign(local::stream_protocol(), fd, ec);
  if (ec) {
    ::close(fd);
    return;
  }
  auto session = std::make_shared<ControlSession>(std::move(socket), uid, handler_, limits_, stats_);
  sessions_.push_back(session);
  session->start();
}

std::size_t ControlServer::sessions() const {
  std::size_t n = 0;
  for (const auto& w : sessions_)
    if (auto s = w.lock(); s && s->open()) ++n;
  return n;
}

void ControlServer::close() {
  for (auto& w : sessions_)
    if (auto s = w.lock()) s->close();
  sessions_.clear();
  retry_timer_.cancel();
  if (!acceptor_) return;
  boost::system::error_code ec;
  acceptor_->close(ec);
  acceptor_.reset();
  unlink(path_.c_str());
}

}  // namespace kplug
