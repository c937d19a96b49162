// kplugd's core: one io_context thread reads the uevent socket, decides, resolves and
// hands module loads to a loader thread; results come back to the same thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <spdlog/common.h>

#include "control/protocol.hpp"
#include "daemon/command_pool.hpp"
#include "daemon/control_server.hpp"
#include "daemon/counters.hpp"
#include "daemon/event_queue.hpp"
#include "daemon/handled_devices.hpp"
#include "daemon/loader_pool.hpp"
#include "daemon/ledger.hpp"
#include "daemon/load_report.hpp"
#include "daemon/options.hpp"
#include "kmod/module_loader.hpp"
#include "rules/decision.hpp"
#include "rules/rule.hpp"
#include "kmod/resolver.hpp"
#include "uevent/netlink_source.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

class Daemon {
 public:
  // SOURCE may be null (tests feed events through on_uevent directly).
  Daemon(boost::asio::io_context& io, DaemonOptions options, std::unique_ptr<NetlinkSource> source,
         std::unique_ptr<Resolver> resolver, std::vector<std::unique_ptr<ModuleLoader>> loaders, RuleSet rules = {});
  // With one loader thread (tests).
  Daemon(boost::asio::io_context& io, DaemonOptions options, std::unique_ptr<NetlinkSource> source,
         std::unique_ptr<Resolver> resolver, std::unique_ptr<ModuleLoader> loader, RuleSet rules = {});

  // Called on SIGHUP to read the config and rules again; without one, SIGHUP is ignored.
  using Reloader = std::function<Result<Settings, Diagnostics>()>;
  void set_reloader(Reloader reloader) { reloader_ = std::move(reloader); }
  // Sysfs attribute reads for `attr:` conditions (tests swap in a fake).
  void set_attr_reader(AttrReader reader) { attrs_ = std::move(reader); }
  // Replaces config and rules at once, or keeps the old ones and logs why; returns the
  // problems that stopped it (empty on success).
  Diagnostics reload();
  // Opens the control socket (before start()); an error stops start-up.
  Result<bool, std::string> open_control(const std::string& path);
  // Loads the ledger a previous kplugd left in PATH; modules no longer loaded and devices
  // gone meanwhile are dealt with. Later changes are saved there.
  void restore_state(const std::string& path);
  ~Daemon();

  // Coldplug the present devices (unless disabled), then read the socket until a
  // signal or stop(). Returns at once; the work happens in io.run().
  void start();
  // Close every source so io.run() drains and returns.
  void stop(int exit_code = exit_ok);

  // Queues the event; it is handled as soon as no earlier event of its device tree is
  // still being handled.
  void on_uevent(Uevent event);

  const Counters& counters() const { return counters_; }
  const Ledger& ledger() const { return ledger_; }
  const EventQueue& queue() const { return queue_; }
  int exit_code() const { return exit_code_; }

 private:
  // Every present device as an `add` event: at start, and again (a rescan) after the
  // kernel dropped events, so nothing a lost event should have loaded stays missing.
  void do_coldplug(bool rescan = false);
  // Events were lost (ENOBUFS; a SEQNUM gap alone is no loss): rescan sysfs shortly,
  // once per storm.
  void request_rescan(const std::string& why);
  void do_rescan();
  // Devices in the ledger that are gone from /sys: handled as if removed now. Returns
  // how many.
  std::size_t forget_gone_devices(spdlog::level::level_enum level = spdlog::level::info);
  void do_read();
  void on_readable();
  void on_receive(ReceiveOutcome& outcome);
  std::vector<LoadJob> plan_loads(const Uevent& event, const Decision& decision, LoadReport& report);
  void do_rule_actions(const Uevent& event, const Decision& decision);
  void do_run(const std::string& rule, const std::vector<std::string>& argv, const std::string& about);
  void do_dispatch();
  void on_event_ready(EventQueue::Ticket ticket, const Uevent& event);
  void do_load(LoadJob job, std::shared_ptr<LoadReport> report);
  // One try of a load in flight; a try that failed for lack of descriptors is retried.
  void do_load_attempt(const LoadJob& job, const std::shared_ptr<LoadReport>& report, int attempt);
  void on_load_result(const LoadJob& job, const std::shared_ptr<LoadReport>& report, int attempt,
                      const LoadResult& result);
  void on_load_done(const LoadJob& job, const LoadResult& result, const std::shared_ptr<LoadReport>& report,
                    bool coalesced);
  void on_slow_load(const LoadJob& job);
  void on_device_removed(const Uevent& event);
  void keep_loaded_for(const std::vector<LoadJob>& jobs, const Uevent& event);
  void do_schedule_unload(const std::string& module, const std::string& devpath, std::chrono::milliseconds grace);
  void on_unload_timer(const std::string& module);
  void do_unload(const std::string& module);
  void on_unload_done(const std::string& module, const UnloadResult& result);
  void do_unload_leftovers();
  void do_wait_signal();
  // Runs FN(ModuleLoader&) on a loader thread, then DONE(result) back on the loop.
  template <typename Fn, typename Done>
  void on_loader(Fn fn, Done done);
  void on_coldplug_step_done();
  void on_signal(int signal);
  void on_ready();
  void do_watchdog();
  void save_state();
  // Control requests (control_requests.cpp).
  void on_control(const std::shared_ptr<ControlSession>& session, const control::Request& request);
  control::StatusReply status_reply() const;
  void publish(const nlohmann::json& message);
  void do_settle_check();
  void check_settles();

