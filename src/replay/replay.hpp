// `kplug replay`: a recorded stream (uevent/record.hpp) through kplugd's own flow — the
// event queue's order, the rules, the resolver, load planning, the unloader's ledger and
// grace periods — built as a Daemon with three seams swapped: a loader that inserts
// nothing but remembers what would be loaded (kmod/simulated_loader.hpp), a system view
// made of the recorded events, and time taken from the recorded receive times, so grace
// periods end where they ended on the machine. Rule commands are not run (dry run).
//
// Its own folder, between daemon/ and cli/: the CLI's one door into kplugd's code (the
// verbs know no daemon internals; scripts/code-shape checks the layering).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "kmod/module_resolver.hpp"
#include "kmod/simulated_loader.hpp"
#include "rules/settings.hpp"
#include "uevent/record.hpp"

namespace kplug {

struct ReplayResult {
  std::uint64_t events = 0;
  std::vector<std::string> loaded;    // modules kplugd would insert, in order (dependencies too)
  std::vector<std::string> unloaded;  // modules it would remove, in order (dependencies too)
  std::vector<std::string> blacklisted;  // modules the modprobe.d blacklist kept from loading
  std::vector<std::string> commands;  // "rule 'x' would run: 'a' 'b'"
  std::size_t pending_unloads = 0;    // grace periods still running when the stream ended
  double recorded_seconds = 0;        // from the first event's time to the last one's
};

// What a replay tells as it goes: every message of the `events` stream the replayed
// kplugd publishes (decisions, loads, unloads), in order; and, once an event is fully
// handled, that event (the messages since the previous one are its outcome).
struct ReplayObserver {
  std::function<void(const nlohmann::json& message)> message;
  std::function<void(const Uevent& event)> event_done;
};

// The modules tree a replay runs against: the resolver, and what its simulated loader
// asks (known, builtin, blacklisted, dependencies).
struct ReplayTree {
  std::unique_ptr<ModuleResolver> resolver;
  std::unique_ptr<ModuleTree> modules;
};
// OPTIONS' modules_dir and modprobe.d, read with libkmod.
Result<ReplayTree, std::string> open_replay_tree(const DaemonOptions& options);

// Replays every event READER yields against TREE. LIVE: modules loaded before the first event, besides
// those the stream's header lists. An error is a line of the stream that cannot be read.
Result<ReplayResult, std::string> replay_stream(RecordReader& reader, Settings settings,
                                                const std::set<std::string>& live, const ReplayObserver& observer,
                                                ReplayTree tree);

// A stream message of the replay as a person should read it: nothing was loaded or
// unloaded, so "loaded" (with the simulated loader's 0 ms) reads "would_load" and
// "unloaded" reads "would_unload", as in a dry run, with no duration. Other messages
// pass unchanged.
nlohmann::json as_would(nlohmann::json message);

}  // namespace kplug
