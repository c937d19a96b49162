// stderr logging with levels; the journal target comes with the service issue.
#include "daemon/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace kplug {

bool setup_logging(const std::string& program, const std::string& level) {
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") return false;
  // Called again once the config file has named the level: keep the logger, change the level.
  auto logger = spdlog::get(program);
  if (!logger) logger = spdlog::stderr_color_mt(program);
  logger->set_pattern("%H:%M:%S.%e %^%-5l%$ %v");
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::trace);  // people tail these logs live
  spdlog::set_default_logger(logger);
  return true;
}

}  // namespace kplug
