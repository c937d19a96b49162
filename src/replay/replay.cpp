// Replaying a recorded stream through kplugd's flow (see the header).
#include "replay/replay.hpp"

#include "base/text.hpp"

#include <csignal>
#include <map>
#include <tuple>

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include "control/events.hpp"
#include "daemon/daemon.hpp"
#include "daemon/manual_timers.hpp"
#include "kmod/resolver.hpp"
#include "kmod/simulated_loader.hpp"

namespace kplug {

namespace {

using Seconds = std::chrono::duration<double>;

// The machine as the stream tells it: devices added and not yet removed, the modules the
// simulated loader holds. Recorded events carry no sysfs attributes: `attr:` conditions
// do not match in a replay.
class RecordedSystem : public SystemView {
 public:
  RecordedSystem(const SimulatedModules& modules, const std::set<std::string>& present, const std::uint64_t& seqnum)
      : modules_(modules), present_(present), seqnum_(seqnum) {}
  Result<std::size_t, std::string> walk_devices(const Wanted&, const Visit&) override { return std::size_t{0}; }
  bool device_present(const std::string& devpath) override { return present_.count(devpath) > 0; }
  std::set<std::string> live_modules() override { return modules_.live(); }
  std::uint64_t kernel_seqnum() override { return seqnum_; }
  std::optional<std::string> read_attribute(const std::string&, const std::string&) override { return std::nullopt; }

 private:
  const SimulatedModules& modules_;
  const std::set<std::string>& present_;
  const std::uint64_t& seqnum_;
};

// What the stream's messages say was done, for the summary.
void tally(const nlohmann::json& m, ReplayResult& result) {
  auto message = control::event_from_json(m);
  if (!message) return;  // the replayed kplugd's own messages: always well formed
  if (const auto* l = std::get_if<control::LoadsMessage>(&*message)) {
    for (const auto& o : l->outcomes) {
      if (o.status == "loaded") {
        result.loaded.insert(result.loaded.end(), o.pulled_in.begin(), o.pulled_in.end());
        result.loaded.push_back(o.module);
      }
      if (o.status == "blacklisted") result.blacklisted.push_back(o.module);
    }
  } else if (const auto* u = std::get_if<control::UnloadMessage>(&*message)) {
    if (u->status != "unloaded") return;
    result.unloaded.push_back(u->module);
    result.unloaded.insert(result.unloaded.end(), u->removed_dependencies.begin(), u->removed_dependencies.end());
  } else {
    for (const auto& run : std::get<control::DecisionMessage>(*message).run) {
      std::string shown;
      for (const auto& a : run.argv) shown += (shown.empty() ? "" : " ") + fmt::format("'{}'", printable(a));
      result.commands.push_back(fmt::format("rule '{}' would run: {}", printable(run.rule, 256), shown));
    }
  }
}

// What the replayed kplugd sees of the machine, as the stream has told it so far.
struct Recorded {
  double now = 0;  // the replay's time: the recorded receive time of the event at hand
  std::set<std::string> present;
  std::uint64_t seqnum = 0;
  SimulatedModules modules;

  explicit Recorded(const std::set<std::string>& live) : modules(live) {}
  // REC is the replay's now: its time, its device present or gone, its SEQNUM the last.
  void arrived(const RecordedEvent& rec) {
    now = rec.timestamp;
    if (rec.event.action == "remove") present.erase(rec.event.devpath);
    else present.insert(rec.event.devpath);
    seqnum = std::max(seqnum, rec.event.seqnum);
  }
  // The Daemon's seams over this record: TREE's resolver, one simulated loader (an
  // event's outcomes come back in a fixed order), GRACE for the unloader's timers.
  DaemonSeams seams(boost::asio::io_context& io, ReplayTree tree, std::unique_ptr<NamedTimers> grace);
};

CommandResult no_commands(const std::vector<std::string>&, std::chrono::milliseconds, RunningGroups*);

DaemonSeams Recorded::seams(boost::asio::io_context& io, ReplayTree tree, std::unique_ptr<NamedTimers> grace) {
  DaemonSeams seams;
  seams.resolver = std::move(tree.resolver);
  seams.loaders.push_back(std::make_unique<SimulatedLoader>(std::move(tree.modules), modules));
  seams.system = std::make_unique<RecordedSystem>(modules, present, seqnum);
  seams.clock = [this] {
    return std::chrono::steady_clock::time_point(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        Seconds(now)));
  };
  auto shared = std::make_shared<std::unique_ptr<NamedTimers>>(std::move(grace));
  seams.timers = [shared, &io](const std::string& part) -> std::unique_ptr<NamedTimers> {
    return part == "grace" ? std::move(*shared) : make_asio_timers(io);
  };
  seams.wall_clock = system_wall_clock();  // only what people read (a failure's time)
  seams.commands = no_commands;
  return seams;
}

// A replay is a dry run: rule commands are told, never handed to a runner.
CommandResult no_commands(const std::vector<std::string>&, std::chrono::milliseconds, RunningGroups*) {
  CommandResult never;
  never.error = "a replay runs no command";
  return never;
}

}  // namespace

