// What the daemon answers on its control socket: status, loaded, reload, settle, events.
#include <sys/ioctl.h>

#include <fstream>

#include <spdlog/spdlog.h>

#include "daemon/control_json.hpp"
#include "daemon/daemon.hpp"

namespace kplug {

namespace {

constexpr auto settle_poll = std::chrono::milliseconds(50);

std::uint64_t kernel_seqnum() {
  std::ifstream in("/sys/kernel/uevent_seqnum");
  std::uint64_t n = 0;
  in >> n;
  return n;
}

}  // namespace

void Daemon::on_control(const std::shared_ptr<ControlSession>& session, const nlohmann::json& request) {
  std::string what = request.value("request", "");
  if (request_needs_root(what) && session->peer_uid() != 0)
    return session->send({{"ok", false}, {"error", fmt::format("'{}' needs root (you are uid {})", what, session->peer_uid())}});
  if (what == "status") {
    session->send(status_json());
  } else if (what == "loaded") {
    session->send({{"ok", true}, {"loaded", ledger_json(ledger_)}});
  } else if (what == "reload") {
    Diagnostics problems = reload();
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& d : problems) errors.push_back(d.to_string());
    session->send({{"ok", problems.empty()}, {"errors", errors}, {"rules", rules_->rules.size()}});
  } else if (what == "settle") {
    double timeout = request.value("timeout", 120.0);
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(static_cast<long long>(std::max(0.0, timeout) * 1000));
    settles_.push_back({session, kernel_seqnum(), deadline, 0});
    check_settles();
    if (!settles_.empty() && !settle_timer_) {
      settle_timer_.emplace(io_);
      do_settle_check();
    }
  } else if (what == "events") {
    subscribers_.push_back(session);
    session->send({{"ok", true}, {"stream", "events"}});
  } else {
    session->send({{"ok", false},
                   {"error", fmt::format("unknown request '{}' (status, settle, reload, loaded, events)", what)}});
  }
}

nlohmann::json Daemon::status_json() const {
  auto uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return {{"ok", true},
          {"version", KPLUG_VERSION},
          {"uptime_s", uptime},
          {"ready", ready_},
          {"dry_run", options_.dry_run},
          {"counters", counters_json(counters_)},
          {"cache_hits", resolver_->cache_hits()},
          {"cache_misses", resolver_->cache_misses()},
          {"in_flight", in_flight_},
          {"queue_depth", queue_.waiting()},
          {"events_in_progress", queue_.running()},
          {"loader_threads", loaders_.size()},
          {"slow_loads", slow_json()},
          {"pending_unloads", unload_timers_.size()},
          {"ledger_modules", ledger_.entries().size()},
          {"rules", rules_->rules.size()},
          {"last_seqnum", last_seqnum_}};
}

nlohmann::json Daemon::slow_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [module, info] : slow_loads_)
    out.push_back({{"module", module},
                   {"devpath", info.first},
                   {"running_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - info.second).count()}});
  return out;
}

void Daemon::publish(const nlohmann::json& message) {
  std::erase_if(subscribers_, [](const auto& w) {
    auto s = w.lock();
    return !s || !s->open();
  });
  for (auto& w : subscribers_)
    if (auto s = w.lock()) s->send(message);
}

void Daemon::do_settle_check() {
  settle_timer_->expires_after(settle_poll);
  settle_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    check_settles();
    if (settles_.empty()) settle_timer_.reset();
    else do_settle_check();
  });
}

// Settled: coldplug done, nothing in the loader's hands, and every kernel event up to the
// SEQNUM read when the request came has been handled -- or, for numbers that went to
// another network namespace and never reach us, the socket has stayed empty for two polls.
void Daemon::check_settles() {
  if (settles_.empty()) return;
  int pending_bytes = 0;
  if (socket_) ioctl(source_->fd(), FIONREAD, &pending_bytes);
  bool idle = ready_ && in_flight_ == 0 && !coldplug_running_ && !rescan_timer_;
  auto now = std::chrono::steady_clock::now();
  std::erase_if(settles_, [&](PendingSettle& s) {
    if (!s.session->open()) return true;
    if (idle && pending_bytes == 0) ++s.quiet_checks;
    else s.quiet_checks = 0;
    if (idle && (last_seqnum_ >= s.target_seqnum || s.quiet_checks >= 2)) {
      s.session->send({{"ok", true}, {"settled", true}, {"seqnum", last_seqnum_}});
      return true;
    }
    if (now >= s.deadline) {
      s.session->send({{"ok", false}, {"error", "timed out before kplugd settled"}, {"in_flight", in_flight_}});
      return true;
    }
    return false;
  });
}

}  // namespace kplug
