// Saying and running what the rules ask (see the header).
#include "daemon/rule_commands.hpp"

#include <spdlog/spdlog.h>

#include "base/logging.hpp"
#include "base/text.hpp"
#include "plan/load_report.hpp"

namespace kplug {

RuleCommands::Settings RuleCommands::settings_of(const DaemonOptions& options) {
  return {options.dry_run, options.command_workers, options.command_queue, options.command_timeout};
}

RuleCommands::RuleCommands(boost::asio::io_context& io, Settings settings, Counters& counters, CommandRunner run)
    : settings_(settings), counters_(counters), pool_(io, settings.workers, settings.queue, std::move(run)) {}

void RuleCommands::run_actions(const Uevent& event, const Decision& decision) {
  for (const auto& [rule, text] : decision.logs)
    spdlog::info("{}: rule '{}': {}", describe_event(event), printable(rule, 256), printable(text));
  for (const auto& [rule, argv] : decision.run) do_run(rule, argv, describe_event(event));
}

void RuleCommands::do_run(const std::string& rule, const std::vector<std::string>& argv, const std::string& about) {
  // Placeholders may have put event bytes into the argv: escaped for the log.
  std::string shown;
  for (const auto& a : argv) shown += (shown.empty() ? "" : " ") + fmt::format("'{}'", printable(a, 512));
  std::string rule_name = printable(rule, 256);
  if (settings_.dry_run) return spdlog::info("{}: rule '{}': would run {} (dry run)", about, rule_name, shown);
  bool queued = pool_.submit(argv, settings_.timeout, [this, rule_name, shown, about](const CommandResult& r) {
    if (!r.started) {
      if (r.stopped) return spdlog::info("{}: rule '{}': {} not run: kplugd is stopping", about, rule_name, shown);
      return spdlog::warn("{}: rule '{}': cannot run {}: {}", about, rule_name, shown, printable(r.error));
    }
    ++counters_.commands_run;
    if (r.timed_out) ++counters_.commands_killed;
    auto level = r.exit_status == 0 && !r.timed_out ? spdlog::level::info : spdlog::level::warn;
    std::string how = r.timed_out  ? std::string("killed with its process group after the time limit")
                      : r.stopped ? std::string("killed with its process group: kplugd is stopping")
                                  : fmt::format("exit status {}", r.exit_status);
    spdlog::log(level, "{}: rule '{}': ran {}: {} in {} ms", about, rule_name, shown, how, r.duration.count());
    for (const auto& line : r.output) spdlog::info("  {} | {}", rule_name, printable(line));
  });
  if (!queued) {
    ++counters_.commands_dropped;
    log_fields(spdlog::level::warn, {{"KPLUG_ACTION", "command_dropped"}},
               fmt::format("{}: rule '{}': {} not run: {} commands are already waiting (commands.queue); "
                           "dropped {} so far",
                           about, rule_name, shown, settings_.queue, counters_.commands_dropped));
  }
}

void RuleCommands::stop() {
  if (auto stopped = pool_.stop(); stopped.killed || stopped.dropped) {
    counters_.commands_killed += stopped.killed;
    spdlog::info("stopping: killed {} running rule command(s), dropped {} queued", stopped.killed, stopped.dropped);
  }
}

}  // namespace kplug
