// Planning one event's loads (see the header).
#include "daemon/event_plan.hpp"

#include <optional>
#include <string>

#include <spdlog/spdlog.h>

#include "base/logging.hpp"
#include "base/text.hpp"
#include "plan/load_plan.hpp"

namespace kplug {

std::vector<LoadJob> plan_event(const Uevent& event, const Decision& decision, ModuleResolver& resolver,
                                Counters& counters, LoadReport& report) {
  report.event = describe_event(event);
  report.event_fields = event_fields(event);
  report.modalias = decision.modalias;
  report.source = event.source;
  std::optional<std::vector<std::string>> resolved;
  if (decision.autoload) {
    auto modules = resolver.resolve(decision.modalias);
    if (modules) resolved = std::move(*modules);
    else spdlog::warn("{} MODALIAS={}: {}", describe_event(event), printable(decision.modalias), modules.error());
  } else {
    spdlog::debug("{}: no autoload ({})", describe_event(event), decision.reason);
  }
  LoadPlan plan = plan_loads(event, decision, resolved);
  if (plan.no_module) {
    ++counters.no_module;
    // Most present devices have no module; that is only news for a device that just came.
    LogFields fields = event_fields(event);
    fields.emplace_back("KPLUG_ACTION", "no_module");
    log_fields(event.source != EventSource::kernel ? spdlog::level::debug : spdlog::level::info, fields,
               fmt::format("{} MODALIAS={}: no module matches", describe_event(event),
                           printable(shorten(decision.modalias, 96))));
  }
  for (const auto& skipped : plan.skipped) {
    LoadResult r;
    r.status = LoadStatus::blacklisted;
    r.message = skipped.why;
    ++counters.loads_skipped;
    report.outcomes.emplace_back(skipped.module, r);
  }
  std::vector<LoadJob> jobs;
  for (auto& load : plan.loads) jobs.push_back(std::move(load.job));
  return jobs;
}

spdlog::level::level_enum report_level(const LoadReport& report) {
  if (report.rescan()) return spdlog::level::debug;
  switch (report.severity()) {
    case LoadReport::Severity::error: return spdlog::level::err;
    case LoadReport::Severity::warning: return spdlog::level::warn;
    default: return spdlog::level::info;  // spdlog has no notice; the journal gets info
  }
}

}  // namespace kplug
