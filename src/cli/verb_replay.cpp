// `kplug replay FILE`: a recorded stream through kplugd's own flow, loading nothing
// (replay/replay.hpp): every decision, load and unload it would make, and a summary.
// With --against, the same stream through two rule sets: only the events whose outcome
// differs, both outcomes side by side, exit 1 if any does (CI for a rules repository).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "base/file.hpp"
#include "base/text.hpp"
#include "cli/verbs.hpp"
#include "control/events.hpp"
#include "control/protocol.hpp"
#include "replay/replay.hpp"
#include "kmod/kmod_context.hpp"
#include "kmod/modprobe_blacklist.hpp"
#include "rules/settings.hpp"

namespace kplug::cli {

namespace {

struct ReplayOptions {
  std::string file, config_path, modules_dir;
  std::vector<std::string> rules, against, modprobe_config;
  bool json = false, summary_only = false;
  std::shared_ptr<const std::string> stdin_text;  // FILE "-": standard input, read once
};

// Standard input, or more than any recording should be, is kept in memory once.
constexpr std::size_t max_stdin_recording = 256u << 20;

// The stream to read: FILE, or what was read from standard input.
std::unique_ptr<std::istream> open_stream(const ReplayOptions& o) {
  if (o.stdin_text) return std::make_unique<std::istringstream>(*o.stdin_text);
  return std::make_unique<std::ifstream>(o.file);
}

// The kernel the stream was recorded on, from its header ("" when it has none).
std::string recorded_kernel(const ReplayOptions& o) {
  auto in = open_stream(o);
  RecordReader reader(*in);
  auto first = reader.next();
  return first && reader.header() ? reader.header()->kernel : "";
}

Result<Settings, std::string> settings_for(const ReplayOptions& o, const std::vector<std::string>& rules) {
  Overrides overrides;
  if (!o.config_path.empty()) overrides.config_path = o.config_path;
  if (!o.modules_dir.empty()) overrides.modules_dir = o.modules_dir;
  // Unless told otherwise, the recorded kernel's tree when this machine has it.
  std::string kernel = recorded_kernel(o);
  std::error_code ec;
  bool plain = !kernel.empty() && kernel.find('/') == std::string::npos && kernel != "." && kernel != "..";
  if (o.modules_dir.empty() && plain && std::filesystem::is_directory("/lib/modules/" + kernel, ec))
    overrides.modules_dir = "/lib/modules/" + kernel;
  overrides.modprobe_config = o.modprobe_config;
  overrides.rule_paths = rules;
  auto settings = load_settings(overrides);
  if (settings && !kernel.empty() && std::filesystem::path(settings->options.modules_dir.empty()
                                                              ? default_modules_dir()
                                                              : settings->options.modules_dir)
                                             .filename() != kernel)
    std::cerr << fmt::format("kplug replay: {} was recorded on {}; resolving against {} (--modules-dir picks "
                             "another tree)\n",
                             o.file, printable(kernel, 256), settings->options.modules_dir.empty() ? "the running kernel's tree"
                                                                                  : settings->options.modules_dir);
  if (!settings) {
    std::string text;
    for (const auto& d : settings.error()) text += (text.empty() ? "" : "\n") + d.to_string();
    return unexpected(text);
  }
  return std::move(*settings);
}

// One event's outcome, as shown: the stream's messages in words, without times.
std::string outcome_text(const std::vector<nlohmann::json>& messages) {
  std::string out;
  for (const nlohmann::json& m : messages) {
    auto text = control::describe_stream_message(as_would(m));
    out += (text ? *text : m.dump()) + "\n";
  }
  return out;
}

// What two replays compare: what is done — ignored or not, autoload, the modules and how
// each load and unload went, the commands — not which rules matched nor in what words.
std::string outcome_key(const std::vector<nlohmann::json>& messages) {
  nlohmann::json key = nlohmann::json::array();
  for (const auto& m : messages) {
    auto message = control::event_from_json(m);
    if (!message) continue;
    if (const auto* d = std::get_if<control::DecisionMessage>(&*message)) {
      nlohmann::json run = nlohmann::json::array();
      for (const auto& r : d->run) run.push_back({r.rule, r.argv});
      key.push_back({"decision", d->ignored, d->autoload, d->load, run});
    } else if (const auto* l = std::get_if<control::LoadsMessage>(&*message)) {
      for (const auto& o : l->outcomes) key.push_back({"loads", o.module, o.status, o.pulled_in});
    } else {
      const auto& u = std::get<control::UnloadMessage>(*message);
      key.push_back({"unload", u.module, u.status, u.removed_dependencies});
    }
  }
  return key.dump();
}

struct Run {
  ReplayResult result;
  struct Event {
    std::string what, outcome, key;  // the event; its outcome in words; what is compared
  };
  std::vector<Event> events;
};

Result<Run, std::string> replay_file(const ReplayOptions& o, const std::vector<std::string>& rules,
                                     const ReplayObserver& shown, bool keep_outcomes) {
  auto settings = settings_for(o, rules);
  if (!settings) return unexpected(settings.error());
  auto in = open_stream(o);
  if (!*in) return unexpected(fmt::format("cannot read {}: {}", o.file, std::strerror(errno)));
  RecordReader reader(*in);
  Run run;
  std::vector<nlohmann::json> pending;
  ReplayObserver observer;
  observer.message = [&](const nlohmann::json& m) {
    if (shown.message) shown.message(m);
    if (keep_outcomes) pending.push_back(m);
  };
  observer.event_done = [&](const Uevent& ev) {
    if (keep_outcomes)
      run.events.push_back({fmt::format("{} {} ({}) SEQNUM={}", printable(ev.action, 64), printable(ev.devpath),
                                        printable(ev.subsystem, 256), ev.seqnum),
                            outcome_text(pending), outcome_key(pending)});
    pending.clear();
  };
  // The header's kernel: the tree to resolve against, unless told otherwise.
  std::set<std::string> live;
  auto tree = open_replay_tree(settings->options);
  if (!tree) return unexpected(fmt::format("{}: {}", o.file, tree.error()));
  // The replayed kplugd's own info lines would say "loaded usbhid in 0.0 ms": the report
  // above says what it would do, in words; only its warnings and errors are shown.
  auto level = spdlog::default_logger()->level();
  spdlog::default_logger()->set_level(std::max(level, spdlog::level::warn));
  auto result = replay_stream(reader, std::move(*settings), live, observer, std::move(*tree));
  spdlog::default_logger()->set_level(level);
  if (!result) return unexpected(fmt::format("{}: {}", o.file, result.error()));
  run.result = std::move(*result);
  return run;
}

// "usbhid (3×), hid (3×)": each module once, in the order first seen, with how often.
std::vector<std::pair<std::string, std::size_t>> counted(const std::vector<std::string>& names) {
  std::vector<std::pair<std::string, std::size_t>> out;
  for (const auto& n : names) {
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == n; });
    if (it == out.end()) out.emplace_back(n, 1);
    else ++it->second;
  }
  return out;
}

