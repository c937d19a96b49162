// libFuzzer target: the uevent datagram parser on arbitrary bytes. Whatever it accepts
// must satisfy the invariants the rest of kplugd relies on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "base/names.hpp"
#include "uevent/parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const char> bytes(reinterpret_cast<const char*>(data), size);
  for (bool truncated : {false, true}) {
    auto event = kplug::parse_datagram(bytes, truncated);
    if (!event) continue;
    // An accepted event: never truncated, a known action, a devpath that stays in /sys.
    if (truncated || !kplug::is_known_action(event->action) || !kplug::is_safe_devpath(event->devpath)) std::abort();
    if (event->get("ACTION") != std::optional<std::string_view>(event->action)) std::abort();
  }
  return 0;
}
