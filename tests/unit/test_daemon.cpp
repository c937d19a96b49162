// The daemon's event path with a fake loader and no socket: decide, resolve, load.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <set>

#include <sstream>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "daemon/daemon.hpp"
#include "daemon_fixtures.hpp"
#include "rules/rule_loader.hpp"

using namespace kplug;
using kplug::test::add;
using kplug::test::resolver;

TEST_CASE("add events with a MODALIAS load the resolved modules, others load nothing", "[daemon]") {
  std::ostringstream log;
  auto logger = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  spdlog::set_default_logger(logger);

  std::vector<LoadJob> jobs;
  boost::asio::io_context io;
  DaemonOptions options = test::daemon_options();
  Daemon daemon(io, options, test::seams(resolver(), std::make_unique<test::JobLoader>(jobs)));
  daemon.on_uevent(add("/devices/virtio0", "virtio:d00000005v00001AF4"));
  daemon.on_uevent(add("/devices/pci0", "pci:v00001AF4d00001045sv00001AF4sd00001045bcFFscFFi00"));
  daemon.on_uevent(add("/devices/none", "nothing:here"));
  daemon.on_uevent(add("/devices/nomodalias", ""));
  Uevent removal = add("/devices/virtio0", "virtio:d00000005v00001AF4");
  removal.action = "remove";
  daemon.on_uevent(removal);
  io.run();  // returns once every load result has been handled

  REQUIRE(jobs.size() == 2);
  CHECK(jobs[0].module == "virtio_balloon");
  CHECK(jobs[0].devpath == "/devices/virtio0");
  CHECK(jobs[0].apply_blacklist);
  CHECK(jobs[1].module == "virtio_pci");
  CHECK(daemon.counters().loads_ok == 1);
  CHECK(daemon.counters().loads_failed == 1);
  CHECK(daemon.counters().no_module == 1);
  std::string text = log.str();
  CHECK(text.find("add /devices/virtio0 (test) MODALIAS=virtio:d00000005v00001AF4: loaded virtio_balloon in ") !=
        std::string::npos);
  CHECK(text.find("failed to load virtio_pci: Operation not permitted") != std::string::npos);
  CHECK(text.find("add /devices/none (test) MODALIAS=nothing:here: no module matches") != std::string::npos);
  CHECK(text.find("/devices/nomodalias") == std::string::npos);  // not a decision: debug level only
  spdlog::set_default_logger(spdlog::stderr_color_mt("restored"));
}

namespace {
Uevent removal(std::string devpath) {
  Uevent ev = add(std::move(devpath), "");
  ev.action = "remove";
  return ev;
}
constexpr const char* balloon = "virtio:d00000005v00001AF4";  // -> virtio_balloon
constexpr const char* rng = "virtio:d00000004v00001AF4";      // -> virtio_rng

// A daemon with no socket and a fake loader; feed() runs the loop until it is idle
// (grace timers included, as they are work for the io_context).
struct UnloadHarness {
  std::vector<LoadJob> jobs;
  std::vector<std::string> unloads;
  boost::asio::io_context io;
  Daemon daemon;

  explicit UnloadHarness(std::chrono::milliseconds grace, bool unload = true)
      : daemon(io, options(grace, unload), test::seams(resolver(), std::make_unique<test::JobLoader>(jobs, &unloads))) {}

  static DaemonOptions options(std::chrono::milliseconds grace, bool unload) {
    DaemonOptions o = test::daemon_options();
    o.unload = unload;
    o.unload_grace = grace;
    o.unload_subsystems = {};  // the fake events' subsystem is "test"
    return o;
  }
  void feed(std::initializer_list<Uevent> events) {
    for (const auto& ev : events) daemon.on_uevent(ev);
    io.run();
    io.restart();
  }
};
}  // namespace

TEST_CASE("a module kplugd loaded is unloaded after its last device goes", "[daemon][unload]") {
  UnloadHarness h(std::chrono::milliseconds(20));
  h.feed({add("/devices/b1", balloon), add("/devices/b2", balloon)});
  CHECK(h.daemon.ledger().entries().at("virtio_balloon").devices.size() == 2);
  h.feed({removal("/devices/b1")});
  CHECK(h.unloads.empty());  // one device is still there
  h.feed({removal("/devices/b2")});  // returns after the grace timer and the unload
  CHECK(h.unloads == std::vector<std::string>{"virtio_balloon"});
  CHECK_FALSE(h.daemon.ledger().owns("virtio_balloon"));
  CHECK(h.daemon.counters().unloads == 1);
}

TEST_CASE("plugging again during the grace period cancels the unload", "[daemon][unload]") {
  UnloadHarness h(std::chrono::milliseconds(50));
  h.feed({add("/devices/b1", balloon)});
  h.feed({removal("/devices/b1"), add("/devices/b1", balloon)});  // back before the timer fires
  CHECK(h.unloads.empty());
  CHECK(h.daemon.ledger().entries().at("virtio_balloon").devices.count("/devices/b1") == 1);
  h.feed({removal("/devices/b1")});
  CHECK(h.unloads == std::vector<std::string>{"virtio_balloon"});
}

TEST_CASE("modules loaded before kplugd started are never unloaded", "[daemon][unload]") {
  UnloadHarness h(std::chrono::milliseconds(1));
  h.feed({add("/devices/r1", rng)});  // virtio_rng: already loaded
  CHECK_FALSE(h.daemon.ledger().owns("virtio_rng"));
  h.feed({removal("/devices/r1")});
  CHECK(h.unloads.empty());
}

TEST_CASE("with unloading switched off (--no-unload) every module stays", "[daemon][unload]") {
  UnloadHarness h(std::chrono::milliseconds(1), false);
  h.feed({add("/devices/b1", balloon)});
  h.feed({removal("/devices/b1")});
  CHECK(h.unloads.empty());
  CHECK(h.daemon.ledger().owns("virtio_balloon"));
}