std::string counted_text(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::vector<std::string> parts;
  for (const auto& [name, n] : counted(names)) parts.push_back(n == 1 ? name : fmt::format("{} ({}x)", name, n));
  return fmt::format("{}", fmt::join(parts, ", "));
}

// Which modprobe.d line blacklists MODULE (libkmod applies the blacklist but cannot say),
// or that none of the files read names it: never a guess.
std::string blacklisted_where(const ReplayOptions& o, const std::string& module) {
  std::string where = find_blacklist(module, o.modprobe_config);
  return where.empty() ? "no modprobe.d file read names it (the kernel command line's modprobe.blacklist= may)"
                       : where;
}

void print_summary(const ReplayOptions& o, const ReplayResult& r, double seconds) {
  std::cout << fmt::format("\nreplayed {} event(s) ({:.1f} s recorded) in {:.2f} s\n", r.events, r.recorded_seconds,
                           seconds);
  std::cout << fmt::format("would load: {}\n", counted_text(r.loaded));
  if (!r.blacklisted.empty()) {
    std::cout << fmt::format("not loaded, blacklisted: {}\n", counted_text(r.blacklisted));
    for (const auto& [name, n] : counted(r.blacklisted))
      std::cout << fmt::format("  {}: {}\n", printable(name, 64), printable(blacklisted_where(o, name)));
  }
  std::cout << fmt::format("would unload: {}\n", counted_text(r.unloaded));
  if (r.pending_unloads)
    std::cout << fmt::format("unloads still in their grace period when the stream ends: {}\n", r.pending_unloads);
  std::cout << fmt::format("commands: {}\n", r.commands.empty() ? "none" : std::to_string(r.commands.size()));
  for (const auto& [c, n] : counted(r.commands)) std::cout << "  " << c << (n == 1 ? "" : fmt::format(" ({}x)", n)) << '\n';
}

nlohmann::json summary_json(const ReplayOptions& o, const ReplayResult& r, double seconds) {
  auto as_object = [](const std::vector<std::string>& names) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [name, n] : counted(names)) list.push_back({{"module", name}, {"times", n}});
    return list;
  };
  nlohmann::json commands = nlohmann::json::array();
  for (const auto& [c, n] : counted(r.commands)) commands.push_back({{"command", c}, {"times", n}});
  nlohmann::json blacklisted = nlohmann::json::array();
  for (const auto& [name, n] : counted(r.blacklisted)) {
    std::string where = find_blacklist(name, o.modprobe_config);
    blacklisted.push_back({{"module", name}, {"times", n}, {"where", where.empty() ? nlohmann::json() : nlohmann::json(where)}});
  }
  return {{"type", "summary"},     {"events", r.events}, {"recorded_seconds", r.recorded_seconds},
          {"seconds", seconds},    {"loaded", as_object(r.loaded)}, {"unloaded", as_object(r.unloaded)},
          {"blacklisted", blacklisted},
          {"commands", commands},  {"pending_unloads", r.pending_unloads}};
}

