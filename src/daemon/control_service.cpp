// What kplugd answers on its control socket (see the header).
#include "daemon/control_service.hpp"

#include <spdlog/spdlog.h>

namespace kplug {

ControlLimits control_limits(const DaemonOptions& options) {
  ControlLimits limits;
  limits.max_sessions = options.control_max_sessions;
  limits.max_line = options.control_max_line;
  limits.idle_timeout = options.control_idle_timeout;
  limits.max_output = options.control_max_output;
  return limits;
}

namespace {
constexpr auto settle_poll = std::chrono::milliseconds(50);
}  // namespace

ControlService::ControlService(boost::asio::io_context& io, std::unique_ptr<NamedTimers> timers, SystemView& system,
                               Clock clock, Hooks hooks)
    : io_(io), timers_(std::move(timers)), system_(system), clock_(std::move(clock)), hooks_(std::move(hooks)) {}

Result<bool, std::string> ControlService::open(const std::string& path, const ControlLimits& limits) {
  server_ = std::make_unique<ControlServer>(
      io_, [this](const std::shared_ptr<ControlSession>& s, const control::Request& r) { on_request(s, r); }, limits);
  return server_->listen(path);
}

void ControlService::on_request(const std::shared_ptr<ControlSession>& session, const control::Request& request) {
  using control::RequestKind;
  if (control::needs_root(request.kind) && session->peer_uid() != 0)
    return session->send(control::error_reply(
        fmt::format("'{}' needs root (you are uid {})", control::to_string(request.kind), session->peer_uid())));
  switch (request.kind) {
    case RequestKind::status: return session->send(control::to_json(hooks_.status()));
    case RequestKind::loaded: return session->send(control::to_json(hooks_.loaded()));
    case RequestKind::reload: return session->send(control::to_json(hooks_.reload()));
    case RequestKind::settle: {
      // parse_request bounds the timeout, so this conversion is always defined.
      auto deadline = clock_() + std::chrono::milliseconds(static_cast<long long>(request.timeout_s * 1000));
      session->set_waiting(true);
      settles_.push_back({session, system_.kernel_seqnum(), deadline, 0, request.critical});
      check_settles();
      if (!settles_.empty() && timers_->running() == 0) do_settle_poll();
      return;
    }
    case RequestKind::events:
      if (session->subscribed()) return session->send(control::error_reply("this session already receives events"));
      session->set_subscribed();
      subscribers_.push_back(session);
      return session->send(control::events_started());
  }
}

void ControlService::publish(const control::EventMessage& message) {
  std::erase_if(subscribers_, [](const auto& w) {
    auto s = w.lock();
    return !s || !s->open();
  });
  auto line = std::make_shared<const std::string>(control::to_line(control::to_json(message)));
  std::shared_ptr<const std::string> withheld;  // for peers that are not root, made once when needed
  for (auto& w : subscribers_) {
    auto s = w.lock();
    if (!s) continue;
    if (s->peer_uid() == 0) {
      s->send_line(line);
      continue;
    }
    if (!withheld)
      withheld = std::make_shared<const std::string>(control::to_line(control::to_json(control::for_unprivileged_peer(message))));
    s->send_line(withheld);
  }
}

void ControlService::do_settle_poll() {
  timers_->start("settle", settle_poll, [this] {
    if (stopping_) return;
    check_settles();
    if (!settles_.empty()) do_settle_poll();
  });
}

// Settled: idle (for a critical settle: the boot-critical part done), and every kernel
// event up to the SEQNUM read when the request came has been handled -- or, for numbers that went to another network namespace and never reach
// us, the socket has stayed empty for two polls.
void ControlService::check_settles() {
  if (settles_.empty()) return;
  Progress p = hooks_.progress();
  auto now = clock_();
  std::erase_if(settles_, [&](PendingSettle& s) {
    if (!s.session->open()) return true;
    bool done = s.critical ? p.critical_done : p.idle;
    if (done && p.unread_bytes == 0) ++s.quiet_checks;
    else s.quiet_checks = 0;
    if (done && (p.last_seqnum >= s.target_seqnum || s.quiet_checks >= 2)) {
      s.session->set_waiting(false);
      s.session->send(control::to_json(control::SettleReply{true, p.last_seqnum, ""}));
      return true;
    }
    if (now >= s.deadline) {
      s.session->set_waiting(false);
      s.session->send(control::to_json(
          control::SettleReply{false, 0, fmt::format("timed out before kplugd settled ({} in flight)", p.in_flight)}));
      return true;
    }
    return false;
  });
}

void ControlService::add_stats(control::StatusReply& r) const {
  if (!server_) return;
  const auto& c = server_->stats();
  r.counters["sessions_refused"] = c.sessions_refused;
  r.counters["subscribers_lagged"] = c.subscribers_lagged;
  r.counters["sessions_timed_out"] = c.sessions_timed_out;
  r.counters["lines_too_long"] = c.lines_too_long;
  r.counters["accept_errors"] = c.accept_errors;
  r.gauges["sessions"] = server_->sessions();
}

void ControlService::stop() {
  stopping_ = true;
  if (server_) server_->close();
  timers_->cancel_all();
  for (auto& s : settles_) s.session->send(control::error_reply("kplugd is stopping"));
  settles_.clear();
}

}  // namespace kplug
