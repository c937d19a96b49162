// Rule commands as a root daemon must run them (daemon/command_runner.cpp,
// daemon/command_pool.cpp): no descriptor of kplugd's leaks into them, their whole process
// group dies at the time limit, at exit and at stop, the queue is bounded, and stopping
// with hung commands takes moments.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "daemon/command_pool.hpp"
#include "daemon/daemon.hpp"
#include "daemon_fixtures.hpp"
#include "rules/rule_loader.hpp"

using namespace kplug;
using namespace std::chrono_literals;

namespace {

// True while PID runs (a zombie, or gone altogether, counts as dead).
bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
}

bool dies_within(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (alive(pid)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}


}  // namespace

TEST_CASE("a command inherits no descriptor but its three standard ones", "[run]") {
  // A descriptor opened without O_CLOEXEC, as a careless library might.
  int leaky = open("/dev/null", O_RDONLY);
  REQUIRE(leaky >= 3);
  CommandResult r = run_command({"/bin/ls", "/proc/self/fd"}, 5s);
  close(leaky);
  REQUIRE(r.started);
  // ls itself holds one more: the directory it lists.
  std::set<std::string> fds(r.output.begin(), r.output.end());
  CHECK(fds == std::set<std::string>{"0", "1", "2", "3"});
  CommandResult in = run_command({"/usr/bin/readlink", "/proc/self/fd/0"}, 5s);
  CHECK(in.output == std::vector<std::string>{"/dev/null"});
}

TEST_CASE("a command starts with every signal unblocked, in a session of its own", "[run]") {
  // Worker threads of asio block every signal; a child must not inherit that.
  boost::asio::thread_pool pool(1);
  CommandResult r;
  boost::asio::post(pool, [&] { r = run_command({"/bin/grep", "^SigBlk", "/proc/self/status"}, 5s); });
  pool.join();
  CHECK(r.output == std::vector<std::string>{"SigBlk:\t0000000000000000"});
  CommandResult sid = run_command({"/bin/sh", "-c", "ps -o sid= -p $$; echo $$"}, 5s);
  REQUIRE(sid.output.size() == 2);
  CHECK(std::stol(sid.output[0]) == std::stol(sid.output[1]));  // its own session leader
}

TEST_CASE("the whole process group dies at the time limit and when the program exits", "[run]") {
  // A background child that outlives its parent's limit.
  CommandResult hung = run_command({"/bin/sh", "-c", "sleep 60 & echo $!; sleep 60"}, 300ms);
  CHECK(hung.timed_out);
  REQUIRE_FALSE(hung.output.empty());
  CHECK(dies_within(std::stoi(hung.output[0]), 2s));
  // A program that exits at once, leaving a daemon behind (with its output elsewhere).
  CommandResult quick = run_command({"/bin/sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!"}, 5s);
  CHECK_FALSE(quick.timed_out);
  CHECK(quick.exit_status == 0);
  REQUIRE_FALSE(quick.output.empty());
  CHECK(dies_within(std::stoi(quick.output[0]), 2s));
  CHECK(quick.duration < 2s);
}

TEST_CASE("output is bounded in lines and in line length", "[run]") {
  CommandResult r = run_command({"/bin/sh", "-c", "yes | head -n 1000; head -c 100000 /dev/zero | tr '\\\\0' x"}, 5s);
  CHECK(r.output.size() == max_output_lines);
  CommandResult wide = run_command({"/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\\\0' x"}, 5s);
  REQUIRE(wide.output.size() == 1);
  CHECK(wide.output[0].size() == max_output_line);
}

TEST_CASE("the command queue is bounded; stop kills what runs and drops what waits", "[run]") {
  boost::asio::io_context io;
  CommandPool pool(io, 4, 8, run_command);
  std::vector<CommandResult> results;
  int accepted = 0, refused = 0;
  for (int i = 0; i < 20; ++i) {
    if (pool.submit({"/bin/sleep", "100"}, 60s, [&](const CommandResult& r) { results.push_back(r); })) ++accepted;
    else ++refused;
  }
  // 4 may already run and 8 wait; the rest were refused at once.
  CHECK(accepted >= 8);
  CHECK(accepted <= 12);
  CHECK(refused == 20 - accepted);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (pool.running() < 4 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  REQUIRE(pool.running() == 4);
  auto start = std::chrono::steady_clock::now();
  auto stopped = pool.stop();
  io.run();  // returns once every command has reported back
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(stopped.killed == 4);
  CHECK(stopped.dropped == static_cast<std::size_t>(accepted - 4));
  CHECK(results.size() == static_cast<std::size_t>(accepted));
  for (const auto& r : results) CHECK(r.stopped);
  CHECK(took < 2s);
  CHECK_FALSE(pool.submit({"/bin/true"}, 1s, [](const CommandResult&) {}));  // nothing starts after stop
}

TEST_CASE("kplugd stops within 2 s with 12 hung rule commands", "[run][daemon]") {
  std::ostringstream log;
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  RuleSet rules;
  Diagnostics diags;
  parse_rules("- name: hang\n  match: {subsystem: test}\n  run: [/bin/sleep, '100']\n", "hang.yaml", rules.rules,
              diags);
  REQUIRE(diags.empty());
  boost::asio::io_context io;
  DaemonOptions options = test::daemon_options();
  options.autoload = false;
  std::vector<std::unique_ptr<ModuleLoader>> loaders;
  loaders.push_back(std::make_unique<test::RecordingLoader>()  /* loads nothing: the test is about commands */);
  auto seams = test::seams(test::resolver(), std::move(loaders));
  seams.commands = run_command;  // real processes: the point is killing their groups
  Daemon daemon(io, options, std::move(seams), std::move(rules));
  for (int i = 0; i < 12; ++i) daemon.on_uevent(test::add("/devices/hang" + std::to_string(i), ""));
  // Let the four workers start theirs.
  boost::asio::steady_timer settle(io, 500ms);
  settle.async_wait([&](const boost::system::error_code&) { daemon.stop(); });
  auto start = std::chrono::steady_clock::now();
  io.run();
  auto took = std::chrono::steady_clock::now() - start - 500ms;
  std::printf("measure: SIGTERM-equivalent stop to loop exit with 12 hung commands: %.0f ms\n",
              std::chrono::duration<double, std::milli>(took).count());
  CHECK(took < 2s);
  CHECK(daemon.counters().commands_killed == 4);
  CHECK(log.str().find("stopping: killed 4 running rule command(s), dropped 8 queued") != std::string::npos);
  spdlog::set_default_logger(spdlog::stderr_color_mt("restored-pool"));
}
