#include "daemon/metrics_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include <spdlog/spdlog.h>

namespace kplug {

std::string without_uptime(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line))
    if (line.rfind("kplug_uptime_seconds ", 0) != 0) out += line + '\n';
  return out;
}

MetricsFile::MetricsFile(boost::asio::io_context& io, std::string path, std::chrono::milliseconds interval,
                         Render render)
    : io_(io), path_(std::move(path)), interval_(interval), render_(std::move(render)) {}

void MetricsFile::start() {
  timer_.emplace(io_);
  write_if_changed();
  tick();
}

void MetricsFile::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (timer_) timer_->cancel();
  write_if_changed();  // the last counts
}

void MetricsFile::tick() {
  timer_->expires_after(interval_);
  timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    write_if_changed();
    tick();
  });
}

void MetricsFile::write_if_changed() {
  std::string text = render_();
  std::string compared = without_uptime(text);
  if (compared == last_ && writes_ > 0) return;
  std::string tmp = path_ + ".tmp";
  std::string error;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    error = std::strerror(errno);
  } else {
    std::size_t done = 0;
    while (done < text.size()) {
      ssize_t n = ::write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error = std::strerror(errno);
        break;
      }
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    if (error.empty() && std::rename(tmp.c_str(), path_.c_str()) != 0) error = std::strerror(errno);
    if (!error.empty()) ::unlink(tmp.c_str());
  }
  if (!error.empty()) {
    if (error != last_error_) spdlog::warn("cannot write the metrics file {}: {}", path_, error);
    last_error_ = error;
    return;
  }
  last_error_.clear();
  last_ = std::move(compared);
  ++writes_;
}

}  // namespace kplug
