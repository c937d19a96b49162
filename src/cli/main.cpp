// kplug: the command-line tool. Dispatches to one verb from the verb table.
#include <exception>
#include <iostream>

#include "cli/verbs.hpp"
#include "base/logging.hpp"

using namespace kplug;
using namespace kplug::cli;

int main(int argc, char** argv) {
  CLI::App app{"kplug: watch uevents, explain and drive module autoloading.\n"
               "Run 'kplug VERB --help' for the options of a verb.",
               "kplug"};
  app.set_version_flag("--version", std::string("kplug ") + KPLUG_VERSION);
  app.require_subcommand(1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "diagnostics on stderr: trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  VerbRun run;
  for (const Verb& verb : verbs) {
    CLI::App* command = app.add_subcommand(verb.name, verb.summary);
    VerbRun verb_run = verb.setup(*command);
    command->callback([&run, verb_run] { run = verb_run; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? exit_ok : exit_usage;
  }
  kplug::setup_logging("kplug", log_level);
  // The verbs report bad input and bad replies as errors; this is the last line of
  // defence, so that nothing a daemon or a file says can make kplug abort.
  try {
    return run();
  } catch (const std::exception& e) {
    std::cerr << "kplug: internal error: " << e.what() << " (please report it)\n";
    return exit_failure;
  }
}
