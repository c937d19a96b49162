// kplug: the command-line tool. Dispatches to one verb from the verb table.
#include <algorithm>
#include <exception>
#include <iostream>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/logging.hpp"
#include "base/text.hpp"
#include "cli/verbs.hpp"

using namespace kplug;
using namespace kplug::cli;

namespace {

std::vector<std::string> long_flags(const CLI::App& app) {
  std::vector<std::string> out;
  for (const CLI::Option* opt : app.get_options())
    for (const auto& name : opt->get_lnames()) out.push_back("--" + name);
  return out;
}

// "unknown verb 'PREFIXWORD'" with the nearest of `names`, or the list of them.
std::string unknown_verb(const std::string& prefix, const std::string& word, const std::vector<std::string>& names) {
  std::string hint = did_you_mean(word, names);
  if (!hint.empty()) return fmt::format("unknown verb '{}{}'; did you mean '{}{}'?", prefix, word, prefix, hint);
  return fmt::format("unknown verb '{}{}' ({}verbs: {})", prefix, word, prefix, fmt::join(names, ", "));
}

// True when `name` is a known option that takes a value (`--log-level warn`, `--config F`).
bool takes_value(CLI::App& app, CLI::App* verb, const std::string& name) {
  for (CLI::App* scope : {verb, &app}) {
    if (scope == nullptr) continue;
    if (const CLI::Option* opt = scope->get_option_no_throw(name)) return opt->get_type_size() != 0;
  }
  return false;
}

// What a mistyped verb or flag was meant to be, as one line; "" when nothing on the
// command line is unknown (the error is about something else).
std::string typo_hint(CLI::App& app, int argc, char** argv) {
  CLI::App* verb = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.starts_with("--")) {
      std::string name = arg.substr(0, arg.find('='));
      auto known = long_flags(verb ? *verb : app);
      if (verb)
        for (const auto& global : long_flags(app)) known.push_back(global);
      if (std::find(known.begin(), known.end(), name) != known.end()) {
        if (arg.find('=') == std::string::npos && takes_value(app, verb, name)) ++i;  // its value
        continue;
      }
      std::string hint = did_you_mean(name, known);
      return fmt::format("unknown option '{}'{}", name, hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint));
    }
    if (arg.starts_with("-")) continue;
    if (verb) {
      // A verb with verbs of its own (`rules check`): the next word must be one of them.
      auto nested = verb->get_subcommands({});
      if (nested.empty()) continue;  // an operand
      std::vector<std::string> names;
      for (const CLI::App* n : nested) names.push_back(n->get_name());
      if (std::find(names.begin(), names.end(), arg) != names.end()) {
        verb = verb->get_subcommand(arg);
        continue;
      }
      return unknown_verb(verb->get_name() + " ", arg, names);
    }
    try {
      verb = app.get_subcommand(arg);
    } catch (const CLI::OptionNotFound&) {
      std::vector<std::string> names;
      for (const Verb& v : verbs) names.emplace_back(v.name);
      return unknown_verb("", arg, names);
    }
  }
  return "";
}

// What an option's value is, in the words the man pages use (FILE, DIR, PATH), for the
// options whose type CLI11 would call TEXT.
void name_values(CLI::App& app) {
  static const std::map<std::string, std::string> names = {
      {"socket", "PATH"},   {"rules", "PATH"},      {"against", "PATH"},  {"modprobe-config", "PATH"},
      {"event", "FILE"},    {"record", "FILE"},     {"devpath", "DEVPATH"}, {"subsystem", "SUBSYSTEM"},
      {"action", "ACTION"}, {"log-level", "LEVEL"}, {"format", "FORMAT"}, {"modules-dir", "DIR"},
      {"config", "FILE"},   {"max-size", "BYTES"},  {"group", "MASK"},   {"field", "FIELD"}};
  for (CLI::Option* opt : app.get_options())
    if (!opt->get_lnames().empty())
      if (auto it = names.find(opt->get_lnames().front()); it != names.end()) opt->type_name(it->second);
  for (CLI::App* sub : app.get_subcommands({})) name_values(*sub);
}

}  // namespace

namespace kplug::cli {

// `kplug help [VERB...]`: what --help prints, for those who type help first.
VerbRun setup_help(CLI::App& command) {
  auto words = std::make_shared<std::vector<std::string>>();
  command.add_option("verb", *words, "a verb (and a nested verb: 'help rules check')");
  CLI::App* root = command.get_parent();
  return [root, words]() -> int {
    CLI::App* at = root;
    for (const std::string& word : *words) {
      CLI::App* next = nullptr;
      for (CLI::App* sub : at->get_subcommands({}))
        if (sub->get_name() == word) next = sub;
      if (!next) return std::cerr << "kplug help: no verb '" << printable(word, 64) << "'\n", exit_usage;
      at = next;
    }
    std::cout << at->help();
    return exit_ok;
  };
}

}  // namespace kplug::cli

int main(int argc, char** argv) {
  CLI::App app{"kplug: watch uevents, explain and drive module autoloading.\n"
               "Run 'kplug VERB --help' for the options of a verb.",
               "kplug"};
  app.footer("Exit status, the same for every verb: 0 ran and all is well; 1 ran and found something\n"
             "(a device not driven, outcomes that differ, no match, problems in rule files, not\n"
             "settled in time); 2 bad command line; 3 could not do the job (a file missing, kplugd\n"
             "unreachable, no module index): the answer is unknown.");
  app.set_version_flag("--version", std::string("kplug ") + KPLUG_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // --log-level after the verb too (inherited by every verb)
  // What an option's value is, in the words the man pages use, not CLI11's type names.
  auto formatter = app.get_formatter();
  formatter->label("TEXT", "VALUE");
  formatter->label("UINT", "N");
  formatter->label("INT", "N");
  formatter->label("INT64", "N");
  formatter->label("FLOAT", "NUMBER");
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
  name_values(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::string hint = typo_hint(app, argc, argv);
    // Every error names what said it: "kplug VERB: ..." once the verb is known.
    std::string who = "kplug";
    for (CLI::App* at = &app; !at->get_subcommands().empty();) {
      at = at->get_subcommands().front();
      who += " " + at->get_name();
    }
    if (hint.starts_with("unknown verb")) who = "kplug";  // the verb itself is the error
    std::cerr << who << ": " << (hint.empty() ? std::string(e.what()) : hint) << "\n"
              << (who == "kplug" ? std::string("Run 'kplug --help' for the verbs, 'kplug VERB --help' for a verb's options.")
                                 : "Run '" + who + " --help' for its options.")
              << "\n";
    return exit_usage;
  }
  kplug::setup_logging("kplug", log_level);
  // The verbs report bad input and bad replies as errors; this is the last line of
  // defence, so that nothing a daemon or a file says can make kplug abort.
  try {
    return run();
  } catch (const std::exception& e) {
    std::cerr << "kplug: internal error: " << e.what() << " (please report it)\n";
    return exit_cannot;
  }
}
