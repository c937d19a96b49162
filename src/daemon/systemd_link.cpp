// Signals and the watchdog (see the header).
#include "daemon/systemd_link.hpp"

#include <csignal>

#include "daemon/notify.hpp"

namespace kplug {

SystemdLink::SystemdLink(boost::asio::io_context& io, Handlers handlers)
    : io_(io), handlers_(std::move(handlers)), signals_(io, SIGINT, SIGTERM, SIGHUP) {}

void SystemdLink::start() {
  do_wait_signal();
  if (auto interval = watchdog_interval()) {
    watchdog_timer_.emplace(io_, *interval / 2);
    do_watchdog();
  }
}

void SystemdLink::stop() {
  stopped_ = true;
  signals_.cancel();
  if (watchdog_timer_) watchdog_timer_->cancel();
}

void SystemdLink::do_wait_signal() {
  signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec || stopped_) return;
    if (signal != SIGHUP) return handlers_.stop(signal);
    handlers_.reload();
    do_wait_signal();
  });
}

void SystemdLink::do_watchdog() {
  notify_watchdog();
  watchdog_timer_->expires_after(*watchdog_interval() / 2);
  watchdog_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !stopped_) do_watchdog();
  });
}

}  // namespace kplug
