// Rule actions: the lines `log:` asks to say and the commands `run:` asks to run, on the
// command pool (their own threads, a bounded queue, killed with their process group at
// their time limit and at stop), so a slow command never delays a module load.
#pragma once

#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "daemon/command_pool.hpp"
#include "daemon/counters.hpp"
#include "rules/decision.hpp"
#include "rules/settings.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

class RuleCommands {
 public:
  // What the config sets for commands, fixed from start to stop (a reload keeps them).
  struct Settings {
    bool dry_run = false;                     // say what would run, run nothing
    unsigned workers = 4;                     // commands running at once
    std::size_t queue = 256;                  // waiting; more are dropped and counted
    std::chrono::milliseconds timeout{10000};  // then the process group is killed
  };
  static Settings settings_of(const DaemonOptions& options);

  // RUN runs each command (run_command in kplugd).
  RuleCommands(boost::asio::io_context& io, Settings settings, Counters& counters, CommandRunner run);

  void run_actions(const Uevent& event, const Decision& decision);
  // Kills what runs, drops what waits.
  void stop();
  std::size_t running() const { return pool_.running(); }
  std::size_t queued() const { return pool_.queued(); }

 private:
  void do_run(const std::string& rule, const std::vector<std::string>& argv, const std::string& about);

  Settings settings_;
  Counters& counters_;
  CommandPool pool_;
};

}  // namespace kplug
