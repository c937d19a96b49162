// Wording of load decisions for people reading logs.
#include "plan/load_report.hpp"

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

namespace kplug {

namespace {
double ms(std::chrono::microseconds d) { return static_cast<double>(d.count()) / 1000.0; }
}  // namespace

std::string describe_event(const Uevent& ev) {
  // Every part came from the event: escaped, so no device can forge a log line.
  std::string source = ev.source == EventSource::kernel ? "" : std::string(to_string(ev.source)) + " ";
  return fmt::format("{}{} {} ({})", source, printable(ev.action, 64), printable(ev.devpath),
                     printable(ev.subsystem, 256));
}

std::string shorten(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  return std::string(s.substr(0, max > 3 ? max - 3 : 0)) + "...";
}

std::string describe_outcome(const std::string& module, const LoadResult& r) {
  switch (r.status) {
    case LoadStatus::loaded: return fmt::format("loaded {} in {:.1f} ms", module, ms(r.duration));
    case LoadStatus::would_load: return fmt::format("would load {} (dry run)", module);
    case LoadStatus::already_loaded: return fmt::format("{} is already loaded", module);
    case LoadStatus::builtin: return fmt::format("{} is built into the kernel", module);
    case LoadStatus::blacklisted: return fmt::format("{} is blacklisted in modprobe.d, not loading", module);
    case LoadStatus::failed: return fmt::format("{} (after {:.1f} ms)", r.message, ms(r.duration));
  }
  return module;
}

LoadReport::Severity LoadReport::severity() const {
  Severity worst = Severity::fine;
  for (const auto& [module, result] : outcomes) {
    if (result.status != LoadStatus::failed) continue;
    Severity s = found_no_device(result) ? Severity::notice
                 : result.error == ENOENT ? Severity::warning
                                          : Severity::error;
    worst = std::max(worst, s);
  }
  return worst;
}

bool found_no_device(const LoadResult& r) {
  return r.status == LoadStatus::failed && (r.error == ENODEV || r.error == ENXIO);
}

std::string LoadReport::line() const {
  std::string out = fmt::format("{} MODALIAS={}: ", event, printable(shorten(modalias, 96)));
  for (std::size_t i = 0; i < outcomes.size(); ++i)
    out += (i ? ", " : "") + describe_outcome(outcomes[i].first, outcomes[i].second);
  return out;
}

std::vector<std::pair<std::string, std::string>> LoadReport::journal_fields() const {
  auto fields = event_fields;
  auto has = [&](LoadStatus status) {
    for (const auto& [module, result] : outcomes)
      if (result.status == status) return true;
    return false;
  };
  std::string action = has(LoadStatus::failed)       ? "load_failed"
                       : has(LoadStatus::loaded)     ? "load"
                       : has(LoadStatus::would_load) ? "would_load"
                       : outcomes.empty()            ? "no_module"
                                                     : to_string(outcomes.front().second.status);
  fields.emplace_back("KPLUG_ACTION", action);
  std::chrono::microseconds longest{0};
  for (const auto& [module, result] : outcomes) {
    fields.emplace_back("MODULE", module);
    longest = std::max(longest, result.duration);
    if (result.status == LoadStatus::failed) fields.emplace_back("KPLUG_ERRNO", std::to_string(result.error));
  }
  fields.emplace_back("KPLUG_DURATION_MS", fmt::format("{:.1f}", ms(longest)));
  return fields;
}

}  // namespace kplug
