// What the daemon answers on its control socket: status, loaded, reload, settle, events.
#include <sys/ioctl.h>

#include <cstdlib>

#include <spdlog/spdlog.h>

#include "base/file.hpp"
#include "daemon/control_json.hpp"
#include "daemon/daemon.hpp"
#include "daemon/ledger_store.hpp"

namespace kplug {

namespace {

constexpr auto settle_poll = std::chrono::milliseconds(50);

std::uint64_t kernel_seqnum() {
  auto text = read_regular_file("/sys/kernel/uevent_seqnum", 8192);
  return text ? std::strtoull(text->c_str(), nullptr, 10) : 0;
}

}  // namespace

void Daemon::on_control(const std::shared_ptr<ControlSession>& session, const control::Request& request) {
  using control::RequestKind;
  if (control::needs_root(request.kind) && session->peer_uid() != 0)
    return session->send(control::error_reply(
        fmt::format("'{}' needs root (you are uid {})", control::to_string(request.kind), session->peer_uid())));
  switch (request.kind) {
    case RequestKind::status: return session->send(control::to_json(status_reply()));
    case RequestKind::loaded: return session->send(control::to_json(control::LoadedReply{to_wire(ledger_)}));
    case RequestKind::reload: {
      control::ReloadReply reply;
      for (const auto& d : reload()) reply.errors.push_back(d.to_string());
      reply.ok = reply.errors.empty();
      reply.rules = rules_->rules.size();
      return session->send(control::to_json(reply));
    }
    case RequestKind::settle: {
      // parse_request bounds the timeout, so this conversion is always defined.
      auto deadline = std::chrono::steady_clock::now() +
                      std::chrono::milliseconds(static_cast<long long>(request.timeout_s * 1000));
      session->set_waiting(true);
      settles_.push_back({session, kernel_seqnum(), deadline, 0});
      check_settles();
      if (!settles_.empty() && !settle_timer_) {
        settle_timer_.emplace(io_);
        do_settle_check();
      }
      return;
    }
    case RequestKind::events:
      if (session->subscribed()) return session->send(control::error_reply("this session already receives events"));
      session->set_subscribed();
      subscribers_.push_back(session);
      return session->send(control::events_started());
  }
}

control::StatusReply Daemon::status_reply() const {
  control::StatusReply r;
  r.version = KPLUG_VERSION;
  r.uptime_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  r.ready = ready_;
  r.dry_run = options_.dry_run;
  r.counters = counter_values(counters_);
  r.rejected_by_reason = counters_.rejected;
  r.forged_by_shape = counters_.forged_shapes;
  if (control_) {
    const auto& c = control_->stats();
    r.counters["sessions_refused"] = c.sessions_refused;
    r.counters["subscribers_lagged"] = c.subscribers_lagged;
    r.counters["sessions_timed_out"] = c.sessions_timed_out;
    r.counters["lines_too_long"] = c.lines_too_long;
    r.counters["accept_errors"] = c.accept_errors;
    r.gauges["sessions"] = control_->sessions();
  }
  r.counters["index_reloads"] = resolver_->reloads();
  r.gauges["cache_hits"] = resolver_->cache_hits();
  r.gauges["cache_misses"] = resolver_->cache_misses();
  r.gauges["in_flight"] = in_flight_;
  r.gauges["queue_depth"] = queue_.waiting();
  r.gauges["events_in_progress"] = queue_.running();
  r.gauges["loader_threads"] = loaders_.size();
  r.gauges["pending_unloads"] = unload_timers_.size();
  r.gauges["ledger_modules"] = ledger_.entries().size();
  r.gauges["rules"] = rules_->rules.size();
  r.gauges["last_seqnum"] = last_seqnum_;
  r.gauges["commands_running"] = commands_.running();
  r.gauges["commands_queued"] = commands_.queued();
  auto now = std::chrono::steady_clock::now();
  for (const auto& [module, info] : slow_loads_)
    r.slow_loads.push_back({module, info.first, std::chrono::duration<double>(now - info.second).count()});
  return r;
}

void Daemon::publish(const nlohmann::json& message) {
  std::erase_if(subscribers_, [](const auto& w) {
    auto s = w.lock();
    return !s || !s->open();
  });
  auto line = std::make_shared<const std::string>(control::to_line(message));
  for (auto& w : subscribers_)
    if (auto s = w.lock()) s->send_line(line);
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
      s.session->set_waiting(false);
      s.session->send(control::to_json(control::SettleReply{true, last_seqnum_, ""}));
      return true;
    }
    if (now >= s.deadline) {
      s.session->set_waiting(false);
      s.session->send(control::to_json(
          control::SettleReply{false, 0, fmt::format("timed out before kplugd settled ({} in flight)", in_flight_)}));
      return true;
    }
    return false;
  });
}

}  // namespace kplug
