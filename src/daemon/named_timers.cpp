// Named timers on Asio's steady clock.
#include "daemon/named_timers.hpp"

#include <map>

#include <boost/asio/steady_timer.hpp>

namespace kplug {

namespace {

class AsioTimers : public NamedTimers {
 public:
  explicit AsioTimers(boost::asio::io_context& io) : io_(io) {}

  void start(const std::string& name, std::chrono::milliseconds after, std::function<void()> fire) override {
    cancel(name);
    auto& timer = timers_[name];
    timer = std::make_unique<boost::asio::steady_timer>(io_, after);
    timer->async_wait([this, name, fire = std::move(fire)](const boost::system::error_code& ec) {
      if (ec) return;
      timers_.erase(name);
      fire();
    });
  }

  bool cancel(const std::string& name) override {
    auto it = timers_.find(name);
    if (it == timers_.end()) return false;
    it->second->cancel();
    timers_.erase(it);
    return true;
  }

  void cancel_all() override {
    for (auto& [name, timer] : timers_) timer->cancel();
    timers_.clear();
  }

  std::size_t running() const override { return timers_.size(); }

 private:
  boost::asio::io_context& io_;
  std::map<std::string, std::unique_ptr<boost::asio::steady_timer>> timers_;
};

}  // namespace

std::unique_ptr<NamedTimers> make_asio_timers(boost::asio::io_context& io) { return std::make_unique<AsioTimers>(io); }

}  // namespace kplug