  boost::asio::io_context& io_;
  DaemonOptions options_;
  std::unique_ptr<NetlinkSource> source_;
  std::unique_ptr<Resolver> resolver_;
  LoaderPool loaders_;
  std::shared_ptr<const RuleSet> rules_;
  Reloader reloader_;
  AttrReader attrs_;
  std::optional<boost::asio::posix::stream_descriptor> socket_;
  boost::asio::signal_set signals_;
  // Rule commands run on their own threads: a slow one never delays a module load.
  CommandPool commands_;
  EventQueue queue_;
  // Module -> the loads that arrived while its load was in flight; they share its result.
  std::map<std::string, std::vector<std::pair<LoadJob, std::shared_ptr<LoadReport>>>> coalesced_;
  std::map<std::string, std::unique_ptr<boost::asio::steady_timer>> slow_timers_;
  std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> slow_loads_;
  Counters counters_;
  Ledger ledger_;
  std::string state_path_;  // "" = not persisted (dry run, tests)
  std::uint64_t saved_revision_ = ~std::uint64_t{0};  // the ledger revision on disk
  std::unique_ptr<ControlServer> control_;
  std::vector<std::weak_ptr<ControlSession>> subscribers_;  // `events` streams
  struct PendingSettle {
    std::shared_ptr<ControlSession> session;
    std::uint64_t target_seqnum;
    std::chrono::steady_clock::time_point deadline;
    int quiet_checks = 0;
  };
  std::vector<PendingSettle> settles_;
  std::optional<boost::asio::steady_timer> settle_timer_;
  std::optional<boost::asio::steady_timer> watchdog_timer_;
  std::uint64_t last_seqnum_ = 0;  // highest kernel SEQNUM handled
  std::size_t in_flight_ = 0;      // loads and unloads handed to the loader thread
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  bool ready_ = false;
  std::map<std::string, std::unique_ptr<boost::asio::steady_timer>> unload_timers_;
  // Dependencies kplugd pulled in that were still held when their module went; tried
  // again after every later unload (e.g. hid, held by hid_generic when usbhid goes first).
  std::set<std::string> leftover_deps_;
  bool stopping_ = false;
  int exit_code_ = exit_ok;
  // Coldplug is complete when every load it started has finished.
  bool coldplug_running_ = false;
  std::size_t coldplug_pending_ = 0;
  std::chrono::steady_clock::time_point coldplug_started_;
  bool rescanning_ = false;     // the running coldplug is a rescan
  bool rescan_again_ = false;   // more events were lost during the rescan
  std::string rescan_why_;
  RescanTally rescan_tally_;    // what the running rescan found
  HandledDevices handled_;      // devices whose add was handled: a rescan does not repeat their rules' actions
  bool overrun_gap_pending_ = false;  // an overrun whose SEQNUM gap has not shown yet
  std::optional<boost::asio::steady_timer> rescan_timer_;  // pending rescan (debounce)
};

}  // namespace kplug
