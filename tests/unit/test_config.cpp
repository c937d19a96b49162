// config.yaml: every key, defaults, and errors.
#include <filesystem>

#include <catch2/catch.hpp>

#include "rules/config.hpp"

using namespace kplug;

TEST_CASE("an empty config is all defaults", "[config]") {
  auto c = parse_config("", "c.yaml");
  REQUIRE(c.has_value());
  CHECK(c->autoload);
  CHECK(c->rules_dirs == std::vector<std::string>{"/etc/kplug/rules.d", "/run/kplug/rules.d", "/usr/lib/kplug/rules.d"});
  CHECK(c->unload_grace == std::chrono::seconds(5));
  CHECK(c->unload_subsystems == std::vector<std::string>{"usb", "hid"});
}

TEST_CASE("every key is read", "[config]") {
  auto c = parse_config(R"(
modules_dir: /lib/modules/6.1.0-56-amd64
rules_dirs: [/a, /b]
autoload: false
unload:
  enabled: false
  grace: 500ms
  subsystems: [usb]
receive_buffer: 16M
coldplug: false
loader_threads: 4
control_socket: /tmp/k.sock
state_dir: /tmp/k
log_level: debug
log_target: stderr
dry_run: true
)",
                        "c.yaml");
  REQUIRE(c.has_value());
  CHECK(c->modules_dir == "/lib/modules/6.1.0-56-amd64");
  CHECK(c->rules_dirs == std::vector<std::string>{"/a", "/b"});
  CHECK_FALSE(c->autoload);
  CHECK_FALSE(c->unload);
  CHECK(c->unload_grace == std::chrono::milliseconds(500));
  CHECK(c->unload_subsystems == std::vector<std::string>{"usb"});
  CHECK(c->receive_buffer == 16u << 20);
  CHECK_FALSE(c->coldplug);
  CHECK(c->loader_threads == 4);
  CHECK(c->control_socket == "/tmp/k.sock");
  CHECK(c->state_dir == "/tmp/k");
  CHECK(c->log_level == "debug");
  CHECK(c->log_target == "stderr");
  CHECK(c->dry_run);
}

TEST_CASE("config errors are all reported with line and column", "[config]") {
  auto c = parse_config("autolaod: true\nunload:\n  grace: forever\nlog_level: loud\nreceive_buffer: lots\n", "c.yaml");
  REQUIRE_FALSE(c.has_value());
  std::vector<std::string> got;
  for (const auto& d : c.error()) got.push_back(d.to_string());
  CHECK(got == std::vector<std::string>{
                   "c.yaml:1:1: unknown config key 'autolaod', did you mean 'autoload'?",
                   "c.yaml:3:10: unload.grace must be a duration such as 5s, 500ms, 2m or 1h, at most a day (got 'forever')",
                   "c.yaml:4:12: log_level must be one of trace, debug, info, warn, error, off",
                   "c.yaml:5:17: receive_buffer must be a size such as 4096, 512K or 128M",
               });
  CHECK(load_config("/nonexistent/config.yaml", true).has_value());    // missing default: defaults
  CHECK_FALSE(load_config("/nonexistent/config.yaml", false).has_value());  // named: must exist
  CHECK(load_config("/dev/null", false).has_value());  // `--config /dev/null`: every default
  CHECK_FALSE(load_config("/dev/zero", false).has_value());  // other devices stay refused
}

TEST_CASE("config.example.yaml documents exactly the defaults", "[config]") {
  auto c = load_config(std::string(KPLUG_SOURCE_DIR) + "/config.example.yaml", false);
  REQUIRE(c.has_value());
  Config d;
  CHECK(c->modules_dir == d.modules_dir);
  CHECK(c->rules_dirs == d.rules_dirs);
  CHECK(c->autoload == d.autoload);
  CHECK(c->unload == d.unload);
  CHECK(c->unload_grace == d.unload_grace);
  CHECK(c->unload_subsystems == d.unload_subsystems);
  CHECK(c->receive_buffer == d.receive_buffer);
  CHECK(c->coldplug == d.coldplug);
  CHECK(c->loader_threads == d.loader_threads);
  CHECK(c->slow_load == d.slow_load);
  CHECK(c->control_socket == d.control_socket);
  CHECK(c->state_dir == d.state_dir);
  CHECK(c->log_level == d.log_level);
  CHECK(c->log_target == d.log_target);
  CHECK(c->dry_run == d.dry_run);
  CHECK(c->control_max_sessions == d.control_max_sessions);
  CHECK(c->control_max_line == d.control_max_line);
  CHECK(c->control_idle_timeout == d.control_idle_timeout);
  CHECK(c->control_max_output == d.control_max_output);
  CHECK(c->command_workers == d.command_workers);
  CHECK(c->command_queue == d.command_queue);
  CHECK(c->command_timeout == d.command_timeout);
  CHECK(c->metrics_file == d.metrics_file);
  CHECK(c->metrics_dir_shared == d.metrics_dir_shared);
  CHECK(c->rebroadcast_groups == d.rebroadcast_groups);
  CHECK(c->boot_priority == d.boot_priority);
  CHECK(c->ready_after == d.ready_after);
  // Under 4 KiB, or dh_compress ships it as config.example.yaml.gz and the documented
  // `cp /usr/share/doc/kplug/config.example.yaml` stops working.
  CHECK(std::filesystem::file_size(std::string(KPLUG_SOURCE_DIR) + "/config.example.yaml") < 4096);
}

TEST_CASE("metrics_dir_shared is a boolean, off unless said", "[config]") {
  CHECK_FALSE(parse_config("metrics_file: /m/k.prom\n", "c.yaml")->metrics_dir_shared);
  CHECK(parse_config("metrics_dir_shared: true\n", "c.yaml")->metrics_dir_shared);
  CHECK_FALSE(parse_config("metrics_dir_shared: maybe\n", "c.yaml").has_value());
}

TEST_CASE("the control socket's and the commands' bounds", "[config]") {
  auto d = parse_config("", "c.yaml");
  REQUIRE(d.has_value());
  CHECK(d->control_max_sessions == 64);
  CHECK(d->control_max_line == 64 * 1024);
  CHECK(d->control_idle_timeout == std::chrono::seconds(30));
  CHECK(d->control_max_output == 256 * 1024);
  CHECK(d->command_workers == 4);
  CHECK(d->command_queue == 256);
  CHECK(d->command_timeout == std::chrono::seconds(10));
  auto c = parse_config(R"(
control:
  max_sessions: 16
  max_line: 8K
  idle_timeout: 5s
  max_output: 256K
commands:
  workers: 2
  queue: 10
  timeout: 3s
)",
                        "c.yaml");
  REQUIRE(c.has_value());
  CHECK(c->control_max_sessions == 16);
  CHECK(c->control_max_line == 8 * 1024);
  CHECK(c->control_idle_timeout == std::chrono::seconds(5));
  CHECK(c->control_max_output == 256 * 1024);
  CHECK(c->command_workers == 2);
  CHECK(c->command_queue == 10);
  CHECK(c->command_timeout == std::chrono::seconds(3));
  auto bad = parse_config("control:\n  max_sessions: 0\ncommands:\n  workers: 1000\n  nope: 1\n", "c.yaml");
  REQUIRE_FALSE(bad.has_value());
  REQUIRE(bad.error().size() == 3);
  CHECK(bad.error()[0].to_string() == "c.yaml:2:17: control.max_sessions must be a number from 1 to 4096 (K and M suffixes allowed)");
}
