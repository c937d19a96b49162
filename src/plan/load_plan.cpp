// Decision + resolved modules → load jobs (see load_plan.hpp).
#include "plan/load_plan.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "plan/load_report.hpp"

namespace kplug {

LoadPlan plan_loads(const Uevent& event, const Decision& decision,
                    const std::optional<std::vector<std::string>>& resolved) {
  LoadPlan plan;
  auto add = [&](const std::string& module, bool apply_blacklist, std::string why) {
    if (std::any_of(plan.loads.begin(), plan.loads.end(), [&](const auto& l) { return l.job.module == module; }))
      return;
    auto opts = decision.options.find(module);
    plan.loads.push_back({LoadJob{module, apply_blacklist, event.devpath, decision.modalias,
                                  opts == decision.options.end() ? "" : opts->second, decision.priority},
                          std::move(why)});
  };
  for (const auto& [module, rule] : decision.load) {
    if (decision.blacklist.count(module)) {
      plan.skipped.push_back({module, "blacklisted by a rule", fmt::format("rule '{}' loads it", rule)});
      continue;
    }
    add(module, !decision.load_blacklisted.count(module), fmt::format("rule '{}' loads it", rule));
  }
  if (!decision.autoload || !resolved) return plan;
  plan.no_module = resolved->empty() && plan.loads.empty();
  for (const auto& module : *resolved) {
    if (decision.blacklist.count(module)) {
      plan.skipped.push_back(
          {module, "blacklisted by a rule", fmt::format("MODALIAS {} names it", shorten(decision.modalias, 96))});
      continue;
    }
    add(module, true, fmt::format("MODALIAS {} names it in modules.alias", shorten(decision.modalias, 96)));
  }
  return plan;
}

}  // namespace kplug
