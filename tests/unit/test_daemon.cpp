// The daemon's event path with a fake loader and no socket: decide, resolve, load.
#include <catch2/catch.hpp>

#include <cstdlib>

#include <sstream>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "daemon/daemon.hpp"

using namespace kplug;

namespace {

// Records jobs and answers a fixed status, without touching any kernel.
class FakeLoader : public ModuleLoader {
 public:
  explicit FakeLoader(std::vector<LoadJob>& jobs) : jobs_(jobs) {}
  LoadResult load(const LoadJob& job) override {
    jobs_.push_back(job);
    LoadResult r;
    r.status = job.module == "virtio_pci" ? LoadStatus::failed : LoadStatus::loaded;
    if (r.status == LoadStatus::failed) r.message = "failed to load virtio_pci: Operation not permitted";
    return r;
  }

 private:
  std::vector<LoadJob>& jobs_;
};

Uevent add(std::string devpath, std::string modalias) {
  Uevent ev;
  ev.action = "add";
  ev.devpath = devpath;
  ev.subsystem = "test";
  ev.properties = {{"ACTION", "add"}, {"DEVPATH", devpath}, {"SUBSYSTEM", "test"}};
  if (!modalias.empty()) ev.properties.emplace_back("MODALIAS", modalias);
  return ev;
}

}  // namespace

TEST_CASE("add events with a MODALIAS load the resolved modules, others load nothing", "[daemon]") {
  const char* dir = std::getenv("KPLUG_TEST_MODULES_DIR");
  REQUIRE(dir != nullptr);
  auto ctx = KmodContext::open({dir, {"/nonexistent"}});
  REQUIRE(ctx.has_value());

  std::ostringstream log;
  auto logger = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  spdlog::set_default_logger(logger);

  std::vector<LoadJob> jobs;
  boost::asio::io_context io;
  DaemonOptions options;
  options.coldplug = false;
  Daemon daemon(io, options, nullptr, std::make_unique<Resolver>(std::move(*ctx)),
                std::make_unique<FakeLoader>(jobs));
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
  CHECK(jobs[0].via_alias);
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
