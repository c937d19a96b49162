// One-shot timers by name, a set per part (grace periods, the idle release, slow loads
// and retries, the rescan debounce). kplugd runs them on Asio's steady clock; `kplug
// replay` its grace periods on the recorded times (replay/replay.hpp), so a stream of an
// hour replays in moments with the same unloads; the unit tests on ManualTimers.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

namespace kplug {

class NamedTimers {
 public:
  virtual ~NamedTimers() = default;
  // FIRE runs on the loop AFTER from now, unless cancelled; a timer of the same name is replaced.
  virtual void start(const std::string& name, std::chrono::milliseconds after, std::function<void()> fire) = 0;
  // True when a timer of that name was running (it will not fire).
  virtual bool cancel(const std::string& name) = 0;
  virtual void cancel_all() = 0;
  virtual std::size_t running() const = 0;
};

std::unique_ptr<NamedTimers> make_asio_timers(boost::asio::io_context& io);

}  // namespace kplug
