// The verb table of `kplug`: each verb lives in its own file and registers its options
// on a CLI11 subcommand, returning the function that runs it.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "base/exit_code.hpp"
#include "control/client.hpp"

namespace kplug::cli {

using control::ControlClient;
using control::default_control_socket;

using VerbRun = std::function<int()>;

struct Verb {
  const char* name;
  const char* summary;
  VerbRun (*setup)(CLI::App& command);
};

VerbRun setup_monitor(CLI::App& command);
VerbRun setup_match(CLI::App& command);
VerbRun setup_rules(CLI::App& command);
VerbRun setup_test(CLI::App& command);
VerbRun setup_replay(CLI::App& command);
VerbRun setup_status(CLI::App& command);
VerbRun setup_loaded(CLI::App& command);
VerbRun setup_reload(CLI::App& command);
VerbRun setup_settle(CLI::App& command);
VerbRun setup_trigger(CLI::App& command);
VerbRun setup_lsmod(CLI::App& command);
VerbRun setup_modinfo(CLI::App& command);
VerbRun setup_insmod(CLI::App& command);
VerbRun setup_rmmod(CLI::App& command);
VerbRun setup_doctor(CLI::App& command);
VerbRun setup_info(CLI::App& command);
VerbRun setup_completion(CLI::App& command);
VerbRun setup_help(CLI::App& command);

inline const Verb verbs[] = {
    {"monitor", "print the kernel's uevents as they arrive (like udevadm monitor --kernel --property)",
     setup_monitor},
    {"match", "resolve MODALIAS strings to module names, like modprobe -R", setup_match},
    {"rules", "work with rule files: 'kplug rules check [PATH...]'", setup_rules},
    {"test", "explain what kplugd would do with one event, with no side effects", setup_test},
    {"replay", "run a recorded event stream through kplugd's flow, loading nothing; --against: diff two rule sets",
     setup_replay},
    {"info", "what a rule can match on a device, as match: blocks ready to paste (--attribute-walk: and its parents)",
     setup_info},
    {"doctor", "why a device has no driver: every device's driver, or the reason and what to do", setup_doctor},
    {"status", "what kplugd has seen and done (counters, in-flight loads)", setup_status},
    {"loaded", "the modules kplugd loaded itself, and for which devices", setup_loaded},
    {"reload", "make kplugd re-read its config and rules (root)", setup_reload},
    {"settle", "wait until kplugd has handled every event so far", setup_settle},
    {"trigger", "make the kernel announce present devices again (coldplug on demand)", setup_trigger},
    {"lsmod", "list loaded modules like lsmod, and which kplugd loaded for which device", setup_lsmod},
    {"modinfo", "show a module's metadata like modinfo, and the present devices it matches", setup_modinfo},
    {"insmod", "insert a module file with parameters, like insmod (root)", setup_insmod},
    {"rmmod", "remove loaded modules, like rmmod, naming what holds them (root)", setup_rmmod},
    {"completion", "print the bash, zsh or fish completion script (the package installs them)", setup_completion},
    {"help", "the verbs, or one verb's options: 'kplug help VERB' is 'kplug VERB --help'", setup_help},
};

// Options several verbs share, with one wording.
inline CLI::Option* add_modules_dir_option(CLI::App& command, std::string& modules_dir) {
  return command.add_option("--modules-dir", modules_dir,
                            "the lib/modules/VERSION directory (default: the running kernel's)")
      ->type_name("DIR");
}
inline CLI::Option* add_config_option(CLI::App& command, std::string& config_path) {
  return command.add_option("--config", config_path, "config file (default /etc/kplug/config.yaml)")
      ->type_name("FILE");
}

// Exit codes shared by the verbs: base/exit_code.hpp.

}  // namespace kplug::cli
