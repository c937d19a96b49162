// Reading recorded events.
#include "uevent/record.hpp"

#include <charconv>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/names.hpp"
#include "uevent/parse.hpp"

namespace kplug {

namespace {

Result<Uevent, std::string> from_properties(std::vector<std::pair<std::string, std::string>> props) {
  Uevent ev;
  ev.properties = std::move(props);
  if (!ev.get("ACTION")) ev.properties.insert(ev.properties.begin(), {"ACTION", "add"});
  for (const char* key : {"DEVPATH", "SUBSYSTEM"})
    if (!ev.get(key)) return unexpected(fmt::format("the event has no {}", key));
  ev.action = std::string(*ev.get("ACTION"));
  ev.devpath = std::string(*ev.get("DEVPATH"));
  ev.subsystem = std::string(*ev.get("SUBSYSTEM"));
  if (!is_known_action(ev.action)) return unexpected(fmt::format("unknown ACTION '{}'", ev.action));
  if (!is_safe_devpath(ev.devpath)) return unexpected(fmt::format("DEVPATH '{}' is not a path under /sys", ev.devpath));
  if (auto seq = ev.get("SEQNUM")) std::from_chars(seq->data(), seq->data() + seq->size(), ev.seqnum);
  return ev;
}

}  // namespace

Result<Uevent, std::string> parse_record(const std::string& text) {
  auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(text.substr(first, text.find('\n', first) - first),
                                                             nullptr, false);
    if (j.is_discarded() || !j.is_object()) return unexpected(std::string("the first line is not a JSON object"));
    const auto& props = j.contains("properties") ? j["properties"] : j;
    if (!props.is_object()) return unexpected(std::string("\"properties\" is not an object"));
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [k, v] : props.items())
      out.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
    return from_properties(std::move(out));
  }
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(text);
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos || eq == 0) return unexpected(fmt::format("line {}: expected KEY=VALUE", n));
    out.emplace_back(line.substr(0, eq), line.substr(eq + 1));
  }
  return from_properties(std::move(out));
}

}  // namespace kplug
