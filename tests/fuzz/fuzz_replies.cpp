// libFuzzer target: arbitrary bytes as kplugd's reply, through every decoder the CLI
// uses (status, loaded, reload, settle, the events stream, the state file). A reply it
// does not expect is an error value; nothing may throw or crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "control/protocol.hpp"

using namespace kplug::control;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)state_from_text(text);
  (void)parse_request_line(text);
  auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return 0;
  (void)status_from_json(j);
  (void)loaded_from_json(j);
  (void)reload_from_json(j);
  (void)settle_from_json(j);
  (void)describe_stream_message(j);
  (void)reply_error(j);
  if (auto status = status_from_json(j)) (void)to_line(to_json(*status));
  if (auto loaded = loaded_from_json(j)) (void)to_line(to_json(*loaded));
  return 0;
}
