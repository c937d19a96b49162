// Load planning, the one place that turns a decision into module loads: the event, what
// the rules decided and what its MODALIAS resolved to become load jobs (rule loads
// first, each module once) and the modules skipped with why. Pure: kplugd runs the jobs,
// `kplug test` explains them, so what the CLI predicts is what the daemon does.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kmod/module_loader.hpp"
#include "rules/decision.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

struct PlannedLoad {
  LoadJob job;
  std::string why;  // "rule 'x' loads it", "MODALIAS ... names it in modules.alias"
};

struct SkippedLoad {
  std::string module;
  std::string why;     // "blacklisted by a rule"
  std::string source;  // what asked for it: "MODALIAS ... names it", "rule 'x' loads it"
};

struct LoadPlan {
  std::vector<PlannedLoad> loads;
  std::vector<SkippedLoad> skipped;
  // Autoload asked, the MODALIAS names no module and no rule loads one.
  bool no_module = false;
};

// RESOLVED is what DECISION's MODALIAS resolved to; nullopt when it was not resolved
// (no autoload, or the index could not be read).
LoadPlan plan_loads(const Uevent& event, const Decision& decision,
                    const std::optional<std::vector<std::string>>& resolved);

}  // namespace kplug
