// The per-event cost on kplugd's main thread, in dry run: a recorded stream of N add
// datagrams (over the MODALIAS strings of a keys file) is parsed and goes through
// on_uevent -- queue, rules, resolver, load hand-off -- with a loader that does nothing.
// Prints microseconds per event with a cold and a warm resolver cache. Not a test.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "daemon/daemon.hpp"
#include "kmod/resolver.hpp"
#include "rules/rule_loader.hpp"
#include "null_loader.hpp"
#include "uevent/parse.hpp"

using namespace kplug;
using SteadyClock = std::chrono::steady_clock;

namespace {

// The datagram the kernel sends for an add event (what a recording of the socket holds).
std::string datagram(const std::string& devpath, const std::string& modalias, std::size_t seqnum) {
  std::string d = "add@" + devpath;
  d.push_back('\0');
  for (const auto& field : {std::string("ACTION=add"), "DEVPATH=" + devpath, std::string("SUBSYSTEM=usb"),
                            "MODALIAS=" + modalias, "SEQNUM=" + std::to_string(seqnum)}) {
    d += field;
    d.push_back('\0');
  }
  return d;
}

std::vector<std::string> recording(const std::vector<std::string>& keys, std::size_t n, std::size_t offset) {
  std::vector<std::string> stream;
  stream.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    stream.push_back(datagram("/devices/bench/dev" + std::to_string(offset + i), keys[i % keys.size()], offset + i + 1));
  return stream;
}

// Microseconds per event to parse, queue, match, resolve and hand off a recorded stream.
double run(const std::vector<std::string>& keys, std::size_t events, const std::string& modules_dir,
           const RuleSet& rules, bool warm) {
  auto ctx = KmodContext::open({modules_dir, {"/nonexistent"}});
  if (!ctx) return -1;
  boost::asio::io_context io;
  DaemonOptions o;
  o.coldplug = false;
  DaemonSeams seams;  // the real system view: what kplugd itself runs on
  seams.resolver = std::make_unique<KmodResolver>(std::move(*ctx));
  seams.loaders.push_back(std::make_unique<NullLoader>());
  seams.system = make_sysfs_view();
  seams.clock = steady_clock();
  seams.wall_clock = system_wall_clock();
  seams.commands = run_command;
  Daemon daemon(io, o, std::move(seams), rules);
  auto feed = [&](const std::vector<std::string>& stream) {
    std::size_t i = 0;
    for (const auto& bytes : stream) {
      auto ev = parse_datagram(std::span<const char>(bytes.data(), bytes.size()));
      if (!ev) return false;
      daemon.on_uevent(*ev);
      if (++i % 256 == 0) io.poll();  // let load results in, as the loop would
    }
    io.run();
    io.restart();
    return true;
  };
  if (warm && !feed(recording(keys, keys.size(), 0))) return -1;
  auto stream = recording(keys, events, 10'000'000);
  auto start = SteadyClock::now();
  if (!feed(stream)) return -1;
  std::chrono::duration<double, std::micro> took = SteadyClock::now() - start;
  return took.count() / static_cast<double>(events);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_pipeline MODULES_DIR KEYS_FILE [EVENTS] [RULES_DIR]\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::off);
  std::vector<std::string> keys;
  std::ifstream in(argv[2]);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) keys.push_back(line);
  std::size_t events = argc > 3 ? std::stoul(argv[3]) : 100000;
  RuleSet rules;
  if (argc > 4) {
    Diagnostics diags;
    auto loaded = load_rules(rule_files({argv[4]}, diags));
    if (loaded) rules = std::move(*loaded);
  }
  double cold = run(keys, keys.size(), argv[1], rules, false);
  double warm = run(keys, events, argv[1], rules, true);
  std::printf("events %zu over %zu distinct MODALIAS keys, %zu rules\n", events, keys.size(), rules.rules.size());
  std::printf("cold cache   %8.2f us/event (%.0f events/s; every key resolved for the first time)\n", cold, 1e6 / cold);
  std::printf("warm cache   %8.2f us/event (%.0f events/s on the main thread)\n", warm, 1e6 / warm);
  return 0;
}
