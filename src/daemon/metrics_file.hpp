// kplugd's metrics in a file for node_exporter's textfile collector (`metrics_file:` in the
// config, or --metrics-file): rewritten atomically (a temporary file renamed over it)
// when a value changed, at most once per interval, and once more at stop.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "daemon/named_timers.hpp"

namespace kplug {

class MetricsFile {
 public:
  // UP: false for the last write, at stop.
  using Render = std::function<std::string(bool up)>;
  // SHARED_DIR: the directory may be another user's or writable by others (WritePolicy).
  // TIMERS: its own set (one timer, "metrics": the next look at the numbers).
  MetricsFile(std::unique_ptr<NamedTimers> timers, std::string path, bool shared_dir,
              std::chrono::milliseconds interval, Render render);
  void start();
  void stop();
  std::uint64_t refused() const { return refused_; }  // writes refused (a planted file, a bad directory)

 private:
  void tick();
  void write_if_changed(bool up = true);
  std::unique_ptr<NamedTimers> timers_;
  std::string path_;
  std::chrono::milliseconds interval_;
  Render render_;
  std::string last_;          // what was written, without the uptime line
  std::string last_error_;    // logged once until it changes
  bool shared_dir_;
  std::uint64_t writes_ = 0;
  std::uint64_t refused_ = 0;
  bool stopped_ = false;
};

// TEXT without its kplug_uptime_seconds sample: what "changed" compares.
std::string without_uptime(const std::string& text);

}  // namespace kplug
