// Unloading what kplugd loaded, once its devices are gone (see the header).
#include "daemon/unloader.hpp"

#include <algorithm>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "base/logging.hpp"
#include "base/text.hpp"
#include "daemon/ledger_store.hpp"
#include "plan/load_report.hpp"

namespace kplug {

Unloader::Unloader(NamedTimers& timers, LoadScheduler& scheduler, SystemView& system, Counters& counters,
                   WallClock wall, Publish publish)
    : timers_(timers), scheduler_(scheduler), system_(system), counters_(counters), publish_(std::move(publish)),
      ledger_(std::move(wall)) {}

void Unloader::restore(const std::string& path) {
  state_path_ = path;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  auto loaded = load_ledger(path);
  if (!loaded) {
    spdlog::warn("{}; starting with an empty ledger", loaded.error());
    return;
  }
  auto live = system_.live_modules();
  for (const auto& [module, entry] : loaded->entries())
    if (live.count(module)) ledger_.restore_entry(module, entry);  // else unloaded meanwhile, by someone
  spdlog::info("restored the ledger from {}: {} module(s) kplugd loaded are still loaded", path,
               ledger_.entries().size());
  // Modules whose grace period the previous kplugd did not see end: it starts again.
  for (const auto& [module, entry] : ledger_.entries()) {
    if (!entry.devices.empty() || !entry.unload_on_remove) continue;
    spdlog::info("{} had no device left when the previous kplugd stopped: unloading in {:.1f} s unless one returns",
                 module, static_cast<double>(entry.unload_grace.count()) / 1000.0);
    timers_.start(module, entry.unload_grace, [this, module = module] { on_timer(module); });
  }
  // Devices that went away while no kplugd was listening: as if removed now.
  forget_gone_devices();
  save();
}

std::vector<std::string> Unloader::forget_gone_devices(spdlog::level::level_enum level) {
  std::set<std::string> gone;
  for (const auto& [module, entry] : ledger_.entries())
    for (const auto& dev : entry.devices)
      if (!system_.device_present(dev)) gone.insert(dev);
  for (const auto& dev : gone) {
    spdlog::log(level, "{} is gone (its remove event was lost): handled as removed now", printable(dev));
    on_device_removed(dev);
  }
  return {gone.begin(), gone.end()};
}

void Unloader::on_loaded(const LoadJob& job, const LoadResult& result, bool unload_on_remove,
                         std::chrono::milliseconds unload_grace) {
  if (result.status == LoadStatus::loaded || result.status == LoadStatus::would_load)
    // Only what kplugd itself inserted is ever a candidate for unloading.
    ledger_.record_load(job.module, job.devpath, job.modalias, result.duration, unload_on_remove, unload_grace,
                        result.pulled_in);
  else if (result.status == LoadStatus::already_loaded)
    // A second device that arrived while kplugd's own load of the module was in flight.
    ledger_.add_device(job.module, job.devpath);
}

void Unloader::keep_loaded_for(const std::vector<LoadJob>& jobs, const Uevent& event) {
  for (const auto& job : jobs) {
    const std::string& module = job.module;
    if (!ledger_.owns(module)) continue;
    ledger_.add_device(module, event.devpath);
    if (timers_.cancel(module)) {
      LogFields fields = event_fields(event);
      fields.insert(fields.end(), {{"KPLUG_ACTION", "unload_cancelled"}, {"MODULE", module}});
      log_fields(spdlog::level::info, fields,
                 fmt::format("{}: {} is needed again, unload cancelled", describe_event(event), module));
    }
  }
  save();
}

void Unloader::on_device_removed(const std::string& devpath) {
  for (const auto& module : ledger_.remove_device(devpath)) {
    const LedgerEntry& entry = ledger_.entries().at(module);
    if (entry.unload_on_remove) do_schedule(module, devpath, entry.unload_grace);
    else spdlog::info("remove {}: {} has no device left and stays loaded (unload on removal is off)",
                      printable(devpath), module);
  }
  save();
}

void Unloader::do_schedule(const std::string& module, const std::string& devpath, std::chrono::milliseconds grace) {
  if (stopping_) return;
  log_fields(spdlog::level::info, {{"KPLUG_ACTION", "unload_scheduled"}, {"MODULE", module}, {"DEVPATH", devpath}},
             fmt::format("remove {}: {} has no device left, unloading in {:.1f} s unless one returns",
                         printable(devpath), module, static_cast<double>(grace.count()) / 1000.0));
  timers_.start(module, grace, [this, module] { on_timer(module); });
}

void Unloader::on_timer(const std::string& module) {
  auto it = ledger_.entries().find(module);
  if (it == ledger_.entries().end() || !it->second.devices.empty()) return;
  do_unload(module);
}

void Unloader::do_unload(const std::string& module) {
  // Dependencies it pulled in go with it, unless kplugd loaded them for a device of their own.
  std::vector<std::string> deps;
  for (const auto& dep : ledger_.entries().at(module).pulled_in)
    if (!ledger_.owns(dep)) deps.push_back(dep);
  // The scheduler starts it after any load of the module asked for before; by then a
  // device may need the module again, and then it is dropped.
  scheduler_.unload(
      module, std::move(deps), [this, module](const UnloadResult& result) { on_unloaded(module, result); },
      [this, module] {
        auto it = ledger_.entries().find(module);
        bool wanted = !stopping_ && it != ledger_.entries().end() && it->second.devices.empty();
        if (!wanted) spdlog::info("{} is needed again: its unload is dropped", module);
        return wanted;
      });
}

void Unloader::on_unloaded(const std::string& module, const UnloadResult& result) {
  leftover_deps_.erase(module);
  if (result.status == UnloadStatus::unloaded && ledger_.owns(module)) {
    for (const auto& dep : ledger_.entries().at(module).pulled_in)
      if (!ledger_.owns(dep) &&
          std::find(result.removed_dependencies.begin(), result.removed_dependencies.end(), dep) ==
              result.removed_dependencies.end())
        leftover_deps_.insert(dep);
  }
  double ms = static_cast<double>(result.duration.count()) / 1000.0;
  if (publish_)
    publish_(control::UnloadMessage{module, to_string(result.status), result.message, ms, result.removed_dependencies});
  LogFields fields{{"KPLUG_ACTION", "unload"}, {"MODULE", module}, {"KPLUG_DURATION_MS", fmt::format("{:.1f}", ms)}};
  switch (result.status) {
    case UnloadStatus::unloaded:
      ++counters_.unloads;
      // A device that came back while the unload ran has its load queued behind it (the
      // scheduler keeps one module's operations in order): it loads afresh and is recorded.
      ledger_.forget(module);
      for (const auto& dep : result.removed_dependencies) fields.emplace_back("MODULE", dep);
      log_fields(spdlog::level::info, fields,
                 fmt::format("unloaded {}{} in {:.1f} ms: its last device is gone", module,
                             result.removed_dependencies.empty()
                                 ? std::string()
                                 : fmt::format(" and {}, which it had pulled in",
                                               fmt::join(result.removed_dependencies, ", ")),
                             ms));
      break;
    case UnloadStatus::would_unload:
      ++counters_.unloads;
      ledger_.forget(module);
      fields[0].second = "would_unload";
      log_fields(spdlog::level::info, fields, fmt::format("would unload {} (dry run): its last device is gone", module));
      break;
    case UnloadStatus::not_loaded:
      ledger_.forget(module);
      spdlog::info("{} was already unloaded by someone else", module);
      break;
    case UnloadStatus::in_use:
      // It stays in the ledger: a later removal of a device it gains may still free it.
      ++counters_.unloads_refused;
      fields[0].second = "unload_refused";
      fields.emplace_back("KPLUG_REASON", result.message);
      log_fields(spdlog::level::info, fields, fmt::format("{} stays loaded: {}", module, printable(result.message)));
      break;
    case UnloadStatus::failed:
      ++counters_.unloads_refused;
      fields[0].second = "unload_refused";
      fields.emplace_back("KPLUG_REASON", result.message);
      log_fields(spdlog::level::warn, fields, printable(result.message));
      break;
  }
  save();
  // Something went: dependencies that were held may be free now.
  if (result.status == UnloadStatus::unloaded && !leftover_deps_.empty()) do_unload_leftovers();
}

void Unloader::do_unload_leftovers() {
  for (const auto& dep : std::vector<std::string>(leftover_deps_.begin(), leftover_deps_.end())) {
    if (ledger_.owns(dep)) {
      leftover_deps_.erase(dep);
      continue;
    }
    scheduler_.unload(
        dep, {},
        [this, dep](const UnloadResult& r) {
          if (r.status != UnloadStatus::unloaded && r.status != UnloadStatus::not_loaded) return;
          leftover_deps_.erase(dep);
          if (r.status == UnloadStatus::unloaded) {
            ++counters_.unloads;
            spdlog::info("unloaded {}, which kplugd had pulled in and nothing uses any more", dep);
            do_unload_leftovers();
          }
        },
        [this, dep] { return !stopping_ && !ledger_.owns(dep); });
  }
}

void Unloader::save() {
  if (state_path_.empty() || ledger_.revision() == saved_revision_) return;
  if (auto saved = save_ledger(state_path_, ledger_); !saved)
    spdlog::warn("{}; the ledger stays in memory only", saved.error());
  else
    saved_revision_ = ledger_.revision();
}

void Unloader::stop() {
  stopping_ = true;
  timers_.cancel_all();
}

}  // namespace kplug
