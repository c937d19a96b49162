// Reading and sorting the uevent socket (see the header).
#include "daemon/netlink_intake.hpp"

#include <sys/ioctl.h>

#include <cstring>

#include <spdlog/spdlog.h>

#include "base/logging.hpp"
#include "base/text.hpp"

namespace kplug {

namespace {
// At most this many datagrams per wake-up, so signals and load results get their turn.
constexpr int max_reads_per_wakeup = 256;
}  // namespace

NetlinkIntake::NetlinkIntake(boost::asio::io_context& io, std::unique_ptr<UeventSource> source, Counters& counters,
                             Hooks hooks)
    : source_(std::move(source)), counters_(counters), hooks_(std::move(hooks)), io_(io) {}

NetlinkIntake::~NetlinkIntake() {
  // The source owns the descriptor (libnl the real one); asio must not close it too.
  if (socket_) socket_->release();
}

void NetlinkIntake::start() {
  if (!source_) return;
  socket_.emplace(io_, source_->fd());
  do_read();
}

void NetlinkIntake::release_idle_memory() {
  if (source_) source_->release_idle_memory();
}

void NetlinkIntake::stop() {
  stopping_ = true;
  if (socket_) socket_->cancel();
}

int NetlinkIntake::unread_bytes() const {
  int pending = 0;
  if (socket_) ioctl(source_->fd(), FIONREAD, &pending);
  return pending;
}

void NetlinkIntake::do_read() {
  socket_->async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    on_readable();
    if (!stopping_) do_read();
  });
}

void NetlinkIntake::on_readable() {
  for (int i = 0; i < max_reads_per_wakeup && !stopping_; ++i) {
    ReceiveOutcome outcome = source_->receive();
    if (std::holds_alternative<WouldBlock>(outcome)) return;
    on_receive(outcome);
  }
}

void NetlinkIntake::on_receive(ReceiveOutcome& outcome) {
  if (auto* r = std::get_if<Received>(&outcome)) {
    ++counters_.events_received;
    if (r->missed_before > 0) {
      counters_.missed_events += r->missed_before;
      if (overrun_gap_pending_) {
        // The kernel reports ENOBUFS before the datagrams queued ahead of the drop, so the
        // gap of an overrun shows up later, at the first event sent after it: the same
        // loss, already being rescanned for.
        log_fields(spdlog::level::warn,
                   {{"KPLUG_ACTION", "missed"}, {"SEQNUM", std::to_string(r->event.seqnum)},
                    {"KPLUG_MISSED", std::to_string(r->missed_before)}},
                   fmt::format("SEQNUM jumped to {}: {} events lost in the overrun", r->event.seqnum,
                               r->missed_before));
      } else if (spdlog::should_log(spdlog::level::debug)) {
        // SEQNUM is one counter for every network namespace: containers, PrivateNetwork=
        // units and any user's `unshare -rn` take numbers whose events never come here.
        // Only ENOBUFS means loss; a gap alone is counted and nothing more.
        spdlog::debug("SEQNUM jumped to {}: {} numbers went to events of other network namespaces", r->event.seqnum,
                      r->missed_before);
      }
      overrun_gap_pending_ = false;
    }
    hooks_.event(std::move(r->event));
  } else if (auto* rej = std::get_if<Rejected>(&outcome)) {
    std::string reason = to_string(rej->reason);
    if (rej->reason == RejectReason::malformed) reason += ":" + rej->detail.substr(0, rej->detail.find(':'));
    ++counters_.rejected[reason];
    LogFields fields{{"KPLUG_ACTION", "reject"}, {"KPLUG_REASON", reason}};
    std::string what;
    if (!rej->shape.empty()) {
      ++counters_.forged_shapes[rej->shape];
      fields.emplace_back("KPLUG_SHAPE", rej->shape);
      what = rej->shape == "well_formed"
                 ? fmt::format("; a well-formed forgery claiming {}", printable(rej->claims, 200))
                 : fmt::format("; malformed too ({}: {})", rej->shape, printable(rej->claims, 200));
    }
    log_fields(spdlog::level::warn, fields,
               fmt::format("rejected a {}-byte datagram ({}): {}{}", rej->size, to_string(rej->reason),
                           printable(rej->detail, 300), what));
  } else if (std::holds_alternative<Overrun>(outcome)) {
    ++counters_.overruns;
    overrun_gap_pending_ = true;
    log_fields(spdlog::level::err, {{"KPLUG_ACTION", "overrun"}},
               "receive buffer overrun (ENOBUFS): the kernel dropped uevents; sysfs will be rescanned "
               "(raise --receive-buffer if this repeats)");
    hooks_.overrun();
  } else if (auto* f = std::get_if<ReceiveFailed>(&outcome)) {
    spdlog::error("reading the uevent socket failed: {}", std::strerror(f->error));
    hooks_.failed();
  }
}

}  // namespace kplug
