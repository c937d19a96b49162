// kplugd's link with whoever runs it: SIGINT and SIGTERM stop it, SIGHUP reloads, and,
// under systemd, the watchdog is pinged at half its interval (WatchdogSec). Readiness and
// reloads are told through notify.hpp. A part of its own, so Daemon only wires it.
#pragma once

#include <functional>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

namespace kplug {

class SystemdLink {
 public:
  struct Handlers {
    std::function<void()> reload;  // SIGHUP
    std::function<void(int)> stop;  // SIGINT, SIGTERM: the signal
  };
  SystemdLink(boost::asio::io_context& io, Handlers handlers);
  // Waits for signals and starts the watchdog's pings (when the unit asks for them).
  void start();
  void stop();

 private:
  void do_wait_signal();
  void do_watchdog();
  boost::asio::io_context& io_;
  Handlers handlers_;
  boost::asio::signal_set signals_;
  std::optional<boost::asio::steady_timer> watchdog_timer_;
  bool stopped_ = false;
};

}  // namespace kplug
