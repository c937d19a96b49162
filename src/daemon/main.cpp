// kplugd: read the command line, the config file and the rules, open the module index,
// the loaders and the uevent socket, then run the event loop until SIGINT/SIGTERM. Each
// start-up step either hands the next one what it needs or says why kplugd cannot start
// (exit code 3), before the loop runs.
#include <malloc.h>

#include <time.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include "base/logging.hpp"
#include "daemon/command_line.hpp"
#include "daemon/daemon.hpp"
#include "daemon/ledger_store.hpp"
#include "kmod/dry_run_loader.hpp"
#include "uevent/netlink_source.hpp"
#include "uevent/rebroadcast.hpp"
#include "kmod/kmod_context.hpp"
#include "kmod/kmod_loader.hpp"
#include "kmod/resolver.hpp"

using namespace kplug;

namespace {

using Step = Result<bool, std::string>;
const Step done = true;

// Without loadable-module support only a dry run makes sense.
Step check_module_support(const DaemonOptions& options) {
  if (options.dry_run || std::filesystem::exists("/proc/modules")) return done;
  return unexpected(std::string("this kernel has no loadable module support (/proc/modules is missing); "
                                "run kplugd --dry-run to see what it would load"));
}

// One loader, with its own libkmod context, per loader thread: one per CPU, at least two
// (one slow module init never holds every load). Not more: at boot the coldplug's loads
// take the CPU from the disk's probe and the mount (with two per CPU, the fstab disk's
// SCSI disk -> sda took 2.5 s against 0.9 s with udevd; with one per CPU 0.9 s, and the
// boot 0.89x udevd's: docs/PERFORMANCE.md). With boot_priority, one more: the loader pool
// keeps it for critical loads, so the others have as many as before.
Result<std::vector<std::unique_ptr<ModuleLoader>>, std::string> open_loaders(const DaemonOptions& options) {
  unsigned threads = options.loader_threads ? options.loader_threads
                                            : std::max(2u, std::thread::hardware_concurrency());
  if (options.boot_priority) ++threads;
  KmodOptions kmod_options{options.modules_dir, options.modprobe_config};
  kmod_options.map_indexes = false;
  std::vector<std::unique_ptr<ModuleLoader>> loaders;
  for (unsigned i = 0; i < threads; ++i) {
    auto ctx = KmodContext::open(kmod_options);
    if (!ctx) return unexpected(ctx.error());
    if (options.dry_run) loaders.push_back(std::make_unique<DryRunLoader>(std::move(*ctx)));
    else loaders.push_back(std::make_unique<KmodLoader>(std::move(*ctx)));
  }
  return loaders;
}

// The state directory holds the ledger: only a real, root-owned directory that nobody
// else can write to. A dry run loads nothing, so it keeps no ledger.
Step check_state(const DaemonOptions& options) {
  return options.dry_run ? done : check_state_dir(options.state_dir);
}

void log_start(const Settings& settings, const KmodContext& index, const NetlinkSource& source, std::size_t threads) {
  const DaemonOptions& options = settings.options;
  std::error_code ec;
  spdlog::info("kplugd {} starting: config {}; modules from {}{}; {} loader thread(s); {} rules from {} files; "
               "netlink port {}, receive buffer {} KiB{}",
               KPLUG_VERSION,
               std::filesystem::exists(options.config_path, ec) ? options.config_path
                                                                : options.config_path + " (absent: defaults)",
               index.modules_dir(), options.dry_run ? ", dry run (nothing will be loaded)" : "", threads,
               settings.rules.rules.size(), settings.rules.files.size(), source.port_id(),
               source.receive_buffer() / 1024, source.buffer_forced() ? "" : " (not forced: no CAP_NET_ADMIN)");
}

// Start-up, phase by phase: at boot a slow start delays every unit after kplugd, so the
// log says where the time went. The first phase is the fork, exec and dynamic
// linker, from the process's start time (/proc/self/stat: its fork, so under systemd it
// includes the sandbox the unit asks for), in clock ticks since boot.
class StartupPhases {
 public:
  StartupPhases() : last_(std::chrono::steady_clock::now()) {
    if (auto since_fork = fork_age()) phases_ = fmt::format("fork to main {:.0f} ms", *since_fork * 1000);
  }
  void mark(std::string_view phase) {
    auto now = std::chrono::steady_clock::now();
    phases_ += fmt::format("{}{} {:.0f} ms", phases_.empty() ? "" : ", ", phase,
                           std::chrono::duration<double, std::milli>(now - last_).count());
    last_ = now;
  }
  const std::string& phases() const { return phases_; }

