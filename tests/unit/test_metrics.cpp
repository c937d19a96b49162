// kplugd's status as Prometheus text: names, types, labels and escaping.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <catch2/catch.hpp>

#include "control/metrics.hpp"
#include "daemon/manual_timers.hpp"
#include "daemon/metrics_file.hpp"

using namespace kplug;

TEST_CASE("status counters and gauges become Prometheus families", "[metrics]") {
  control::StatusReply s;
  s.version = "0.1.0";
  s.ready = true;
  s.uptime_s = 12.5;
  s.counters = {{"events_received", 7}, {"loads_ok", 3}, {"loads_failed", 1}, {"unloads", 2},
                {"failed_loads_forgotten", 4}, {"handled_devices_not_remembered", 5}};
  s.rejected_by_reason = {{"not_kernel_port", 4}, {"odd\"reason\\", 1}};
  s.gauges = {{"in_flight", 2}};
  s.failed_loads = {{"fail_init", "/d", 19, "No such device", 1, 5}};
  std::string text = control::prometheus_text(s);
  CHECK(text.find("# TYPE kplug_events_received_total counter\nkplug_events_received_total 7\n") != std::string::npos);
  CHECK(text.find("kplug_loads_total{outcome=\"ok\"} 3\n") != std::string::npos);
  CHECK(text.find("kplug_loads_total{outcome=\"failed\"} 1\n") != std::string::npos);
  CHECK(text.find("kplug_rejected_datagrams_total{reason=\"not_kernel_port\"} 4\n") != std::string::npos);
  CHECK(text.find("kplug_rejected_datagrams_total{reason=\"odd\\\"reason\\\\\"} 1\n") != std::string::npos);
  CHECK(text.find("kplug_unloads_total{outcome=\"done\"} 2\n") != std::string::npos);
  CHECK(text.find("kplug_loads_in_flight 2\n") != std::string::npos);
  CHECK(text.find("kplug_failed_loads_forgotten_total 4\n") != std::string::npos);
  CHECK(text.find("kplug_handled_devices_not_remembered_total 5\n") != std::string::npos);
  CHECK(text.find("kplug_failed_load_history_modules 1\n") != std::string::npos);
  CHECK(text.find("kplug_info{version=\"0.1.0\"} 1\n") != std::string::npos);
  CHECK(text.find("kplug_ready 1\n") != std::string::npos);
  CHECK(text.find("kplug_uptime_seconds 12.5\n") != std::string::npos);
  // Every sample's family is declared once, before it.
  CHECK(text.find("# HELP kplug_loads_total ") < text.find("kplug_loads_total{"));
}

TEST_CASE("a change of uptime alone is not a change worth a write", "[metrics]") {
  control::StatusReply s;
  s.uptime_s = 1;
  std::string a = control::prometheus_text(s);
  s.uptime_s = 2;
  CHECK(without_uptime(a) == without_uptime(control::prometheus_text(s)));
  s.counters["loads_ok"] = 1;
  CHECK(without_uptime(a) != without_uptime(control::prometheus_text(s)));
}

TEST_CASE("the metrics file in another user's directory: refused and counted unless shared", "[metrics]") {
  char tmpl[] = "/tmp/kplug-metrics-unit-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  std::string dir = tmpl;
  REQUIRE(chmod(dir.c_str(), 0755) == 0);
  REQUIRE(chown(dir.c_str(), 65534, 65534) == 0);
  std::string path = dir + "/kplug.prom";
  auto render = [](bool up) { return std::string(up ? "kplug_up 1\n" : "kplug_up 0\n"); };
  auto timers = [] { return std::make_unique<ManualTimers>(std::make_shared<ManualTimerState>()); };

  MetricsFile strict(timers(), path, false, std::chrono::seconds(5), render);
  strict.start();
  strict.stop();
  CHECK(strict.refused() == 2);  // at start and at stop, each counted
  CHECK(access(path.c_str(), F_OK) != 0);

  MetricsFile shared(timers(), path, true, std::chrono::seconds(5), render);
  shared.start();
  shared.stop();
  CHECK(shared.refused() == 0);
  CHECK(access(path.c_str(), F_OK) == 0);
  // The write at stop says the daemon is down.
  std::ifstream in(path);
  std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(written == "kplug_up 0\n");
  std::filesystem::remove_all(dir);
}

TEST_CASE("a stopped kplugd is not up: the last file and a failed scrape say 0", "[metrics]") {
  control::StatusReply s;
  s.ready = true;
  s.counters = {{"loads_ok", 3}};
  std::string last = control::prometheus_text(s, false);
  CHECK(last.find("kplug_up 0\n") != std::string::npos);
  CHECK(last.find("kplug_ready 0\n") != std::string::npos);
  CHECK(last.find("kplug_loads_total{outcome=\"ok\"} 3\n") != std::string::npos);  // the final counts stay
  CHECK(control::prometheus_down_text() ==
        "# HELP kplug_up 1 while kplugd answers on its control socket.\n# TYPE kplug_up gauge\nkplug_up 0\n");
}
