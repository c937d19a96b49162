// The wording of the one-line-per-decision log.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>

#include "plan/load_report.hpp"

using namespace kplug;

namespace {
LoadResult result(LoadStatus status, int us = 0, std::string message = "") {
  LoadResult r;
  r.status = status;
  r.duration = std::chrono::microseconds(us);
  r.message = std::move(message);
  return r;
}
}  // namespace

TEST_CASE("each outcome reads as a short sentence", "[report]") {
  CHECK(describe_outcome("usb_hello", result(LoadStatus::loaded, 12345)) == "loaded usb_hello in 12.3 ms");
  CHECK(describe_outcome("usbhid", result(LoadStatus::would_load)) == "would load usbhid (dry run)");
  CHECK(describe_outcome("usbhid", result(LoadStatus::already_loaded)) == "usbhid is already loaded");
  CHECK(describe_outcome("8250_dw", result(LoadStatus::builtin)) == "8250_dw is built into the kernel");
  CHECK(describe_outcome("x", result(LoadStatus::blacklisted)) == "x is blacklisted in modprobe.d, not loading");
  CHECK(describe_outcome("x", result(LoadStatus::failed, 2000, "failed to load x: Operation not permitted")) ==
        "failed to load x: Operation not permitted (after 2.0 ms)");
}

TEST_CASE("a report joins the outcomes of one event into one line", "[report]") {
  Uevent ev;
  ev.action = "add";
  ev.devpath = "/devices/usb1/1-1/1-1:1.0";
  ev.subsystem = "usb";
  ev.source = EventSource::coldplug;
  LoadReport report;
  report.event = describe_event(ev);
  report.modalias = "usb:v08E6p4433d0100dc00dsc00dp00ic0Bisc00ip00in00";
  report.outcomes = {{"usb_hello", result(LoadStatus::loaded, 1500)}, {"usbhid", result(LoadStatus::already_loaded)}};
  CHECK(report.line() ==
        "coldplug add /devices/usb1/1-1/1-1:1.0 (usb) MODALIAS=usb:v08E6p4433d0100dc00dsc00dp00ic0Bisc00ip00in00: "
        "loaded usb_hello in 1.5 ms, usbhid is already loaded");
  CHECK_FALSE(report.any_failed());
  // A driver that found no device to drive (a cpu-feature alias on a VM) is no warning.
  LoadResult no_device = result(LoadStatus::failed, 0, "failed to load acpi_cpufreq: No such device (ENODEV)");
  no_device.error = ENODEV;
  CHECK(found_no_device(no_device));
  report.outcomes.emplace_back("acpi_cpufreq", no_device);
  CHECK_FALSE(report.any_failed());
  CHECK(report.severity() == LoadReport::Severity::notice);
  LoadResult missing = result(LoadStatus::failed, 0, "failed to load gone: no such module");
  missing.error = ENOENT;
  report.outcomes.emplace_back("gone", missing);
  CHECK(report.severity() == LoadReport::Severity::warning);
  report.outcomes.emplace_back("bad", result(LoadStatus::failed));
  CHECK_FALSE(found_no_device(report.outcomes.back().second));
  CHECK(report.any_failed());
  CHECK(report.severity() == LoadReport::Severity::error);  // EPERM, EINVAL, ...: udevd's LOG_ERR
}

TEST_CASE("long strings are shortened for the log", "[report]") {
  CHECK(shorten("abc", 5) == "abc");
  CHECK(shorten("abcdefgh", 5) == "ab...");
  CHECK(shorten(std::string(200, 'x'), 96).size() == 96);
}

TEST_CASE("a report's journal fields name the action, every module and the longest load", "[report]") {
  LoadReport r;
  r.event_fields = {{"DEVPATH", "/devices/x"}, {"SUBSYSTEM", "usb"}};
  r.outcomes = {{"usbhid", result(LoadStatus::loaded, 12345)}, {"hid", result(LoadStatus::already_loaded)}};
  using Fields = std::vector<std::pair<std::string, std::string>>;
  CHECK(r.journal_fields() == Fields{{"DEVPATH", "/devices/x"}, {"SUBSYSTEM", "usb"}, {"KPLUG_ACTION", "load"},
                                     {"MODULE", "usbhid"}, {"MODULE", "hid"}, {"KPLUG_DURATION_MS", "12.3"}});
  LoadResult failed = result(LoadStatus::failed, 2000, "failed to load x: Operation not permitted");
  failed.error = 1;
  r.outcomes.emplace_back("x", failed);
  auto f = r.journal_fields();
  CHECK(std::find(f.begin(), f.end(), std::pair<std::string, std::string>{"KPLUG_ACTION", "load_failed"}) != f.end());
  CHECK(std::find(f.begin(), f.end(), std::pair<std::string, std::string>{"KPLUG_ERRNO", "1"}) != f.end());
  r.outcomes = {{"8250", result(LoadStatus::builtin)}};
  CHECK(r.journal_fields()[2] == std::pair<std::string, std::string>{"KPLUG_ACTION", "builtin"});
}

TEST_CASE("forged bytes reach the log escaped and bounded", "[report]") {
  CHECK(printable("add /devices/x", 100) == "add /devices/x");
  // A forger cannot start a fake log line or send a terminal escape.
  CHECK(printable("a\nkplugd: loaded evil\x1b[2J", 100) == "a\\x0akplugd: loaded evil\\x1b[2J");
  CHECK(printable("back\\slash", 100) == "back\\x5cslash");
  CHECK(printable(std::string("\xff\x00", 2), 100) == "\\xff\\x00");
  CHECK(printable(std::string(1000, 'A'), 10) == "AAAAAAAAAA...");
}

TEST_CASE("what came from the event is escaped in the line", "[report]") {
  Uevent ev;
  ev.action = "add";
  ev.devpath = "/devices/virtual/net/b\x1b[2J\n";
  ev.subsystem = "net\x7f";
  CHECK(describe_event(ev) == "add /devices/virtual/net/b\\x1b[2J\\x0a (net\\x7f)");
  LoadReport r;
  r.event = describe_event(ev);
  r.modalias = "usb:\x1b[31m";
  r.outcomes.emplace_back("m", result(LoadStatus::loaded, 1000));
  std::string line = r.line();
  CHECK(line.find('\x1b') == std::string::npos);
  CHECK(line.find("MODALIAS=usb:\\x1b[31m") != std::string::npos);
}
