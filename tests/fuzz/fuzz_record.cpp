// libFuzzer target: the record stream reader (kplug replay, kplug test --event) on
// arbitrary bytes. It may refuse a line, never throw or crash; every event it yields
// has a known action, a devpath that stays in /sys, and times that never run backwards;
// and an event it yields, written again, reads back the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "base/names.hpp"
#include "uevent/parse.hpp"
#include "uevent/record.hpp"

using namespace kplug;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  RecordReader reader(in);
  double last = 0;
  for (int i = 0; i < 10000; ++i) {
    auto next = reader.next();
    if (!next || !*next) break;
    const RecordedEvent& rec = **next;
    const Uevent& ev = rec.event;
    if (!is_known_action(ev.action) || !is_safe_devpath(ev.devpath)) std::abort();
    if (rec.timestamp < last) std::abort();
    last = rec.timestamp;
    std::istringstream again(record_event_line(ev, rec.timestamp) + "\n");
    RecordReader back(again);
    auto reread = back.next();
    if (!reread || !*reread) std::abort();
    const Uevent& copy = (**reread).event;
    if (copy.action != ev.action || copy.devpath != ev.devpath || copy.subsystem != ev.subsystem ||
        copy.source != ev.source || copy.seqnum != ev.seqnum)
      std::abort();
  }
  (void)parse_record(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
