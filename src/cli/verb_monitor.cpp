// `kplug monitor`: print live kernel uevents, every property, as text blocks or JSON lines.
// Only datagrams the kernel itself sent are shown; forged ones are reported on stderr.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <iostream>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "base/text.hpp"
#include "control/client.hpp"
#include "control/protocol.hpp"
#include "cli/verbs.hpp"
#include "sysfs/system_view.hpp"
#include "uevent/netlink_source.hpp"
#include "uevent/record.hpp"

namespace kplug::cli {

namespace {

struct MonitorOptions {
  bool json = false;
  bool decisions = false;
  std::string socket = default_control_socket;
  std::vector<std::string> subsystems;
  std::int64_t count = 0;  // 0 = forever (--count takes 1 or more)
  std::string record;     // --record FILE
  bool replace = false;   // --replace: an existing FILE of the caller's is replaced
  std::uint64_t max_size = 0;  // --max-size: the recording ends at this many bytes (0 = no limit)
  bool coldplug = false;  // the present devices first, as coldplug events
  std::uint32_t groups = 1;  // --group MASK: a loader's rebroadcasts instead of the kernel's group
};

volatile sig_atomic_t interrupted = 0;

// SIGINT and SIGTERM end the loop (poll returns EINTR) so the recording is closed and
// counted; a second one kills as usual.
void stop_on_signals() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { interrupted = 1; };
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// The --record file: a header line, then one JSON line an event, each flushed, so a
// recording stopped any way is a valid stream up to its last line.
class Recording {
 public:
  // Created exclusively, never through a link or into a FIFO: root recording into a
  // directory another user can write must not write where a planted link points. REPLACE:
  // an existing regular file of the caller's is removed first (never written through).
  static Result<std::unique_ptr<Recording>, std::string> open(const std::string& path, bool replace,
                                                              std::uint64_t max_size) {
    struct stat st {};
    if (replace && ::lstat(path.c_str(), &st) == 0) {
      if (!S_ISREG(st.st_mode))
        return unexpected(fmt::format("{} exists and is not a regular file; --replace replaces only a file", path));
      if (st.st_uid != ::geteuid())
        return unexpected(fmt::format("{} belongs to uid {}; --replace replaces only a file of yours", path,
                                      st.st_uid));
      if (::unlink(path.c_str()) < 0 && errno != ENOENT)
        return unexpected(fmt::format("cannot replace {}: {}", path, std::strerror(errno)));
    }
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST)
      return unexpected(fmt::format("{} exists already; choose a new file, or --replace to replace it", path));
    if (fd < 0) return unexpected(fmt::format("cannot create {}: {}", path, std::strerror(errno)));
    std::unique_ptr<Recording> r(new Recording(fd, path, max_size));
    utsname u{};
    uname(&u);
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    RecordHeader h;
    h.kernel = u.release;
    h.hostname = host;
    h.started = static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
    for (const auto& m : read_live_modules()) h.modules.push_back(m);
    if (auto w = r->write(record_header_line(h)); !w) return unexpected(w.error());
    return r;
  }
  ~Recording() { ::close(fd_); }
  Result<bool, std::string> add(const Uevent& ev, double timestamp) {
    auto w = write(record_event_line(ev, timestamp));
    if (w && !full_) ++events_;
    return w;
  }
  std::size_t events() const { return events_; }
  const std::string& path() const { return path_; }
  // The next line would take the file past --max-size: the recording ends before it.
  bool full() const { return full_; }

