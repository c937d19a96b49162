// The events in flight (see the header).
#include "daemon/event_flight.hpp"

#include <utility>

namespace kplug {

void EventFlight::queued(Ticket ticket, EventSource source) {
  auto [it, fresh] = flights_.try_emplace(ticket);
  if (!fresh) return;
  it->second.source = source;
  ++by_source_[static_cast<std::size_t>(source)];
  if (source != EventSource::kernel) ++undecided_walks_;
}

EventFlight::Flight& EventFlight::start(Ticket ticket, Uevent event) {
  queued(ticket, event.source);  // a no-op for a ticket queued first
  Flight& flight = flights_.at(ticket);
  if (!flight.started) {
    ++started_;
    if (flight.source != EventSource::kernel) --undecided_walks_;
  }
  flight.started = true;
  flight.event = std::move(event);
  return flight;
}

void EventFlight::decided(Ticket ticket, Priority priority) {
  Flight& flight = flights_.at(ticket);
  if (flight.priority == Priority::critical) --critical_;
  flight.priority = priority;
  if (priority == Priority::critical) ++critical_;
}

bool EventFlight::answered(Ticket ticket, const std::string& module, const LoadResult& result) {
  Flight& flight = flights_.at(ticket);
  flight.report.outcomes.emplace_back(module, result);
  if (flight.loads_waiting > 0) --flight.loads_waiting;
  return flight.loads_waiting == 0;
}

EventFlight::Flight EventFlight::land(Ticket ticket) {
  auto node = flights_.extract(ticket);
  if (node.empty()) return {};
  Flight flight = std::move(node.mapped());
  --by_source_[static_cast<std::size_t>(flight.source)];
  if (flight.started) --started_;
  else if (flight.source != EventSource::kernel) --undecided_walks_;
  if (flight.priority == Priority::critical) --critical_;
  return flight;
}

}  // namespace kplug