int run_against(const ReplayOptions& o) {
  auto before = replay_file(o, o.rules, {}, true);
  if (!before) return std::cerr << "kplug replay: " << before.error() << '\n', exit_cannot;
  auto after = replay_file(o, o.against, {}, true);
  if (!after) return std::cerr << "kplug replay: " << after.error() << '\n', exit_cannot;
  std::size_t differ = 0;
  nlohmann::json list = nlohmann::json::array();
  for (std::size_t i = 0; i < before->events.size() && i < after->events.size(); ++i) {
    const auto& [event, old_outcome, old_key] = before->events[i];
    const auto& new_outcome = after->events[i].outcome;
    if (old_key == after->events[i].key) continue;
    ++differ;
    if (o.json) {
      list.push_back({{"index", i + 1}, {"event", event}, {"before", old_outcome}, {"after", new_outcome}});
      continue;
    }
    std::cout << fmt::format("event {}: {}\n", i + 1, event);
    auto side = [](const char* label, const std::string& text) {
      std::cout << "  " << label << '\n';
      if (text.empty()) std::cout << "    (nothing)\n";
      std::size_t start = 0;
      for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
        std::cout << "    " << text.substr(start, nl - start) << '\n';
    };
    side("before (--rules):", old_outcome);
    side("after (--against):", new_outcome);
  }
  if (o.json)
    std::cout << nlohmann::json({{"events", before->events.size()}, {"differ", differ}, {"differences", list}}).dump()
              << '\n';
  else
    std::cout << fmt::format("{} of {} event(s) differ\n", differ, before->events.size());
  return differ ? exit_found : exit_ok;
}

int run_replay(ReplayOptions& o) {
  // A directory opens as a stream that reads nothing ("replayed 0 events"): refused.
  std::error_code ec;
  if (o.file != "-" && std::filesystem::is_directory(o.file, ec))
    return std::cerr << "kplug replay: " << printable(o.file) << " is a directory, not a recording\n", exit_cannot;
  if (o.file == "-") {
    auto text = read_input("-", max_stdin_recording);
    if (!text) return std::cerr << "kplug replay: " << text.error().message << '\n', exit_cannot;
    o.stdin_text = std::make_shared<const std::string>(std::move(*text));
  }
  if (!o.against.empty()) return run_against(o);
  ReplayObserver shown;
  if (!o.summary_only)
    shown.message = [&](const nlohmann::json& m) {
      if (o.json) return void(std::cout << control::to_line(m));
      auto text = control::describe_stream_message(as_would(m));  // nothing was loaded
      std::cout << (text ? *text : m.dump()) << '\n';
    };
  auto start = std::chrono::steady_clock::now();
  auto run = replay_file(o, o.rules, shown, false);
  if (!run) return std::cerr << "kplug replay: " << run.error() << '\n', exit_cannot;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (o.json) std::cout << summary_json(o, run->result, seconds).dump() << '\n';
  else print_summary(o, run->result, seconds);
  return exit_ok;
}

}  // namespace

VerbRun setup_replay(CLI::App& command) {
  auto o = std::make_shared<ReplayOptions>();
  command.add_option("FILE", o->file, "a recorded stream: kplug monitor --record FILE [--coldplug]; - reads standard "
                                      "input (at most 256 MiB)")->required();
  add_config_option(command, o->config_path);
  add_modules_dir_option(command, o->modules_dir);
  command.add_option("--rules", o->rules, "rule files or directories to use instead of the configured rules dirs")
      ->allow_extra_args(false);
  command.add_option("--modprobe-config", o->modprobe_config,
                     "modprobe.d file or directory to use instead of the system's (repeatable)")
      ->allow_extra_args(false);
  command.add_option("--against", o->against,
                     "other rule files or directories: show only the events whose outcome differs, exit 1 if any")
      ->allow_extra_args(false);
  command.add_flag("--json", o->json, "the decisions, loads and unloads as JSON lines, then a summary line");
  command.add_flag("--summary", o->summary_only, "only the summary");
  command.footer(
      "The stream goes through kplugd's own code: the event queue, the rules, the resolver,\n"
      "load planning and the unloader, whose grace periods run on the recorded times. The\n"
      "loader inserts nothing but remembers what would be loaded; rule commands are listed,\n"
      "not run; `attr:` conditions do not match (a recording has no sysfs attributes).\n\n"
      "Examples:\n"
      "  kplug monitor --record boot.events --coldplug      # on the machine\n"
      "  kplug replay boot.events --modules-dir /lib/modules/6.1.0-57-amd64\n"
      "  kplug replay boot.events --rules rules.d --against rules.d.new   # exit 1 if they differ");
  return [o] { return run_replay(*o); };
}

}  // namespace kplug::cli
