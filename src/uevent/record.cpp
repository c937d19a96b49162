// Reading and writing recorded events.
#include "uevent/record.hpp"

#include <charconv>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/names.hpp"
#include "base/text.hpp"
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
  // A recording is shared input: what it holds is escaped before it reaches a terminal.
  if (!is_known_action(ev.action)) return unexpected(fmt::format("unknown ACTION '{}'", printable(ev.action, 64)));
  if (!is_safe_devpath(ev.devpath))
    return unexpected(fmt::format("DEVPATH '{}' is not a path under /sys", printable(ev.devpath)));
  if (auto seq = ev.get("SEQNUM")) std::from_chars(seq->data(), seq->data() + seq->size(), ev.seqnum);
  return ev;
}

Result<Uevent, std::string> from_json(const nlohmann::ordered_json& j) {
  if (!j.is_object()) return unexpected(std::string("not a JSON object"));
  const auto& props = j.contains("properties") ? j["properties"] : j;
  if (!props.is_object()) return unexpected(std::string("\"properties\" is not an object"));
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [k, v] : props.items()) out.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
  return from_properties(std::move(out));
}

}  // namespace

Result<Uevent, std::string> parse_record(const std::string& text) {
  auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(text.substr(first, text.find('\n', first) - first),
                                                             nullptr, false);
    if (j.is_discarded() || !j.is_object()) return unexpected(std::string("the first line is not a JSON object"));
    return from_json(j);
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

std::string record_header_line(const RecordHeader& header) {
  nlohmann::ordered_json j = {{"kplug_record", header.version},
                              {"kernel", header.kernel},
                              {"hostname", header.hostname},
                              {"started", header.started},
                              {"modules", header.modules}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string record_event_line(const Uevent& ev, double timestamp) {
  nlohmann::ordered_json props = nlohmann::ordered_json::object();
  for (const auto& [k, v] : ev.properties) props[k] = v;
  nlohmann::ordered_json j = {{"action", ev.action},       {"devpath", ev.devpath},
                              {"subsystem", ev.subsystem}, {"seqnum", ev.seqnum},
                              {"timestamp", timestamp},    {"source", to_string(ev.source)},
                              {"properties", props}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::optional<RecordedEvent>, std::string> RecordReader::next() {
  std::string line;
  for (;;) {
    line.clear();
    // Bounded: a line longer than record_max_line is refused without being kept.
    bool too_long = false;
    for (int c; (c = in_.get()) != std::char_traits<char>::eof() && c != '\n';) {
      if (line.size() < record_max_line) line.push_back(static_cast<char>(c));
      else too_long = true;
    }
    if (line.empty() && !too_long && !in_) return std::optional<RecordedEvent>{};  // the end
    ++line_;
    if (too_long) return unexpected(fmt::format("line {}: longer than {} bytes", line_, record_max_line));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank
    auto j = nlohmann::ordered_json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return unexpected(fmt::format("line {}: not a JSON object", line_));
    if (j.contains("kplug_record")) {
      if (line_ != 1 || header_) return unexpected(fmt::format("line {}: a header line must come first", line_));
      const auto& v = j["kplug_record"];
      if (!v.is_number_integer() || v.get<std::int64_t>() < 1)
        return unexpected(fmt::format("line {}: \"kplug_record\" is not a format version", line_));
      if (v.get<std::int64_t>() > record_format_version)
        return unexpected(fmt::format("line {}: format version {} is newer than this kplug reads ({}): update kplug",
                                      line_, v.get<std::int64_t>(), record_format_version));
      RecordHeader h;
      h.version = static_cast<int>(v.get<std::int64_t>());
      if (j.contains("kernel") && j["kernel"].is_string()) h.kernel = j["kernel"].get<std::string>();
      if (j.contains("hostname") && j["hostname"].is_string()) h.hostname = j["hostname"].get<std::string>();
      if (j.contains("started") && j["started"].is_number()) h.started = j["started"].get<double>();
      if (j.contains("modules") && j["modules"].is_array())
        for (const auto& m : j["modules"])
          if (m.is_string() && is_safe_module_name(m.get<std::string>()) && h.modules.size() < 100000)
            h.modules.push_back(m.get<std::string>());
      header_ = std::move(h);
      continue;
    }
    auto ev = from_json(j);
    if (!ev) return unexpected(fmt::format("line {}: {}", line_, ev.error()));
    RecordedEvent out{std::move(*ev), last_timestamp_};
    if (j.contains("timestamp")) {
      const auto& t = j["timestamp"];
      // Bounded so that the replay's clock (nanoseconds in 64 bits, up to 292 years) never
      // overflows: a monotonic time beyond 4e9 s (126 years) is no real recording.
      if (!t.is_number() || !(t.get<double>() >= 0) || t.get<double>() > 4e9)
        return unexpected(fmt::format("line {}: \"timestamp\" is not a number of seconds", line_));
      out.timestamp = t.get<double>();
    }
    if (out.timestamp < last_timestamp_) out.timestamp = last_timestamp_;  // time never runs backwards
    last_timestamp_ = out.timestamp;
    if (j.contains("source") && j["source"].is_string()) {
      std::string source = j["source"].get<std::string>();
      if (source == "coldplug") out.event.source = EventSource::coldplug;
      else if (source == "rescan") out.event.source = EventSource::rescan;
      else if (source != "kernel")
        return unexpected(
            fmt::format("line {}: unknown \"source\" '{}' (kernel, coldplug or rescan)", line_, printable(source, 64)));
    }
    return std::optional<RecordedEvent>(std::move(out));
  }
}

}  // namespace kplug
