// A burst of real kernel uevents, received two ways at once: by a bare receive loop (the
// floor: recv() and count, nothing else) and by kplugd's pipeline (NetlinkSource with its
// sender check and parser, the event queue, the rules, the resolver, a dry-run loader).
// The kernel emits the events as fast as one thread can write "change" to a sysfs uevent
// file. Prints the emission rate, each receiver's rate, the SEQNUM gaps each saw, and the
// CPU time each of the three threads spent per event.
//
// usage: bench_netlink MODULES_DIR RULES_DIR [EVENTS] [DEVPATH]   (root; default 100000,
//        /devices/virtual/mem/null)
#include <fcntl.h>
#include <time.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "daemon/daemon.hpp"
#include "uevent/netlink_source.hpp"
#include "kmod/resolver.hpp"
#include "null_loader.hpp"
#include "rules/rule_loader.hpp"

using namespace kplug;
using SteadyClock = std::chrono::steady_clock;

namespace {

double since(SteadyClock::time_point start, SteadyClock::time_point t) { return std::chrono::duration<double>(t - start).count(); }

// CPU seconds the calling thread has used.
double thread_cpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// The floor: a socket, a buffer, recv() until COUNT events of DEVPATH came (or 3 s of quiet).
struct Bare {
  int fd = -1;
  std::uint64_t events = 0, gaps = 0, last_seqnum = 0;
  SteadyClock::time_point done;

  bool open() {
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
    int size = 128 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    timeval quiet{3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &quiet, sizeof quiet);
    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    addr.nl_groups = 1;
    return fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }

  void run(std::uint64_t count, const std::string& devpath) {
    static char buf[16384];
    std::string header = "change@" + devpath;
    while (events < count) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n < 0) {
        if (errno == ENOBUFS) {
          ++gaps;
          continue;
        }
        break;  // quiet for 3 s: the rest is lost
      }
      std::string_view d(buf, static_cast<std::size_t>(n));
      if (auto at = d.find("SEQNUM="); at != std::string_view::npos) {
        std::uint64_t seqnum = std::strtoull(buf + at + 7, nullptr, 10);
        if (last_seqnum && seqnum != last_seqnum + 1) ++gaps;
        last_seqnum = seqnum;
      }
      if (d.substr(0, header.size()) == header && d.size() > header.size() && d[header.size()] == '\0') ++events;
    }
    done = SteadyClock::now();
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_netlink MODULES_DIR RULES_DIR [EVENTS] [DEVPATH]\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::off);
  std::uint64_t count = argc > 3 ? std::stoull(argv[3]) : 100'000;
  std::string devpath = argc > 4 ? argv[4] : "/devices/virtual/mem/null";
  Diagnostics diags;
  auto rules = load_rules(rule_files({argv[2]}, diags));
  auto ctx = KmodContext::open({argv[1], {"/nonexistent"}});
  auto source = NetlinkSource::open({128u << 20, true});
  Bare bare;
  if (!rules || !ctx || !source || !bare.open()) {
    std::fprintf(stderr, "bench_netlink: cannot open the rules, the modules tree or a netlink socket (root?)\n");
    return 1;
  }
  int uevent = open(("/sys" + devpath + "/uevent").c_str(), O_WRONLY | O_CLOEXEC);
  if (uevent < 0) {
    std::fprintf(stderr, "bench_netlink: cannot open /sys%s/uevent: %s\n", devpath.c_str(), std::strerror(errno));
    return 1;
  }

  boost::asio::io_context io;
  DaemonOptions o;
  o.coldplug = false;
  o.dry_run = true;
  DaemonSeams seams;  // the real netlink socket and system view, a loader that loads nothing
  seams.source = std::move(*source);
  seams.resolver = std::make_unique<KmodResolver>(std::move(*ctx));
  seams.loaders.push_back(std::make_unique<NullLoader>());
  seams.system = make_sysfs_view();
  seams.clock = steady_clock();
  seams.wall_clock = system_wall_clock();
  seams.commands = run_command;
  Daemon daemon(io, o, std::move(seams), *rules);
  daemon.start();
  // kplugd's side is done when it has accepted COUNT events and its queue is empty.
  SteadyClock::time_point kplug_done{};
  std::atomic<bool> writing{true};
  SteadyClock::time_point writer_done{};
  boost::asio::steady_timer poll(io);
  std::function<void()> check = [&] {
    const auto& c = daemon.counters();
    if (c.events_received >= count && daemon.queue().waiting() + daemon.queue().running() == 0) {
      kplug_done = SteadyClock::now();
      return daemon.stop();
    }
    if (!writing && SteadyClock::now() - writer_done > std::chrono::seconds(3)) return daemon.stop();  // lost some
    poll.expires_after(std::chrono::microseconds(200));
    poll.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) check();
    });
  };
  check();

  // CPU time per thread tells what each costs per event, whatever the scheduler did.
  double bare_cpu = 0, kplug_cpu = 0;
  auto start = SteadyClock::now();
  std::thread bare_thread([&] {
    double t0 = thread_cpu();
    bare.run(count, devpath);
    bare_cpu = thread_cpu() - t0;
  });
  std::thread kplug_thread([&] {
    double t0 = thread_cpu();
    io.run();
    kplug_cpu = thread_cpu() - t0;
  });
  double writer_cpu = thread_cpu();
  for (std::uint64_t i = 0; i < count; ++i)
    if (write(uevent, "change", 6) != 6) {
      std::fprintf(stderr, "bench_netlink: write failed: %s\n", std::strerror(errno));
      return 1;
    }
  writer_done = SteadyClock::now();
  writer_cpu = thread_cpu() - writer_cpu;
  writing = false;
  bare_thread.join();
  kplug_thread.join();

  const auto& c = daemon.counters();
  double emit = since(start, writer_done);
  std::printf("bench_netlink: %llu change events on %s\n", static_cast<unsigned long long>(count), devpath.c_str());
  std::printf("kernel emission:   %.3f s, %.0f events/s\n", emit, static_cast<double>(count) / emit);
  std::printf("bare receive loop: %llu events, done %.3f s after the first write, %.0f events/s, gaps %llu\n",
              static_cast<unsigned long long>(bare.events), since(start, bare.done),
              static_cast<double>(bare.events) / since(start, bare.done), static_cast<unsigned long long>(bare.gaps));
  bool kplug_ok = kplug_done != SteadyClock::time_point{};
  double kt = kplug_ok ? since(start, kplug_done) : 0;
  std::printf("kplug pipeline:    %llu events, done %.3f s after the first write, %.0f events/s, missed %llu, "
              "overruns %llu\n",
              static_cast<unsigned long long>(c.events_received), kt,
              kplug_ok ? static_cast<double>(c.events_received) / kt : 0.0,
              static_cast<unsigned long long>(c.missed_events), static_cast<unsigned long long>(c.overruns));
  auto per_event = [&](double cpu) { return cpu * 1e6 / static_cast<double>(count); };
  std::printf("cpu per event:     writer (the kernel making the event) %.2f us, bare receive loop %.2f us, "
              "kplug pipeline %.2f us; %u cores\n",
              per_event(writer_cpu), per_event(bare_cpu), per_event(kplug_cpu), std::thread::hardware_concurrency());
  return kplug_ok && c.missed_events == 0 && c.overruns == 0 ? 0 : 1;
}
