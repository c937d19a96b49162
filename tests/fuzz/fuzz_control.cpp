// libFuzzer target: arbitrary bytes from a client, through a real control session (a
// socketpair, kplugd's ControlSession with small limits). Nothing may throw or crash,
// and every line kplugd sends back must be one JSON object.
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "control/protocol.hpp"
#include "daemon/control_server.hpp"

using namespace kplug;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) std::abort();
  // The client's bytes wait in the socket; then the client half-closes, as a script would.
  for (std::size_t done = 0; done < size;) {
    ssize_t n = write(fds[1], data + done, size - done);
    if (n <= 0) std::abort();
    done += static_cast<std::size_t>(n);
  }
  shutdown(fds[1], SHUT_WR);

  boost::asio::io_context io;
  ControlLimits limits;
  limits.max_line = 256;
  limits.max_output = 4096;
  limits.idle_timeout = std::chrono::milliseconds(100);
  limits.linger = std::chrono::milliseconds(50);
  ControlStats stats;
  boost::asio::local::stream_protocol::socket socket(io);
  socket.assign(boost::asio::local::stream_protocol(), fds[0]);
  auto session = std::make_shared<ControlSession>(
      std::move(socket), 1000,
      [](const std::shared_ptr<ControlSession>& s, const control::Request& r) {
        // Replies of the sizes kplugd sends, and a subscription that streams.
        if (r.kind == control::RequestKind::events) {
          s->set_subscribed();
          for (int i = 0; i < 100; ++i) s->send({{"type", "unload"}, {"module", std::string(64, 'm')}});
        } else {
          s->send({{"ok", true}, {"request", control::to_string(r.kind)}});
        }
      },
      limits, stats);
  session->start();
  io.run();

  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fds[1], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  close(fds[1]);
  for (std::size_t start = 0, nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1) {
    auto j = nlohmann::json::parse(out.begin() + static_cast<long>(start), out.begin() + static_cast<long>(nl), nullptr,
                                   false);
    if (j.is_discarded() || !j.is_object()) std::abort();
  }
  return 0;
}
