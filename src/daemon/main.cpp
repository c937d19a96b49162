// kplugd: read the command line, the config file and the rules, open the uevent socket
// and the module indexes, then run the event loop until SIGINT/SIGTERM.
#include <csignal>

#include <algorithm>
#include <filesystem>
#include <thread>
#include <iostream>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include "daemon/daemon.hpp"
#include "daemon/ledger_store.hpp"
#include "base/logging.hpp"
#include "kmod/dry_run_loader.hpp"
#include "kmod/kmod_context.hpp"
#include "kmod/kmod_loader.hpp"
#include "kmod/resolver.hpp"

using namespace kplug;

namespace {

constexpr const char* description =
    "kplugd: the kplug hotplug module loader.\n\n"
    "Listens on the kernel's uevent netlink socket (only messages the kernel itself sent are\n"
    "accepted), applies the rules in the rules dirs, resolves each new device's MODALIAS\n"
    "through modules.alias and loads the modules it names. At start it coldplugs: every\n"
    "device already present goes the same way. When the last device a module was loaded\n"
    "for is removed, the module is unloaded after a grace period, if kplugd loaded it\n"
    "itself and nothing uses it. SIGHUP reloads the config and the rules.\n\n"
    "Settings come from the config file (default /etc/kplug/config.yaml; see\n"
    "config.example.yaml); flags given here override it.\n\n"
    "Limits (config keys, defaults): the control socket, open to every local user, serves\n"
    "control.max_sessions (64) sessions at once plus 8 for root, lines of control.max_line\n"
    "(64K), closes a session idle for control.idle_timeout (30s) and drops an events\n"
    "subscriber with more than control.max_output (256K) unread. Rule run commands:\n"
    "commands.workers (4) at once, commands.queue (256) waiting, each process group killed\n"
    "after commands.timeout (10s) and at stop.\n\n"
    "Exit codes: 0 stopped by SIGINT/SIGTERM, 1 runtime failure, 2 bad command line,\n"
    "3 start-up failure (bad config or rules, no netlink socket, no modules tree, no\n"
    "module support).";

std::unique_ptr<ModuleLoader> make_loader(const DaemonOptions& options, const KmodOptions& kmod_options,
                                          std::string& error) {
  KmodOptions loader_options = kmod_options;
  loader_options.map_indexes = false;
  auto ctx = KmodContext::open(loader_options);
  if (!ctx) {
    error = ctx.error();
    return nullptr;
  }
  if (options.dry_run) return std::make_unique<DryRunLoader>(std::move(*ctx));
  return std::make_unique<KmodLoader>(std::move(*ctx));
}

}  // namespace

