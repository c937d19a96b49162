// The one log line per decision: an event's load outcomes gathered as they come back
// from the loader thread, then told in a single sentence. Pure formatting.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/text.hpp"
#include "kmod/module_loader.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

struct LoadReport {
  std::string event;     // "add /devices/... (usb)", "coldplug add ..."
  std::string modalias;
  EventSource source = EventSource::kernel;  // a rescan's is told in the rescan's summary
  std::vector<std::pair<std::string, LoadResult>> outcomes;  // module, result
  std::vector<std::pair<std::string, std::string>> event_fields;  // the event's journal fields

  bool rescan() const { return source == EventSource::rescan; }
  // How bad the worst outcome is, by errno as udevd sorts load errors: a driver that
  // found no device (ENODEV, ENXIO) is a notice, a module that is not there (ENOENT) a
  // warning, any other failure (EPERM, EINVAL, ENOEXEC, ...) an error.
  enum class Severity { fine, notice, warning, error };
  Severity severity() const;
  // A failure worth a warning or worse: any but a driver that found no device.
  bool any_failed() const { return severity() >= Severity::warning; }
  // "add /devices/x (usb) MODALIAS=usb:v...: loaded usb_hello in 12.3 ms, usbhid is already loaded"
  std::string line() const;
  // event_fields plus KPLUG_ACTION (the outcome that matters most: load_failed, load,
  // would_load, then already_loaded, builtin or blacklisted), one MODULE per outcome,
  // KPLUG_DURATION_MS (the longest load) and KPLUG_ERRNO for a failure.
  std::vector<std::pair<std::string, std::string>> journal_fields() const;
};

// The module's init refused with ENODEV or ENXIO: the driver found no device it drives.
// Normal for aliases that match broadly (cpu features: acpi_cpufreq, powernow_k8,
// amd64_edac on a VM), and what modprobe and udevd keep quiet about; still a failure in
// the counters and the journal's KPLUG_ACTION, but no warning.
bool found_no_device(const LoadResult& result);

// "add /devices/x (usb)", prefixed with "coldplug " or "rescan " for synthesized events.
std::string describe_event(const Uevent& event);
// S cut to at most MAX characters, with "..." when cut (long cpu MODALIAS strings).
std::string shorten(std::string_view s, std::size_t max);
// "loaded usb_hello in 12.3 ms", "would load usbhid (dry run)", ...
std::string describe_outcome(const std::string& module, const LoadResult& result);

}  // namespace kplug
