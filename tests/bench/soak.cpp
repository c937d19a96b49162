// The soak test: 10^6 uevents through the whole pipeline in dry run -- datagram bytes
// parsed, queued, matched against the shipped rules, resolved (real keys from captures
// and invented USB keys that keep missing the cache), "loaded" by a loader that inserts
// nothing, then removed again so the ledger and the unload timers work too. Prints RSS
// after a warm-up and at the end, and events per second; fails if RSS grew by more than
// 2 MiB (the resolver cache is bounded; nothing else may accumulate per event).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/executor_work_guard.hpp>
#include <spdlog/spdlog.h>

#include "daemon/daemon.hpp"
#include "kmod/resolver.hpp"
#include "null_loader.hpp"
#include "rules/rule_loader.hpp"
#include "uevent/parse.hpp"

using namespace kplug;

namespace {

long rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// Runs the loop until the daemon has handled every queued event (or 10 s pass).
bool drain(boost::asio::io_context& io, const Daemon& daemon) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (daemon.queue().waiting() + daemon.queue().running() > 0) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.run_one_for(std::chrono::milliseconds(10));
  }
  io.poll();
  return true;
}

// The datagram the kernel would send for this event.
std::string datagram(const std::string& action, const std::string& devpath, const std::string& modalias,
                     std::uint64_t seqnum) {
  std::string d = action + "@" + devpath;
  d.push_back('\0');
  for (const auto& field : {"ACTION=" + action, "DEVPATH=" + devpath, std::string("SUBSYSTEM=usb"),
                            "MODALIAS=" + modalias, "SEQNUM=" + std::to_string(seqnum)}) {
    d += field;
    d.push_back('\0');
  }
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: soak MODULES_DIR RULES_DIR [EVENTS]\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::off);
  std::size_t events = argc > 3 ? std::stoul(argv[3]) : 1'000'000;
  Diagnostics diags;
  auto rules = load_rules(rule_files({argv[2]}, diags));
  auto ctx = KmodContext::open({argv[1], {"/nonexistent"}});
  if (!rules || !ctx) {
    std::fprintf(stderr, "soak: cannot load the rules or the modules tree\n");
    return 1;
  }
  const std::vector<std::string> real_keys = {
      "usb:v08E6p4433d0000dc00dsc00dp00ic0Bisc00ip00in00", "usb:v0627p0001d0000dc00dsc00dp00ic03isc01ip01in00",
      "pci:v00008086d00007020sv00001AF4sd00001100bc0Csc03i00", "virtio:d00000005v00001AF4",
      "platform:serial8250", "hid:b0003g0001v00000627p00000001"};
  boost::asio::io_context io;
  DaemonOptions o;
  o.coldplug = false;
  o.unload_grace = std::chrono::milliseconds(0);
  DaemonSeams seams;  // the real system view: what kplugd itself runs on
  seams.resolver = std::make_unique<KmodResolver>(std::move(*ctx));
  seams.loaders.push_back(std::make_unique<NullLoader>());
  seams.system = make_sysfs_view();
  seams.clock = steady_clock();
  seams.wall_clock = system_wall_clock();
  seams.commands = run_command;
  Daemon daemon(io, o, std::move(seams), *rules);
  // Without Daemon::start() nothing else keeps the loop alive while a loader thread
  // works: an idle io_context would stop and never run the result the thread posts.
  auto busy = boost::asio::make_work_guard(io);

  long rss_warm = 0;
  auto start = std::chrono::steady_clock::now();
  std::uint64_t seqnum = 0;
  for (std::size_t i = 0; i < events; i += 2) {
    // Every 4th device invents a MODALIAS (a new cache entry each time); the rest are real.
    std::string modalias = i % 8 == 0 ? fmt::format("usb:v{:04X}p{:04X}d0000dc00dsc00dp00ic03isc01ip01in00",
                                                    (i / 8) % 65536, (i / 8) / 65536)
                                      : real_keys[(i / 2) % real_keys.size()];
    std::string devpath = "/devices/soak/usb1/1-" + std::to_string((i / 2) % 64);
    for (const char* action : {"add", "remove"}) {
      std::string bytes = datagram(action, devpath, modalias, ++seqnum);
      auto ev = parse_datagram(std::span<const char>(bytes.data(), bytes.size()));
      if (!ev) {
        std::fprintf(stderr, "soak: a well-formed datagram was rejected: %s\n", ev.error().detail.c_str());
        return 1;
      }
      daemon.on_uevent(*ev);
    }
    // Bursts of 512 devices in and out, then the loop runs until every event is handled
    // (load results and unload timers come in), as kplugd's loop does between bursts.
    if (i % 1024 == 1022 && !drain(io, daemon)) {
      std::fprintf(stderr, "soak: the queue did not drain: %zu waiting, %zu running\n", daemon.queue().waiting(),
                   daemon.queue().running());
      return 1;
    }
    if (i == events / 10 - events / 10 % 1024 + 1022) rss_warm = rss_kib();
  }
  drain(io, daemon);
  io.run_for(std::chrono::milliseconds(50));  // the last unload timers
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  long rss_end = rss_kib();
  std::printf("soak: %zu events in %.1f s: %.0f events/s\n", events, took.count(),
              static_cast<double>(events) / took.count());
  std::printf("soak: RSS after 10%% of the events %ld KiB, at the end %ld KiB (%+ld KiB)\n", rss_warm, rss_end,
              rss_end - rss_warm);
  std::printf("soak: %s\n", daemon.counters().summary().c_str());
  if (rss_end - rss_warm > 2048) {
    std::printf("soak: FAIL: RSS grew by more than 2 MiB\n");
    return 1;
  }
  std::printf("soak: PASS: RSS stayed flat\n");
  return 0;
}