 private:
  // Seconds since this process was forked: /proc/self/stat's starttime (field 22, in clock
  // ticks since boot) against CLOCK_BOOTTIME.
  static std::optional<double> fork_age() {
    std::ifstream in("/proc/self/stat");
    std::string stat;
    std::getline(in, stat);
    auto paren = stat.rfind(')');  // the command name (field 2) may hold spaces and ')'
    if (paren == std::string::npos) return std::nullopt;
    std::istringstream fields(stat.substr(paren + 1));
    std::string field;
    for (int i = 3; i <= 22; ++i)
      if (!(fields >> field)) return std::nullopt;
    timespec now{};
    clock_gettime(CLOCK_BOOTTIME, &now);
    double started = std::strtod(field.c_str(), nullptr) / static_cast<double>(sysconf(_SC_CLK_TCK));
    return std::max(0.0, static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9 - started);
  }
  std::chrono::steady_clock::time_point last_;
  std::string phases_;
};

int cannot_start(const std::string& why) {
  spdlog::critical("{}", why);
  return exit_startup;
}

}  // namespace

int main(int argc, char** argv) {
  // One malloc arena for every thread: the loader threads allocate little, and an arena
  // of their own each would stay resident while kplugd idles (docs/PERFORMANCE.md).
  mallopt(M_ARENA_MAX, 1);
  StartupPhases phases;

  // 1. The command line; --help and --version end here.
  auto parsed = parse_command_line(argc, argv);
  if (auto* code = std::get_if<int>(&parsed)) return *code;
  const CommandLine& cl = std::get<CommandLine>(parsed);
  setup_logging("kplugd", cl.overrides.log_level.value_or("info"), cl.log_target);
  phases.mark("command line and logging");

  // 2. The config file and the rules, with the flags over them.
  auto settings = load_settings(cl.overrides);
  if (!settings) {
    for (const auto& d : settings.error()) spdlog::critical("{}", d.to_string());
    return cannot_start(fmt::format("kplugd cannot start: fix the {} problem(s) above (kplug rules check helps)",
                                    settings.error().size()));
  }
  const DaemonOptions& options = settings->options;
  setup_logging("kplugd", options.log_level, cl.log_target);
  phases.mark("config and rules");

  // 3. The kernel: module support, the module index, the loaders, the uevent socket.
  if (auto ok = check_module_support(options); !ok) return cannot_start(ok.error());
  auto index = KmodContext::open({options.modules_dir, options.modprobe_config});
  if (!index) return cannot_start(index.error());
  phases.mark("module index");
  auto loaders = open_loaders(options);
  if (!loaders) return cannot_start(loaders.error());
  phases.mark("loaders");
  auto source = NetlinkSource::open({options.receive_buffer, true});
  if (!source) return cannot_start(source.error());
  std::unique_ptr<Rebroadcaster> rebroadcaster;
  if (options.rebroadcast_groups) {
    auto opened = open_rebroadcaster(options.rebroadcast_groups);
    if (!opened) return cannot_start(opened.error());
    rebroadcaster = std::move(*opened);
    spdlog::info("rebroadcasting handled kernel events to netlink groups {:#x}", options.rebroadcast_groups);
  }
  log_start(*settings, **index, **source, loaders->size());
  if (auto ok = check_state(options); !ok) return cannot_start(ok.error());
  // A client that leaves mid-reply is an error on its own session, not a signal for all.
  signal(SIGPIPE, SIG_IGN);

  // 4. The daemon: its control socket, the ledger a previous kplugd left, then the loop.
  boost::asio::io_context io;
  DaemonSeams seams;
  seams.source = std::move(*source);
  seams.resolver = std::make_unique<KmodResolver>(std::move(*index));
  seams.loaders = std::move(*loaders);
  seams.rebroadcaster = std::move(rebroadcaster);
  seams.system = make_sysfs_view();
  seams.clock = steady_clock();
  seams.wall_clock = system_wall_clock();
  seams.commands = run_command;
  Daemon daemon(io, options, std::move(seams), std::move(settings->rules));
  daemon.set_reloader([o = cl.overrides] { return load_settings(o); });
  if (auto listening = daemon.open_control(options.control_socket); !listening)
    return cannot_start(listening.error());
  if (!options.dry_run) daemon.restore_state(options.state_dir + "/state.json");
  phases.mark("socket, control and ledger");
  spdlog::info("start-up before coldplug: {}", phases.phases());
  daemon.start();
  io.run();
  spdlog::info("kplugd stopped: {}", daemon.counters().summary());
  return daemon.exit_code();
}
