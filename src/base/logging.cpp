// stderr logging with levels, or the journal with structured fields through sd-journal
// (libsystemd opened only then).
// The fields of a line travel to the journal sink in a thread-local: logging is
// synchronous, so the sink runs on the thread that logged, inside log_fields().
#include "base/logging.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <syslog.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
// spdlog's definitions, for the whole program: CMakeLists.txt sets SPDLOG_COMPILED_LIB
// everywhere, so the other files parse declarations only (a build several minutes
// shorter), and this file instantiates what kplug uses. A missing one fails the link.
#include <spdlog/common-inl.h>
#include <spdlog/details/backtracer-inl.h>
#include <spdlog/details/log_msg-inl.h>
#include <spdlog/details/log_msg_buffer-inl.h>
#include <spdlog/details/os-inl.h>
#include <spdlog/details/periodic_worker-inl.h>
#include <spdlog/details/registry-inl.h>
#include <spdlog/logger-inl.h>
#include <spdlog/pattern_formatter-inl.h>
#include <spdlog/sinks/ansicolor_sink-inl.h>
#include <spdlog/sinks/base_sink-inl.h>
#include <spdlog/sinks/sink-inl.h>
#include <spdlog/sinks/stdout_color_sinks-inl.h>
#include <spdlog/spdlog-inl.h>

#include "base/systemd_lib.hpp"

template class spdlog::sinks::base_sink<std::mutex>;
template class spdlog::sinks::ansicolor_sink<spdlog::details::console_mutex>;
template class spdlog::sinks::ansicolor_stderr_sink<spdlog::details::console_mutex>;
template std::shared_ptr<spdlog::logger> spdlog::stderr_color_mt<spdlog::synchronous_factory>(
    const std::string& logger_name, color_mode mode);

namespace kplug {

namespace {

thread_local const LogFields* pending_fields = nullptr;

int syslog_priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug: return LOG_DEBUG;
    case spdlog::level::info: return LOG_INFO;
    case spdlog::level::warn: return LOG_WARNING;
    case spdlog::level::err: return LOG_ERR;
    case spdlog::level::critical: return LOG_CRIT;
    default: return LOG_INFO;
  }
}

// %* in the stderr pattern: the level in the words --log-level takes.
class LevelWordFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string_view word = level_word(msg.level);
    dest.append(word.data(), word.data() + word.size());
    for (std::size_t n = word.size(); n < 5; ++n) dest.push_back(' ');  // the words line up
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<LevelWordFlag>(); }
};

class JournalSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  JournalSink(std::string identifier, const SystemdLib& lib) : identifier_(std::move(identifier)), lib_(lib) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::vector<std::string> items;
    items.push_back("MESSAGE=" + std::string(msg.payload.data(), msg.payload.size()));
    items.push_back("PRIORITY=" + std::to_string(syslog_priority(msg.level)));
    items.push_back("SYSLOG_IDENTIFIER=" + identifier_);
    if (pending_fields) {
      for (const auto& [key, value] : *pending_fields) {
        items.push_back(key + "=" + value);
        if (key == "KPLUG_ACTION")
          if (const char* id = message_id(value); *id) items.push_back(std::string("MESSAGE_ID=") + id);
      }
    }
    std::vector<iovec> iov;
    for (auto& item : items) iov.push_back({item.data(), item.size()});
    lib_.journal_sendv(iov.data(), static_cast<int>(iov.size()));
  }
  void flush_() override {}

 private:
  std::string identifier_;
  const SystemdLib& lib_;
};

}  // namespace

std::string_view level_word(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    default: return "error";  // err and critical: what --log-level error shows
  }
}

std::string resolve_log_target(const std::string& target, const char* journal_stream, int stderr_fd) {
  if (target != "auto") return target;
  // systemd sets JOURNAL_STREAM to the device and inode of the stream it connected to
  // stdout/stderr; if stderr is still that stream, the journal is listening.
  if (!journal_stream) return "stderr";
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(journal_stream, "%llu:%llu", &dev, &ino) != 2) return "stderr";
  struct stat st {};
  if (fstat(stderr_fd, &st) != 0) return "stderr";
  return st.st_dev == dev && st.st_ino == ino ? "journal" : "stderr";
}

bool setup_logging(const std::string& program, const std::string& level, const std::string& target) {
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") return false;
  std::string where = resolve_log_target(target, std::getenv("JOURNAL_STREAM"));
  if (where != "stderr" && where != "journal") return false;
  // Called again once the config file has named the level: keep the logger, change the level.
  auto logger = spdlog::get(program);
  if (!logger) {
    // Without libsystemd (its reason already on stderr) the lines go to stderr, which
    // systemd's journal reads too, without the structured fields.
    const SystemdLib* lib = where == "journal" ? systemd_lib() : nullptr;
    if (lib) {
      logger = std::make_shared<spdlog::logger>(program, std::make_shared<JournalSink>(program, *lib));
      spdlog::register_logger(logger);
    } else {
      auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
      // Colour only for a person at a terminal, and never when NO_COLOR is set (no-color.org).
      const char* no_color = std::getenv("NO_COLOR");
      bool colour = isatty(2) && !(no_color && *no_color);
      sink->set_color_mode(colour ? spdlog::color_mode::always : spdlog::color_mode::never);
      logger = std::make_shared<spdlog::logger>(program, sink);
      spdlog::register_logger(logger);
      auto formatter = std::make_unique<spdlog::pattern_formatter>();
      formatter->add_flag<LevelWordFlag>('*').set_pattern("%H:%M:%S.%e %^%*%$ %v");
      logger->set_formatter(std::move(formatter));
    }
  }
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::trace);  // people tail these logs live
  spdlog::set_default_logger(logger);
  return true;
}

const char* message_id(const std::string& kplug_action) {
  // Fixed forever: people put these in their journalctl queries and alerting.
  static const std::map<std::string, const char*> ids = {
      {"load", "03baa8ebbd9e4c07a9bd51d431fe3cf8"},
      {"load_failed", "7a9cae21fc9c4833884767fcb506053b"},
      {"already_loaded", "805c00e5cb4e47c580f29f77edb3b2ef"},
      {"builtin", "a824a926a23149f5adba3da5877df07a"},
      {"blacklisted", "224b01a87b68418e8170a643ec195aee"},
      {"would_load", "d6eedf39e9254caf9e8ae327ef500164"},
      {"no_module", "fdb271c51613462ba4c5c70a646d09a2"},
      {"unload_scheduled", "333885af7244417696dd5de1c1fdb6f2"},
      {"unload_cancelled", "145ba85c42a343609e4c19c4e7fce63c"},
      {"would_unload", "75e0a32a78054e939dc821659f909f5c"},
      {"unload", "6f2a9984f2e048f99b414072d6483f39"},
      {"unload_refused", "86f3529a19ff460b8325df5785cb1d2f"},
      {"reject", "9c7c153ff08744149fdcccf31054e2ce"},
      {"overrun", "3f56e12f24d4417b80dd08cee99a3571"},
      {"missed", "70b3ee692f0a44ffb9499391562fc2ff"},
      {"slow_load", "5fd8f4adc1884478b72d00e3dac5b8c6"},
      {"rescan", "ebc80b2834764835a3e182af7f61a025"},
      {"command_dropped", "6110df297d3a4fea9845aef8d861335d"},
  };
  auto it = ids.find(kplug_action);
  return it == ids.end() ? "" : it->second;
}

void log_fields(spdlog::level::level_enum level, const LogFields& fields, const std::string& message) {
  pending_fields = &fields;
  spdlog::log(level, "{}", message);
  pending_fields = nullptr;
}

}  // namespace kplug
