// Reading the config and rules again (see the header).
#include "daemon/reload.hpp"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "daemon/notify.hpp"

namespace kplug {

Diagnostics reload_settings(const Reloader& reloader, DaemonOptions& options, std::shared_ptr<const RuleSet>& rules,
                            ModuleResolver& resolver, const Counters& counters) {
  if (!reloader) {
    spdlog::info("nothing to reload");
    return {};
  }
  spdlog::info("reloading {} and the rules", options.config_path);
  notify_reloading();
  // The module index and modprobe.d too (depmod, DKMS, a new blacklist); loader threads
  // check theirs before each load.
  resolver.refresh();
  auto settings = reloader();
  if (!settings) {
    for (const auto& d : settings.error()) spdlog::error("{}", d.to_string());
    spdlog::error("reload failed: {} problem(s); the current config and rules stay in force", settings.error().size());
    notify_ready("reload failed; " + counters.summary());
    return settings.error();
  }
  if (auto later = take_reloadable(options, settings->options); !later.empty())
    spdlog::warn("{} take(s) effect at the next start", fmt::join(later, ", "));
  spdlog::set_level(spdlog::level::from_str(options.log_level));
  rules = std::make_shared<const RuleSet>(std::move(settings->rules));
  spdlog::info("reloaded: {} rules from {} files", rules->rules.size(), rules->files.size());
  notify_ready(counters.summary());
  return {};
}

control::ReloadReply reload_reply(const Diagnostics& problems, std::size_t rules) {
  control::ReloadReply reply;
  for (const auto& d : problems) reply.errors.push_back(d.to_string());
  reply.ok = reply.errors.empty();
  reply.rules = rules;
  return reply;
}

}  // namespace kplug