TEST_CASE("rules drive the daemon: explicit loads, blacklist, options, keeping modules", "[daemon][rules]") {
  RuleSet set;
  Diagnostics diags;
  parse_rules(R"(
- name: extra
  match: {modalias: "virtio:d00000005*"}
  load: [extra_mod]
  blacklist: [virtio_balloon]
  options: {extra_mod: "debug=1"}
  unload_on_remove: false
- name: drop
  match: {devpath: "/devices/ignored*"}
  ignore: true
)",
              "t.yaml", set.rules, diags);
  REQUIRE(diags.empty());
  std::vector<LoadJob> jobs;
  std::vector<std::string> unloads;
  boost::asio::io_context io;
  DaemonOptions options = test::daemon_options();
  options.unload_subsystems = {};
  options.unload_grace = std::chrono::milliseconds(1);
  Daemon daemon(io, options, test::seams(resolver(), std::make_unique<test::JobLoader>(jobs, &unloads)), set);

  daemon.on_uevent(add("/devices/b1", balloon));
  daemon.on_uevent(add("/devices/ignored0", balloon));
  io.run();
  io.restart();
  REQUIRE(jobs.size() == 1);  // virtio_balloon is blacklisted, the ignored device loads nothing
  CHECK(jobs[0].module == "extra_mod");
  CHECK(jobs[0].apply_blacklist);  // named by a rule: modprobe.d's blacklist still applies
  CHECK(jobs[0].options == "debug=1");
  CHECK(daemon.counters().loads_skipped == 1);

  daemon.on_uevent(removal("/devices/b1"));
  io.run();
  CHECK(unloads.empty());  // unload_on_remove: false keeps it
  CHECK(daemon.ledger().owns("extra_mod"));
}

TEST_CASE("dependencies a load pulled in go with the module, unless kplugd owns them", "[daemon][unload]") {
  std::vector<std::string> deps_seen;
  boost::asio::io_context io;
  DaemonOptions o = test::daemon_options();
  o.unload_subsystems = {};
  o.unload_grace = std::chrono::milliseconds(1);
  Daemon daemon(io, o, test::seams(resolver(), std::make_unique<test::PullsInLoader>(deps_seen)));
  daemon.on_uevent(add("/devices/b1", balloon));
  daemon.on_uevent(add("/devices/n1", "virtio:d00000001v00001AF4"));  // virtio_net, for a device of its own
  io.run();
  io.restart();
  CHECK(daemon.ledger().entries().at("virtio_balloon").pulled_in == std::vector<std::string>{"dep_a", "virtio_net"});
  daemon.on_uevent(removal("/devices/b1"));
  io.run();
  CHECK(deps_seen == std::vector<std::string>{"dep_a"});  // virtio_net serves /devices/n1
}

TEST_CASE("a log: action's text is escaped after its placeholders are filled", "[daemon][rules]") {
  std::ostringstream log;
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  RuleSet rules;
  Diagnostics diags;
  parse_rules("- name: renamed\n  match: {action: move}\n  log: \"was {DEVPATH_OLD}\"\n", "r.yaml", rules.rules, diags);
  REQUIRE(diags.empty());
  std::vector<LoadJob> jobs;
  boost::asio::io_context io;
  DaemonOptions options = test::daemon_options();
  Daemon daemon(io, options, test::seams(resolver(), std::make_unique<test::JobLoader>(jobs)), std::move(rules));
  Uevent ev = add("/devices/virtual/net/new", "");
  ev.action = "move";
  ev.properties.emplace_back("DEVPATH_OLD", "/devices/virtual/net/\x1b[2J\x1b[31mroot");
  daemon.on_uevent(ev);
  io.run();
  std::string text = log.str();
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find("rule 'renamed': was /devices/virtual/net/\\x1b[2J\\x1b[31mroot") != std::string::npos);
  spdlog::set_default_logger(spdlog::stderr_color_mt("restored-log"));
}

TEST_CASE("a load that fails for lack of descriptors is retried, and says so", "[daemon]") {
  std::ostringstream log;
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  for (int failures : {2, 9}) {
    boost::asio::io_context io;
    DaemonOptions options = test::daemon_options();
    auto loader = std::make_unique<test::NoDescriptorsLoader>(failures);
    auto* raw = loader.get();
    auto loads = std::make_shared<test::ManualTimerState>();
    auto seams = test::seams(resolver(), std::move(loader));
    seams.timers = test::manual_timers({{"loads", loads}});
    Daemon daemon(io, options, std::move(seams));
    daemon.on_uevent(add("/devices/virtio0", balloon));
    int retries = 0;
    do io.restart(), io.run();
    while (loads->fire("retry virtio_balloon") && ++retries < 10);
    CHECK(retries == std::min(failures, 4));
    if (failures == 2) {
      CHECK(raw->tries == 3);
      CHECK(daemon.counters().loads_retried == 2);
      CHECK(daemon.counters().loads_ok == 1);
      CHECK(daemon.ledger().owns("virtio_balloon"));
    } else {
      CHECK(raw->tries == 5);  // then it gives up, as a failure that says what it was
      CHECK(daemon.counters().loads_failed == 1);
      CHECK_FALSE(daemon.ledger().owns("virtio_balloon"));
    }
  }
  std::string text = log.str();
  CHECK(text.find("failed to look up virtio_balloon: Too many open files; trying again in 500 ms (try 2 of 5)") !=
        std::string::npos);
  CHECK(text.find("no such module") == std::string::npos);
  spdlog::set_default_logger(spdlog::stderr_color_mt("restored-emfile"));
}