 private:
  Recording(int fd, std::string path, std::uint64_t max_size)
      : fd_(fd), path_(std::move(path)), max_size_(max_size) {}
  Result<bool, std::string> write(std::string line) {
    line += '\n';
    if (max_size_ && written_ + line.size() > max_size_) {
      full_ = true;
      return true;
    }
    written_ += line.size();
    for (std::size_t done = 0; done < line.size();) {
      ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return unexpected(fmt::format("cannot write {}: {}", path_, std::strerror(errno)));
      done += static_cast<std::size_t>(n);
    }
    return true;
  }
  int fd_;
  std::string path_;
  std::uint64_t max_size_;
  std::uint64_t written_ = 0;
  bool full_ = false;
  std::size_t events_ = 0;
};

double monotonic_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Every value a device sets (HID_NAME, NAME, ...) escaped: a terminal gets no escape
// sequence from a device. --json keeps the raw bytes, JSON-escaped.
std::string as_text(const Uevent& ev, double timestamp) {
  std::string out = fmt::format("{}[{:.6f}] {:<8} {} ({})\n", ev.source == EventSource::kernel ? "KERNEL" : "COLDPLUG",
                                timestamp, printable(ev.action, 64), printable(ev.devpath), printable(ev.subsystem, 256));
  for (const auto& [k, v] : ev.properties) out += printable(k, 256) + "=" + printable(v) + "\n";
  return out + "\n";
}

int run_decisions(const MonitorOptions& o) {
  auto client = ControlClient::connect(o.socket);
  if (!client) return std::cerr << "kplug monitor: " << client.error() << '\n', exit_cannot;
  auto started = client->request(control::to_json(control::Request{control::RequestKind::events}));
  if (!started) return std::cerr << "kplug monitor: " << started.error() << '\n', exit_cannot;
  if (auto error = control::reply_error(*started); !error.empty())
    return std::cerr << "kplug monitor: " << error << '\n', exit_cannot;
  std::size_t shown = 0;
  for (;;) {
    auto m = client->receive();
    if (!m) return std::cerr << "kplug monitor: " << m.error() << '\n', exit_cannot;
    auto text = control::describe_stream_message(*m);
    if (!text) return std::cerr << "kplug monitor: " << text.error() << '\n', exit_cannot;
    if (m->contains("lagged")) return std::cerr << "kplug monitor: " << *text << '\n', exit_cannot;
    if (!o.subsystems.empty() && m->contains("subsystem")) {
      const auto& sub = (*m)["subsystem"];
      if (!sub.is_string() || std::find(o.subsystems.begin(), o.subsystems.end(), sub.get<std::string>()) ==
                                  o.subsystems.end())
        continue;
    }
    std::cout << (o.json ? control::to_line(*m) : *text + "\n") << std::flush;
    if (o.count > 0 && ++shown >= static_cast<std::size_t>(o.count)) return exit_ok;
  }
}

// One run of `kplug monitor` on the kernel's events: what it shows, what it records.
class KernelMonitor {
 public:
  KernelMonitor(const MonitorOptions& o, std::unique_ptr<Recording> recording)
      : o_(o), recording_(std::move(recording)), wanted_(o.subsystems.begin(), o.subsystems.end()) {}

  int run(UeventSource& source) {
    if (!o_.json) std::cout << "monitoring kernel uevents (Ctrl-C to stop)\n\n" << std::flush;
    if (o_.coldplug)
      if (auto failed = coldplug()) return *failed;
    if (recording_) std::cerr << "kplug monitor: recording to " << recording_->path() << " (Ctrl-C to stop)\n";
    while (!done()) {
      pollfd pfd{source.fd(), POLLIN, 0};
      if (poll(&pfd, 1, -1) < 0) {
        if (errno != EINTR) {
          std::cerr << "kplug monitor: poll failed: " << std::strerror(errno) << '\n';
          return finish(exit_cannot);
        }
        if (interrupted) return finish(exit_ok);
        continue;
      }
      if (!read_all(source)) return finish(exit_cannot);
    }
    return finish(exit_ok);
  }

 private:
  bool done() const { return o_.count > 0 && shown_ >= static_cast<std::size_t>(o_.count); }

  // One event: printed, and written to the recording. False: stop (a write failed, the
  // recording is full).
  bool take(const Uevent& ev) {
    if (!wanted_.empty() && !wanted_.count(ev.subsystem)) return true;
    double now = monotonic_seconds();
    std::cout << (o_.json ? record_event_line(ev, now) + "\n" : as_text(ev, now)) << std::flush;
    if (recording_) {
      if (auto w = recording_->add(ev, now); !w) return std::cerr << "kplug monitor: " << w.error() << '\n', false;
      if (recording_->full()) return false;
    }
    ++shown_;
    return true;
  }

  // The present devices first, as coldplug events; an exit code when it went wrong.
  std::optional<int> coldplug() {
    // The socket is open already: a device that comes meanwhile is in one or both.
    bool ok = true;
    auto walked = make_sysfs_view()->walk_devices([](const Uevent&) { return true; }, [&](Uevent&& ev) {
      ev.source = EventSource::coldplug;
      if (ok && !done()) ok = take(ev);
    });
    if (!walked) return std::cerr << "kplug monitor: cannot walk /sys/devices: " << walked.error() << '\n', exit_cannot;
    if (!ok) return finish(exit_cannot);
    if (done()) return finish(exit_ok);  // --count N reached among the present devices
    if (recording_) std::cerr << fmt::format("kplug monitor: {} present device(s) recorded as coldplug events\n", *walked);
    return std::nullopt;
  }

  // Everything waiting on the socket; false when the monitor must stop with a failure.
  bool read_all(UeventSource& source) {
    for (;;) {
      ReceiveOutcome outcome = source.receive();
      if (std::holds_alternative<WouldBlock>(outcome)) return true;
      if (auto* r = std::get_if<Received>(&outcome)) {
        // A SEQNUM gap is what every event for another network namespace leaves (the
        // kernel numbers them all, and sends them there): normal, so only with
        // --log-level debug. Real losses are overruns, said below.
        if (r->missed_before) spdlog::debug("{} SEQNUM(s) skipped before this event (other namespaces)", r->missed_before);
        if (!take(r->event)) return false;
        if (done()) return true;
      } else if (auto* rej = std::get_if<Rejected>(&outcome)) {
        std::cerr << "kplug monitor: ignored a datagram not from " << (o_.groups == 1 ? "the kernel" : "root") << " ("
                  << to_string(rej->reason) << "): " << rej->detail << '\n';
      } else if (std::holds_alternative<Overrun>(outcome)) {
        std::cerr << "kplug monitor: receive buffer overrun: the kernel dropped events\n";
      } else if (auto* f = std::get_if<ReceiveFailed>(&outcome)) {
        std::cerr << "kplug monitor: reading the uevent socket failed: " << std::strerror(f->error) << '\n';
        return false;
      }
    }
  }

