// Helpers shared by the daemon and engine tests: a resolver that answers what the Debian
// kernel's modules.alias answers for the keys these tests use (checked against it by
// test_resolver.cpp), and synthetic add events.
#pragma once

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>

#include "daemon/daemon.hpp"
#include "fakes.hpp"
#include "rules/settings.hpp"
#include "uevent/uevent.hpp"

namespace kplug::test {

inline std::unique_ptr<FakeResolver> resolver() {
  return std::make_unique<FakeResolver>(std::map<std::string, std::vector<std::string>>{
      {"virtio:d00000001v00001AF4", {"virtio_net"}},
      {"virtio:d00000002v00001AF4", {"virtio_blk"}},
      {"virtio:d00000004v00001AF4", {"virtio_rng"}},
      {"virtio:d00000005v00001AF4", {"virtio_balloon"}},
      {"pci:v00001AF4d00001045sv00001AF4sd00001045bcFFscFFi00", {"virtio_pci"}},
  });
}

// Options for a daemon under test: no coldplug, and the idle release after 1 ms, so that
// io.run() returns once the work is done instead of 2 s later (test_idle_release.cpp
// tests the release itself on manual timers).
inline DaemonOptions daemon_options() {
  DaemonOptions o;
  o.coldplug = false;
  o.idle_release_after = std::chrono::milliseconds(1);
  return o;
}

// A daemon's seams for a test: RESOLVER and LOADERS, a fake system (empty unless the test
// fills SYSTEM), the steady clock, no netlink source (events come through on_uevent).
inline DaemonSeams seams(std::unique_ptr<ModuleResolver> resolver, std::vector<std::unique_ptr<ModuleLoader>> loaders,
                         std::shared_ptr<FakeSystem> system = std::make_shared<FakeSystem>()) {
  DaemonSeams s;
  s.resolver = std::move(resolver);
  s.loaders = std::move(loaders);
  s.system = std::make_unique<FakeSystemView>(std::move(system));
  s.clock = steady_clock();
  s.wall_clock = [] { return 1.7e9; };  // a fixed wall time
  s.commands = FakeCommands{};
  return s;
}

inline DaemonSeams seams(std::unique_ptr<ModuleResolver> resolver, std::unique_ptr<ModuleLoader> loader,
                         std::shared_ptr<FakeSystem> system = std::make_shared<FakeSystem>()) {
  std::vector<std::unique_ptr<ModuleLoader>> loaders;
  loaders.push_back(std::move(loader));
  return seams(std::move(resolver), std::move(loaders), std::move(system));
}

// Manual timers for every part of a daemon (DaemonSeams::timers): those of the parts
// named in SHARED ("grace", "idle", "loads", "rescan") on the test's own state.
inline std::function<std::unique_ptr<NamedTimers>(const std::string&)> manual_timers(
    std::map<std::string, std::shared_ptr<ManualTimerState>> shared = {}) {
  return [shared](const std::string& part) -> std::unique_ptr<NamedTimers> {
    auto it = shared.find(part);
    return std::make_unique<ManualTimers>(it != shared.end() ? it->second : std::make_shared<ManualTimerState>());
  };
}

// Runs IO's loop until PRED holds, or 5 s pass; PRED's last answer.
template <typename Pred>
bool run_until(boost::asio::io_context& io, Pred pred) {
  for (int i = 0; i < 500 && !pred(); ++i) {
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
  return pred();
}

// Runs IO's loop for ROUNDS short turns of 5 ms: what could start has started, what
// could finish has finished (loader threads included).
inline void spin(boost::asio::io_context& io, int rounds = 20) {
  for (int i = 0; i < rounds; ++i) {
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
}

// An add event of subsystem "test"; no MODALIAS property when MODALIAS is empty.
inline Uevent add(std::string devpath, std::string modalias) {
  Uevent ev;
  ev.action = "add";
  ev.devpath = devpath;
  ev.subsystem = "test";
  ev.properties = {{"ACTION", "add"}, {"DEVPATH", devpath}, {"SUBSYSTEM", "test"}};
  if (!modalias.empty()) ev.properties.emplace_back("MODALIAS", std::move(modalias));
  return ev;
}

// The add of a USB smart-card reader's interface (usb-ccid's MODALIAS) as the kernel sends
// it, SEQNUM 42.
inline Uevent usb_ccid_add() {
  Uevent ev;
  ev.action = "add";
  ev.devpath = "/devices/pci0000:00/usb1/1-1/1-1:1.0";
  ev.subsystem = "usb";
  ev.seqnum = 42;
  ev.properties = {{"ACTION", "add"}, {"DEVPATH", ev.devpath}, {"SUBSYSTEM", "usb"},
                   {"MODALIAS", "usb:v08E6p4433d0100dc00dsc00dp00ic0Bisc00ip00in00"}, {"SEQNUM", "42"}};
  return ev;
}

// A value with everything a shell would act on.
inline const std::string hostile = "a; rm -rf / $(id) `id` 'q' \"dq\"\nnext line  two  spaces $HOME *";

// An add of /devices/x (usb) with one more property, EVIL=VALUE.
inline Uevent event_with(const std::string& value) {
  Uevent ev = add("/devices/x", "");
  ev.subsystem = "usb";
  ev.properties = {{"ACTION", "add"}, {"DEVPATH", "/devices/x"}, {"SUBSYSTEM", "usb"}, {"EVIL", value}};
  return ev;
}

}  // namespace kplug::test
