// The control protocol's decoders (control/protocol.cpp): what
// any local user may send, and what the CLI accepts back, never throws.
#include <catch2/catch.hpp>

#include <string>

#include "control/protocol.hpp"

using namespace kplug::control;
using nlohmann::json;

namespace {
std::string error_of(std::string_view line) {
  auto r = parse_request_line(line);
  return r ? "" : r.error();
}
}  // namespace

TEST_CASE("requests decode into typed values", "[protocol]") {
  CHECK(parse_request_line(R"({"request":"status"})")->kind == RequestKind::status);
  CHECK(parse_request_line(R"({"request":"events"})")->kind == RequestKind::events);
  auto settle = parse_request_line(R"({"request":"settle","timeout":2.5})");
  REQUIRE(settle.has_value());
  CHECK(settle->kind == RequestKind::settle);
  CHECK(settle->timeout_s == 2.5);
  CHECK(parse_request_line(R"({"request":"settle"})")->timeout_s == default_settle_timeout_s);
  // Round trip through the client's encoder.
  for (auto kind : {RequestKind::status, RequestKind::loaded, RequestKind::reload, RequestKind::settle,
                    RequestKind::events}) {
    auto back = parse_request(to_json(Request{kind, 7}));
    REQUIRE(back.has_value());
    CHECK(back->kind == kind);
  }
}

TEST_CASE("the lines that crashed kplugd are answered with an error", "[protocol]") {
  CHECK(error_of(R"({"request":1})").find("'request' must be a string") != std::string::npos);
  CHECK(error_of(R"({"request":["status"]})").find("'request' must be a string") != std::string::npos);
  CHECK(error_of(R"({"request":"settle","timeout":"soon"})").find("'timeout' must be a number") != std::string::npos);
  CHECK(error_of(R"({"request":"settle","timeout":1e308})").find("from 0 to 86400") != std::string::npos);
  CHECK(error_of(R"({"request":"settle","timeout":-1})").find("from 0 to 86400") != std::string::npos);
  CHECK(error_of(R"({"request":"status","timeout":1})") == "unknown field 'timeout' in a 'status' request");
  CHECK(error_of(R"({"request":"reboot"})").find("unknown request 'reboot'") != std::string::npos);
  CHECK(error_of(R"({})").find("'request' must be a string") != std::string::npos);
  CHECK(error_of("[1,2]") == "a request is one JSON object per line");
  CHECK(error_of("not json") == "a request is one JSON object per line");
  CHECK(error_of("") == "a request is one JSON object per line");
  CHECK(error_of(std::string("{\"request\":\"\xff\"}")) != "");  // invalid UTF-8: refused, no throw
  // Names in errors are escaped: an error line cannot carry terminal escapes back.
  CHECK(error_of("{\"request\":\"\\u001b[2J\"}").find("\\x1b[2J") != std::string::npos);
}

TEST_CASE("only reload needs root on the control socket", "[protocol]") {
  CHECK(needs_root(RequestKind::reload));
  for (auto kind : {RequestKind::status, RequestKind::loaded, RequestKind::settle, RequestKind::events})
    CHECK_FALSE(needs_root(kind));
}

TEST_CASE("replies go out as one line even with bytes that are not UTF-8", "[protocol]") {
  json j = {{"devpath", std::string("/devices/\xff")}};
  std::string line;
  REQUIRE_NOTHROW(line = to_line(j));
  CHECK(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);
}

