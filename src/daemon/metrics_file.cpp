#include "daemon/metrics_file.hpp"

#include <sstream>

#include <spdlog/spdlog.h>

#include "base/file.hpp"

namespace kplug {

std::string without_uptime(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line))
    if (line.rfind("kplug_uptime_seconds ", 0) != 0) out += line + '\n';
  return out;
}

MetricsFile::MetricsFile(std::unique_ptr<NamedTimers> timers, std::string path, bool shared_dir,
                         std::chrono::milliseconds interval, Render render)
    : timers_(std::move(timers)), path_(std::move(path)), interval_(interval), render_(std::move(render)),
      shared_dir_(shared_dir) {}

void MetricsFile::start() {
  write_if_changed();
  tick();
}

void MetricsFile::stop() {
  if (stopped_) return;
  stopped_ = true;
  timers_->cancel_all();
  write_if_changed(false);  // the last counts, and kplug_up 0: a stopped kplugd is not up
}

void MetricsFile::tick() {
  timers_->start("metrics", interval_, [this] {
    if (stopped_) return;
    write_if_changed();
    tick();
  });
}

void MetricsFile::write_if_changed(bool up) {
  std::string text = render_(up);
  std::string compared = without_uptime(text);
  if (compared == last_ && writes_ > 0) return;
  // Through the one safe writer: a FIFO or link planted as the temporary file is removed
  // or refused, never opened for writing, so the loop never blocks here. The directory may
  // be another user's only when the configuration says so (metrics_dir_shared).
  std::string error;
  if (auto written = write_file_replacing(path_, text, {.shared_dir = shared_dir_}); !written)
    error = written.error().message;
  if (!error.empty()) {
    ++refused_;
    // One warning until the reason changes; the count is in `kplug status`.
    if (error != last_error_)
      spdlog::warn("cannot write the metrics file {}: {}{}", path_, error,
                   error.find("say the directory is shared") == std::string::npos ? "" : " (metrics_dir_shared: true in the config, for a directory such as node_exporter's)");
    last_error_ = error;
    return;
  }
  last_error_.clear();
  last_ = std::move(compared);
  ++writes_;
}

}  // namespace kplug
