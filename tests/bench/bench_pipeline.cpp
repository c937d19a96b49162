// The per-event cost on kplugd's main thread, in dry run: N recorded events (add events
// of present-looking devices, replayed from a file of MODALIAS strings) go through
// on_uevent -- queue, rules, resolver, load hand-off -- with a loader that does nothing.
// Prints microseconds per event with a cold and a warm resolver cache. Not a test.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "daemon/daemon.hpp"
#include "rules/rule_loader.hpp"
#include "null_loader.hpp"

using namespace kplug;
using Clock = std::chrono::steady_clock;

namespace {

double run(const std::vector<std::string>& keys, std::size_t events, const std::string& modules_dir,
           const RuleSet& rules, bool warm) {
  auto ctx = KmodContext::open({modules_dir, {"/nonexistent"}});
  if (!ctx) return -1;
  boost::asio::io_context io;
  DaemonOptions o;
  o.coldplug = false;
  Daemon daemon(io, o, nullptr, std::make_unique<Resolver>(std::move(*ctx)), std::make_unique<NullLoader>(), rules);
  auto feed = [&](std::size_t n, std::size_t offset) {
    for (std::size_t i = 0; i < n; ++i) {
      Uevent ev;
      ev.action = "add";
      ev.devpath = "/devices/bench/dev" + std::to_string(offset + i);
      ev.subsystem = "usb";
      ev.seqnum = offset + i + 1;
      ev.properties = {{"ACTION", "add"}, {"DEVPATH", ev.devpath}, {"SUBSYSTEM", "usb"},
                       {"MODALIAS", keys[i % keys.size()]}, {"SEQNUM", std::to_string(ev.seqnum)}};
      daemon.on_uevent(ev);
      if (i % 256 == 255) io.poll();  // let load results in, as the loop would
    }
    io.run();
    io.restart();
  };
  if (warm) feed(keys.size(), 0);
  auto start = Clock::now();
  feed(events, 10'000'000);
  std::chrono::duration<double, std::micro> took = Clock::now() - start;
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
  std::printf("cold cache   %8.2f us/event (every key resolved for the first time)\n", cold);
  std::printf("warm cache   %8.2f us/event (%.0f events/s on the main thread)\n", warm, 1e6 / warm);
  return 0;
}
