// kplugd: parse the command line, open the uevent socket and the module indexes, then
// run the event loop until SIGINT/SIGTERM.
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include "daemon/daemon.hpp"
#include "daemon/logging.hpp"
#include "kmod/dry_run_loader.hpp"
#include "kmod/kmod_context.hpp"
#include "kmod/kmod_loader.hpp"
#include "kmod/resolver.hpp"

using namespace kplug;

namespace {

constexpr const char* description =
    "kplugd: the kplug hotplug module loader.\n\n"
    "Listens on the kernel's uevent netlink socket (only messages the kernel itself sent are\n"
    "accepted), resolves each new device's MODALIAS through modules.alias and loads the\n"
    "modules it names. At start it coldplugs: every device already present goes the same way.\n"
    "When the last device a module was loaded for is removed, the module is unloaded after a\n"
    "grace period, if kplugd loaded it itself and nothing uses it.\n\n"
    "Exit codes: 0 stopped by SIGINT/SIGTERM, 1 runtime failure, 2 bad command line,\n"
    "3 start-up failure (no netlink socket, no modules tree, no module support).";

std::unique_ptr<ModuleLoader> make_loader(const DaemonOptions& options, const KmodOptions& kmod_options,
                                          std::string& error) {
  auto ctx = KmodContext::open(kmod_options);
  if (!ctx) {
    error = ctx.error();
    return nullptr;
  }
  if (options.dry_run) return std::make_unique<DryRunLoader>(std::move(*ctx));
  return std::make_unique<KmodLoader>(std::move(*ctx));
}

}  // namespace

int main(int argc, char** argv) {
  DaemonOptions options;
  CLI::App app{description, "kplugd"};
  app.set_version_flag("--version", std::string("kplugd ") + KPLUG_VERSION);
  app.add_option("--modules-dir", options.modules_dir,
                 "the lib/modules/VERSION directory to resolve and load from (default: the running kernel's)");
  app.add_option("--modprobe-config", options.modprobe_config,
                 "modprobe.d file or directory to use instead of the system's (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--config", options.config_path, "config file (read once custom rules land)")->capture_default_str();
  app.add_flag("--dry-run", options.dry_run, "decide and log, but load nothing (\"would load MODULE\")");
  bool no_coldplug = false;
  app.add_flag("--no-coldplug", no_coldplug, "do not process the devices present at start");
  app.add_flag("--exit-after-coldplug", options.exit_after_coldplug,
               "stop once the devices present at start are handled (for scripts and benchmarks)");
  app.add_option("--log-level", options.log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  std::string grace = "5s";
  app.add_option("--unload-grace", grace,
                 "how long a module kplugd loaded stays after its last device is removed, e.g. 5s, 500ms")
      ->capture_default_str();
  bool no_unload = false;
  app.add_flag("--no-unload", no_unload, "never unload modules when their devices are removed");
  std::string rcvbuf = "128M";
  app.add_option("--receive-buffer", rcvbuf, "netlink receive buffer, e.g. 128M (forced past rmem_max as root)")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? exit_ok : exit_usage;
  }
  options.coldplug = !no_coldplug;
  options.unload = !no_unload;
  if (!parse_duration(grace, options.unload_grace)) {
    std::cerr << "kplugd: --unload-grace: '" << grace << "' is not a duration such as 5s, 500ms or 1m\n";
    return exit_usage;
  }
  if (!parse_size(rcvbuf, options.receive_buffer)) {
    std::cerr << "kplugd: --receive-buffer: '" << rcvbuf << "' is not a size such as 4096, 512K or 128M\n";
    return exit_usage;
  }
  setup_logging("kplugd", options.log_level);

  // Start-up: every failure here stops the program before the loop starts.
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
  std::string error;
  auto loader = make_loader(options, kmod_options, error);
  if (!loader) {
    spdlog::critical("{}", error);
    return exit_startup;
  }
  auto source = NetlinkSource::open({options.receive_buffer, true});
  if (!source) {
    spdlog::critical("{}", source.error());
    return exit_startup;
  }
  spdlog::info("kplugd {} starting: modules from {}{}; netlink port {}, receive buffer {} KiB{}", KPLUG_VERSION,
               (*resolver_ctx)->modules_dir(), options.dry_run ? ", dry run (nothing will be loaded)" : "",
               (*source)->port_id(), (*source)->receive_buffer() / 1024,
               (*source)->buffer_forced() ? "" : " (not forced: no CAP_NET_ADMIN)");

  boost::asio::io_context io;
  Daemon daemon(io, options, std::move(*source), std::make_unique<Resolver>(std::move(*resolver_ctx)),
                std::move(loader));
  daemon.start();
  io.run();
  spdlog::info("kplugd stopped: {}", daemon.counters().summary());
  return daemon.exit_code();
}