  int finish(int code) {
    if (recording_ && recording_->full()) {
      std::cerr << fmt::format("kplug monitor: {} reached --max-size {} bytes; the recording ends there\n",
                               recording_->path(), o_.max_size);
      code = exit_ok;
    }
    if (recording_)
      std::cerr << fmt::format("kplug monitor: recorded {} event(s) to {}\n", recording_->events(), recording_->path());
    return code;
  }

  const MonitorOptions& o_;
  std::unique_ptr<Recording> recording_;
  std::set<std::string> wanted_;
  std::size_t shown_ = 0;
};

int run_monitor(const MonitorOptions& o) {
  if (o.decisions) {
    if (!o.record.empty() || o.coldplug)
      return std::cerr << "kplug monitor: --record and --coldplug are for kernel events, not --decisions\n", exit_usage;
    return run_decisions(o);
  }
  if ((o.replace || o.max_size) && o.record.empty())
    return std::cerr << "kplug monitor: --replace and --max-size go with --record FILE\n", exit_usage;
  NetlinkOptions netlink;
  netlink.receive_buffer = 8u << 20;
  netlink.groups = o.groups;
  auto source = NetlinkSource::open(netlink);
  if (!source) {
    std::cerr << "kplug monitor: " << source.error() << '\n';
    return exit_cannot;
  }
  std::unique_ptr<Recording> recording;
  if (!o.record.empty()) {
    auto opened = Recording::open(o.record, o.replace, o.max_size);
    if (!opened) return std::cerr << "kplug monitor: " << opened.error() << '\n', exit_cannot;
    recording = std::move(*opened);
  }
  // Ctrl-C and SIGTERM end it the same way with or without --record: exit 0.
  stop_on_signals();
  return KernelMonitor(o, std::move(recording)).run(**source);
}

}  // namespace

VerbRun setup_monitor(CLI::App& command) {
  auto o = std::make_shared<MonitorOptions>();
  command.footer(
      "Each event is printed as a header line (KERNEL[monotonic seconds] ACTION DEVPATH (SUBSYSTEM))\n"
      "followed by its KEY=VALUE properties and a blank line; with --json, one JSON object per line:\n"
      "{\"action\",\"devpath\",\"subsystem\",\"seqnum\",\"timestamp\",\"source\",\"properties\":{...}}.\n\n"
      "--record FILE also writes every event, with its receive time, to FILE as JSON lines after a\n"
      "header (/usr/share/doc/kplug/record-format.md): the input of 'kplug replay' and 'kplug test --event'. With\n"
      "--coldplug, the devices present now come first, as coldplug events, so the file describes\n"
      "the whole machine. Ctrl-C ends a recording; every line written is complete. The file is\n"
      "created anew (--replace to replace one of yours), and --max-size bounds it.\n\n"
      "Try it: kplug monitor & echo change > /sys/class/net/lo/uevent\n"
      "        kplug monitor --record machine.events --coldplug --count 100");
  command.add_flag("--json", o->json, "one JSON object per line instead of text blocks");
  command.add_option("--subsystem", o->subsystems, "only events of this subsystem (repeatable)");
  command.add_option("--count", o->count, "exit after printing N events (with --coldplug, the present devices count)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1000000000}).description(""))
      ->type_name("N");
  command.add_option("--record", o->record,
                     "also write the events to FILE, for kplug replay (JSON lines, a header first); FILE must not "
                     "exist (it is created, never followed through a link)");
  command.add_flag("--replace", o->replace, "with --record: replace FILE if it exists (a regular file of yours)");
  command.add_option("--max-size", o->max_size,
                     "with --record: end the recording before FILE would pass this size (bytes; K, M, G "
                     "suffixes), so a stream of events cannot fill the disk")
      ->transform(CLI::AsSizeValue(false));
  command.add_flag("--coldplug", o->coldplug, "first the devices present now, as coldplug events");
  command.add_option("--group", o->groups,
                     "listen on these netlink groups (a mask) instead of the kernel's: 4 hears what kplugd "
                     "--rebroadcast-groups 4 (or mdevd -O 4) sends once an event is handled")
      ->check(CLI::Range(1u, 0xffffffffu));
  command.add_flag("--decisions", o->decisions,
                   "instead of raw kernel events, what kplugd did with each one (from its control socket)");
  command.add_option("--socket", o->socket, "kplugd's control socket, for --decisions")->capture_default_str()->type_name("PATH");
  return [o] { return run_monitor(*o); };
}

}  // namespace kplug::cli