Result<ReplayTree, std::string> open_replay_tree(const DaemonOptions& options) {
  auto resolver_ctx = KmodContext::open({options.modules_dir, options.modprobe_config});
  if (!resolver_ctx) return unexpected(resolver_ctx.error());
  auto loader_ctx = KmodContext::open({options.modules_dir, options.modprobe_config});
  if (!loader_ctx) return unexpected(loader_ctx.error());
  return ReplayTree{std::make_unique<KmodResolver>(std::move(*resolver_ctx)), kmod_tree(std::move(*loader_ctx))};
}

Result<ReplayResult, std::string> replay_stream(RecordReader& reader, Settings settings,
                                                const std::set<std::string>& live, const ReplayObserver& observer,
                                                ReplayTree tree) {
  DaemonOptions options = settings.options;
  options.dry_run = true;  // rule commands are told, not run; the loader below inserts nothing anyway
  options.coldplug = false;
  options.metrics_file.clear();

  ReplayResult result;
  boost::asio::io_context io;
  Recorded world(live);
  // Grace periods on the recorded time: they fire when the replay's time passes them.
  auto grace = std::make_shared<ManualTimerState>();
  grace->now = [&world] { return world.now; };
  DaemonSeams seams = world.seams(io, std::move(tree), std::make_unique<ManualTimers>(grace));
  seams.observer = [&](const nlohmann::json& m) {
    tally(m, result);
    if (observer.message) observer.message(m);
  };
  Daemon daemon(io, options, std::move(seams), std::move(settings.rules));
  // The Daemon catches SIGINT, SIGTERM and SIGHUP for kplugd; a replay stops on them as
  // any command does.
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, SIG_DFL);

  // Until every event so far is handled and every load and unload has answered. (A work
  // guard, making run_one() wait for the loader thread instead of polling, measured slower
  // and no cheaper in CPU: 24.2 s against 20.0 s for 100,000 events.)
  auto drain = [&] {
    for (;;) {
      io.restart();
      io.poll();
      if (daemon.idle()) return;
      io.restart();
      io.run_one();
    }
  };
  // Grace periods that ended before UNTIL, in order, each at its own time.
  auto fire_until = [&](double until) {
    while (auto due = grace->take_due(until)) {
      world.now = due->first;
      due->second();
      drain();
    }
  };

  double first = -1;
  for (;;) {
    auto next = reader.next();
    if (!next) return unexpected(next.error());
    if (!*next) break;
    RecordedEvent& rec = **next;
    if (first < 0) {
      first = rec.timestamp;
      if (reader.header()) world.modules.add_live(reader.header()->modules);
    }
    fire_until(rec.timestamp);
    result.recorded_seconds = rec.timestamp - first;
    world.arrived(rec);
    ++result.events;
    daemon.on_uevent(rec.event);
    drain();
    if (observer.event_done) observer.event_done(rec.event);
  }
  result.pending_unloads = grace->timers.size();
  daemon.stop();
  drain();
  return result;
}

nlohmann::json as_would(nlohmann::json message) {
  if (!message.is_object()) return message;
  auto type = message.find("type");
  if (type == message.end() || !type->is_string()) return message;
  if (*type == "loads" && message.contains("outcomes") && message["outcomes"].is_array()) {
    for (auto& outcome : message["outcomes"]) {
      if (!outcome.is_object() || outcome.value("status", "") != "loaded") continue;
      outcome["status"] = "would_load";
      outcome["duration_ms"] = 0;
    }
  } else if (*type == "unload" && message.value("status", "") == "unloaded") {
    message["status"] = "would_unload";
    message["duration_ms"] = 0;
  }
  return message;
}

}  // namespace kplug