TEST_CASE("the CLI's decoders turn any reply into a value or an error", "[protocol]") {
  CHECK(status_from_json(json{{"ok", false}}).error() == "kplugd answered that it failed, without saying why");
  CHECK(status_from_json(json::array()).error() == "the reply is not a JSON object");
  CHECK(status_from_json(json{{"ok", true}, {"version", "1"}, {"counters", json::object()}, {"uptime_s", "long"}})
            .error() == "status: 'uptime_s' must be a number");
  CHECK(status_from_json(json{{"ok", true}}).error() == "the status reply has no \"version\" field");
  CHECK(reload_from_json(json{{"ok", true}}).error() == "the reload reply has no \"errors\" field");
  CHECK(loaded_from_json(json{{"ok", false}}).has_value() == false);  // the reply that aborted kplug loaded
  CHECK(loaded_from_json(json{{"ok", true}}).error() == "the reply has no \"loaded\" field");
  CHECK(loaded_from_json(json{{"ok", true}, {"loaded", {{"m", {{"devices", 42}}}}}}).error() ==
        "module 'm': 'devices' must be a list of strings");
  CHECK(settle_from_json(json{{"ok", false}, {"error", "timed out"}}).error() == "timed out");
  CHECK(reload_from_json(json{{"ok", false}, {"error", "'reload' needs root (you are uid 1000)"}}).error() ==
        "'reload' needs root (you are uid 1000)");
  CHECK(reload_from_json(json{{"ok", true}, {"errors", {1}}}).error() == "reload: 'errors' must be a list of strings");
  CHECK(describe_stream_message(json{{"type", "decision"}, {"seqnum", "x"}}).has_value() == false);
  CHECK(describe_stream_message(json{{"type", "loads"}, {"outcomes", 3}}).has_value() == false);
  CHECK(describe_stream_message(json{{"type", "mystery"}}).has_value() == false);
  CHECK(*describe_stream_message(lagged(12)) ==
        "lagged   kplugd dropped 12 message(s) this client did not read in time, and disconnected");
  CHECK(describe_stream_message(json{{"type", "unload"}, {"module", "m\x1b"}})->find("m\\x1b") != std::string::npos);
}

TEST_CASE("status, loaded, reload and settle replies survive a round trip", "[protocol]") {
  StatusReply s;
  s.version = "1";
  s.ready = true;
  s.counters = {{"events_received", 3}};
  s.rejected_by_reason = {{"not_kernel_port", 2}};
  s.gauges = {{"sessions", 4}, {"in_flight", 1}};
  s.slow_loads = {{"m", "/devices/x", 10.5}};
  auto back = status_from_json(to_json(s));
  REQUIRE(back.has_value());
  CHECK(back->counter("events_received") == 3);
  CHECK(back->rejected_by_reason.at("not_kernel_port") == 2);
  CHECK(back->gauge("sessions") == 4);
  CHECK(back->slow_loads.at(0).devpath == "/devices/x");

  LedgerModules modules;
  modules["usb_hello"] = {{"/devices/a"}, "usb:v1", 12.5, 1700000000, true, 3000, {"usbcore"}};
  auto loaded = loaded_from_json(to_json(LoadedReply{modules}));
  REQUIRE(loaded.has_value());
  CHECK(loaded->modules == modules);
  // The state file is the same encoding.
  auto state = state_from_text(state_file_text(modules));
  REQUIRE(state.has_value());
  CHECK(*state == modules);
  // A state file of an earlier version kept microseconds.
  auto old = state_from_text(R"({"version":1,"modules":{"m":{"devices":["/d"],"load_time_us":1500}}})");
  REQUIRE(old.has_value());
  CHECK(old->at("m").load_time_ms == 1.5);

  auto reload = reload_from_json(to_json(ReloadReply{false, {"a.yaml:1:1: bad"}, 0}));
  REQUIRE(reload.has_value());
  CHECK_FALSE(reload->ok);
  CHECK(settle_from_json(to_json(SettleReply{true, 42, ""}))->seqnum == 42);
  // "not settled in time" is an answer (kplug settle exits 1), not a failed request (3).
  auto late = settle_from_json(to_json(SettleReply{false, 0, "timed out before kplugd settled (2 in flight)"}));
  REQUIRE(late.has_value());
  CHECK_FALSE(late->settled);
  CHECK(late->error == "timed out before kplugd settled (2 in flight)");
}