int main(int argc, char** argv) {
  Overrides o;
  CLI::App app{description, "kplugd"};
  app.set_version_flag("--version", std::string("kplugd ") + KPLUG_VERSION);
  std::string config_path, modules_dir, log_level, grace, rcvbuf, control_socket, state_dir;
  std::string log_target = "auto";
  bool dry_run = false, no_coldplug = false, no_unload = false;
  app.add_option("--config", config_path, "config file (default /etc/kplug/config.yaml; a missing default is fine)");
  app.add_option("--modules-dir", modules_dir,
                 "the lib/modules/VERSION directory to resolve and load from (default: the running kernel's)");
  app.add_option("--rules-dir", o.rules_dirs, "rules directory to use instead of the config's (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--modprobe-config", o.modprobe_config,
                 "modprobe.d file or directory to use instead of the system's (repeatable)")
      ->allow_extra_args(false);
  app.add_flag("--dry-run", dry_run, "decide and log, but load, unload and run nothing (\"would load MODULE\")");
  app.add_flag("--no-coldplug", no_coldplug, "do not process the devices present at start");
  app.add_flag("--exit-after-coldplug", o.exit_after_coldplug,
               "stop once the devices present at start are handled (for scripts and benchmarks)");
  app.add_option("--unload-grace", grace,
                 "how long a module kplugd loaded stays after its last device is removed, e.g. 5s, 500ms");
  app.add_flag("--no-unload", no_unload, "never unload modules when their devices are removed");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off (default info)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_option("--log-target", log_target,
                 "stderr, journal (structured fields for journalctl), or auto: the journal when stderr is "
                 "connected to it, as under systemd")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "journal", "stderr"}));
  app.add_option("--receive-buffer", rcvbuf, "netlink receive buffer, e.g. 128M (forced past rmem_max as root)");
  app.add_option("--loader-threads", o.loader_threads, "threads that insert modules (default: two per CPU, at least 4)");
  app.add_option("--control-socket", control_socket, "the control socket (default /run/kplug/control.sock)");
  app.add_option("--state-dir", state_dir, "where the ledger is kept across restarts (default /run/kplug)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? exit_ok : exit_usage;
  }
  if (app.count("--config")) o.config_path = config_path;
  if (app.count("--modules-dir")) o.modules_dir = modules_dir;
  if (app.count("--log-level")) o.log_level = log_level;
  if (app.count("--control-socket")) o.control_socket = control_socket;
  if (app.count("--state-dir")) o.state_dir = state_dir;
  if (dry_run) o.dry_run = true;
  if (no_coldplug) o.coldplug = false;
  if (no_unload) o.unload = false;
  if (app.count("--unload-grace")) {
    std::chrono::milliseconds d{0};
    if (!parse_duration(grace, d)) {
      std::cerr << "kplugd: --unload-grace: '" << grace << "' is not a duration such as 5s, 500ms or 1m\n";
      return exit_usage;
    }
    o.unload_grace = d;
  }
  if (app.count("--receive-buffer")) {
    std::size_t size = 0;
    if (!parse_size(rcvbuf, size)) {
      std::cerr << "kplugd: --receive-buffer: '" << rcvbuf << "' is not a size such as 4096, 512K or 128M\n";
      return exit_usage;
    }
    o.receive_buffer = size;
  }
  setup_logging("kplugd", o.log_level.value_or("info"), log_target);

  // Start-up: every failure here stops the program before the loop starts.
  auto settings = load_settings(o);
  if (!settings) {
    for (const auto& d : settings.error()) spdlog::critical("{}", d.to_string());
    spdlog::critical("kplugd cannot start: fix the {} problem(s) above (kplug rules check helps)",
                     settings.error().size());
    return exit_startup;
  }
  const DaemonOptions& options = settings->options;
  setup_logging("kplugd", options.log_level, log_target);
  if (!options.dry_run && !std::filesystem::exists("/proc/modules")) {
    spdlog::critical("this kernel has no loadable module support (/proc/modules is missing); "
                     "run kplugd --dry-run to see what it would load");
    return exit_startup;
  }
  KmodOptions kmod_options{options.modules_dir, options.modprobe_config};
  auto resolver_ctx = KmodContext::open(kmod_options);
  if (!resolver_ctx) {
    spdlog::critical("{}", resolver_ctx.error());
    return exit_startup;
  }
  // One loader, with its own libkmod context, per loader thread.
  // A module's init mostly waits on its hardware rather than using a CPU, so more loads
  // than CPUs overlap well (udevd, too, runs more workers than CPUs).
  unsigned threads = options.loader_threads ? options.loader_threads
                                            : std::max(4u, 2 * std::thread::hardware_concurrency());
  std::vector<std::unique_ptr<ModuleLoader>> loaders;
  for (unsigned i = 0; i < threads; ++i) {
    std::string error;
    auto loader = make_loader(options, kmod_options, error);
    if (!loader) {
      spdlog::critical("{}", error);
      return exit_startup;
    }
    loaders.push_back(std::move(loader));
  }
  auto source = NetlinkSource::open({options.receive_buffer, true});
  if (!source) {
    spdlog::critical("{}", source.error());
    return exit_startup;
  }
  std::error_code ec;
  spdlog::info("kplugd {} starting: config {}; modules from {}{}; {} loader thread(s); {} rules from {} files; "
               "netlink port {}, receive buffer {} KiB{}",
               KPLUG_VERSION,
               std::filesystem::exists(options.config_path, ec) ? options.config_path
                                                                : options.config_path + " (absent: defaults)",
               (*resolver_ctx)->modules_dir(), options.dry_run ? ", dry run (nothing will be loaded)" : "",
               threads, settings->rules.rules.size(),
               settings->rules.files.size(), (*source)->port_id(), (*source)->receive_buffer() / 1024,
               (*source)->buffer_forced() ? "" : " (not forced: no CAP_NET_ADMIN)");

  // The state directory holds the ledger: only a real, root-owned directory that nobody
  // else can write to.
  if (!options.dry_run) {
    if (auto ok = check_state_dir(options.state_dir); !ok) {
      spdlog::critical("{}", ok.error());
      return exit_startup;
    }
  }
  // A client that leaves mid-reply is an error on its own session, not a signal for all.
  signal(SIGPIPE, SIG_IGN);

  boost::asio::io_context io;
  Daemon daemon(io, options, std::move(*source), std::make_unique<KmodResolver>(std::move(*resolver_ctx)),
                std::move(loaders), std::move(settings->rules));
  daemon.set_reloader([o] { return load_settings(o); });
  if (auto listening = daemon.open_control(options.control_socket); !listening) {
    spdlog::critical("{}", listening.error());
    return exit_startup;
  }
  // A dry run loads nothing, so it has no ledger worth keeping.
  if (!options.dry_run) daemon.restore_state(options.state_dir + "/state.json");
  daemon.start();
  io.run();
  spdlog::info("kplugd stopped: {}", daemon.counters().summary());
  return daemon.exit_code();
}
