// kplugd's flags, their help and their checks (see the header).
#include "daemon/command_line.hpp"

#include <chrono>
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>

#include "rules/units.hpp"

namespace kplug {

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

}  // namespace

namespace {

// --rebroadcast-groups: an error for a mask with the kernel's group 1 in it.
std::string rebroadcast_mask_error(const std::string& v) {
  try {
    return (std::stoul(v, nullptr, 0) & 1) ? std::string("group 1 is the kernel's: leave it out of the mask")
                                           : std::string();
  } catch (...) {
    return std::string("not a number");
  }
}

// --unload-grace and --receive-buffer (each when given) read into O; false, and the
// problem said, for a value that is not a duration or a size.
bool take_units(const std::string* grace, const std::string* rcvbuf, Overrides& o) {
  if (grace) {
    std::chrono::milliseconds d{0};
    if (!parse_duration(*grace, d)) {
      std::cerr << "kplugd: --unload-grace: '" << *grace << "' is not a duration such as 5s, 500ms or 1m\n";
      return false;
    }
    o.unload_grace = d;
  }
  if (rcvbuf) {
    std::size_t size = 0;
    if (!parse_size(*rcvbuf, size)) {
      std::cerr << "kplugd: --receive-buffer: '" << *rcvbuf << "' is not a size such as 4096, 512K or 128M\n";
      return false;
    }
    o.receive_buffer = size;
  }
  return true;
}

}  // namespace

std::variant<CommandLine, int> parse_command_line(int argc, char** argv) {
  CommandLine cl;
  Overrides& o = cl.overrides;
  CLI::App app{description, "kplugd"};
  app.set_version_flag("--version", std::string("kplugd ") + KPLUG_VERSION);
  std::string config_path, modules_dir, log_level, grace, rcvbuf, control_socket, state_dir, metrics_file;
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
  app.add_option("--log-target", cl.log_target,
                 "stderr, journal (structured fields for journalctl), or auto: the journal when stderr is "
                 "connected to it, as under systemd")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "journal", "stderr"}));
  app.add_option("--receive-buffer", rcvbuf, "netlink receive buffer, e.g. 128M (forced past rmem_max as root)");
  app.add_option("--loader-threads", o.loader_threads, "threads that insert modules (default: one per CPU, at least 2)");
  app.add_option("--control-socket", control_socket, "the control socket (default /run/kplug/control.sock)");
  app.add_option("--state-dir", state_dir, "where the ledger is kept across restarts (default /run/kplug)");
  app.add_option("--rebroadcast-groups", o.rebroadcast_groups,
                 "after handling each kernel event, send it again to these netlink groups (a mask without 1; 4 is "
                 "where libudev-zero listens, like mdevd -O 4)")
      ->check(CLI::Range(2u, 0xffffffffu))
      ->check(rebroadcast_mask_error);
  app.add_option("--metrics-file", metrics_file,
                 "write Prometheus metrics to this file (for node_exporter's textfile collector), atomically, "
                 "when they change, at most every 5 s");
  // What each value is, in the words of kplugd(8), not CLI11's type names.
  const std::map<std::string, std::string> value_names = {
      {"config", "FILE"},         {"modules-dir", "DIR"},     {"rules-dir", "DIR"},      {"modprobe-config", "PATH"},
      {"unload-grace", "DURATION"}, {"log-level", "LEVEL"},   {"log-target", "TARGET"}, {"receive-buffer", "SIZE"},
      {"loader-threads", "N"},    {"control-socket", "PATH"}, {"state-dir", "DIR"},     {"rebroadcast-groups", "MASK"},
      {"metrics-file", "FILE"}};
  for (CLI::Option* opt : app.get_options())
    if (!opt->get_lnames().empty())
      if (auto it = value_names.find(opt->get_lnames().front()); it != value_names.end()) opt->type_name(it->second);
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
  if (app.count("--metrics-file")) o.metrics_file = metrics_file;
  if (dry_run) o.dry_run = true;
  if (no_coldplug) o.coldplug = false;
  if (no_unload) o.unload = false;
  if (!take_units(app.count("--unload-grace") ? &grace : nullptr, app.count("--receive-buffer") ? &rcvbuf : nullptr, o))
    return exit_usage;
  return cl;
}

}  // namespace kplug
