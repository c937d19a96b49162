// The control service over a real socket in a temporary directory, with the daemon's
// progress faked: settle waits until kplugd is idle and has handled the kernel's SEQNUM,
// or until its time-out; status and the root check go through the hooks.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "control/client.hpp"
#include "daemon/control_service.hpp"
#include "fakes.hpp"
#include "temp_tree.hpp"

using namespace kplug;
using namespace std::chrono_literals;

namespace {

struct Service {
  test::TempTree t;
  boost::asio::io_context io;
  std::shared_ptr<test::FakeSystem> system = std::make_shared<test::FakeSystem>();
  test::FakeSystemView view{system};
  ControlService::Progress progress;  // touched on the io thread only
  int reloads = 0;
  ControlService service{io, make_asio_timers(io), view, steady_clock(),  // settle polls on real time, over a real socket
                         {[] {
                            control::StatusReply r;
                            r.version = "test";
                            return r;
                          },
                          [] { return control::LoadedReply{}; },
                          [this] {
                            ++reloads;
                            control::ReloadReply r;
                            r.ok = true;
                            return r;
                          },
                          [this] { return progress; }}};
  std::string path = (t.root / "control.sock").string();
  std::thread thread;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work = boost::asio::make_work_guard(io);

  Service() {
    REQUIRE(service.open(path, ControlLimits{}).has_value());
    thread = std::thread([this] { io.run(); });
  }
  ~Service() {
    boost::asio::post(io, [this] { service.stop(); });
    work.reset();
    thread.join();
  }
  void on_loop(std::function<void()> fn) { boost::asio::post(io, std::move(fn)); }
};

}  // namespace

TEST_CASE("settle answers once kplugd is idle and has handled the kernel's SEQNUM", "[control_service][settle]") {
  Service s;
  s.system->seqnum = 42;
  auto client = control::ControlClient::connect(s.path);
  REQUIRE(client.has_value());
  REQUIRE(client->send({{"request", "settle"}, {"timeout", 10}}).has_value());
  // Busy: no answer yet.
  CHECK_FALSE(client->receive(200ms).has_value());
  // Idle, but event 42 not handled yet, and bytes wait on the socket: still no answer.
  s.on_loop([&] { s.progress = {true, 41, 0, 128}; });
  CHECK_FALSE(client->receive(200ms).has_value());
  s.on_loop([&] {
    s.progress = {true, 42, 0, 0};
    s.service.check_settles();
  });
  auto reply = client->receive(2s);
  REQUIRE(reply.has_value());
  CHECK((*reply)["settled"] == true);
  CHECK((*reply)["seqnum"] == 42);
}

TEST_CASE("settle counts SEQNUMs of other namespaces as handled once the socket stays empty", "[control_service][settle]") {
  Service s;
  s.system->seqnum = 100;  // numbers 51..100 went to other network namespaces
  s.on_loop([&] { s.progress = {true, 50, 0, 0}; });
  auto client = control::ControlClient::connect(s.path);
  REQUIRE(client.has_value());
  auto reply = client->request({{"request", "settle"}, {"timeout", 10}}, 2s);
  REQUIRE(reply.has_value());
  CHECK((*reply)["settled"] == true);
  CHECK((*reply)["seqnum"] == 50);
}

TEST_CASE("settle times out and says how much is in flight", "[control_service][settle]") {
  Service s;
  s.on_loop([&] { s.progress = {false, 0, 3, 0}; });
  auto client = control::ControlClient::connect(s.path);
  REQUIRE(client.has_value());
  auto reply = client->request({{"request", "settle"}, {"timeout", 0.2}}, 2s);
  REQUIRE(reply.has_value());
  CHECK((*reply)["ok"] == false);
  CHECK((*reply)["error"] == "timed out before kplugd settled (3 in flight)");
}

TEST_CASE("status goes through its hook; reload needs root", "[control_service]") {
  Service s;
  auto client = control::ControlClient::connect(s.path);
  REQUIRE(client.has_value());
  auto status = client->request({{"request", "status"}}, 2s);
  REQUIRE(status.has_value());
  CHECK((*status)["version"] == "test");
  auto reload = client->request({{"request", "reload"}}, 2s);
  REQUIRE(reload.has_value());
  if (::geteuid() == 0) {
    CHECK((*reload)["ok"] == true);
    CHECK(s.reloads == 1);
  } else {
    CHECK((*reload)["ok"] == false);
    CHECK((*reload)["error"].get<std::string>().find("needs root") == 0);
  }
}
