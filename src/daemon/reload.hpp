// SIGHUP and `kplug reload`: the config and the rules read again and put in force
// together, or the old ones kept and the reason logged.
#pragma once

#include <functional>
#include <memory>

#include "base/result.hpp"
#include "control/protocol.hpp"
#include "daemon/counters.hpp"
#include "kmod/module_resolver.hpp"
#include "rules/diagnostic.hpp"
#include "rules/rule.hpp"
#include "rules/settings.hpp"

namespace kplug {

// Reads the config and the rules again; null: there is nothing to reload.
using Reloader = std::function<Result<Settings, Diagnostics>()>;

// RESOLVER's index and modprobe.d are read again, then the settings through RELOADER: on
// success OPTIONS takes what may change while kplugd runs (take_reloadable) and RULES the
// new rules; on failure both stay. COUNTERS: systemd's status line. Returns the problems
// that stopped it (empty on success).
Diagnostics reload_settings(const Reloader& reloader, DaemonOptions& options, std::shared_ptr<const RuleSet>& rules,
                            ModuleResolver& resolver, const Counters& counters);

// `kplug reload`'s answer: PROBLEMS (none: it worked) and the number of RULES in force.
control::ReloadReply reload_reply(const Diagnostics& problems, std::size_t rules);

}  // namespace kplug
