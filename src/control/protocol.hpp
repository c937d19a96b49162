// kplugd's control protocol, typed (docs/control-protocol.md): the requests a client may
// send, the replies kplugd sends back, and their JSON both ways. kplugd and kplug use the
// same code, so the two cannot drift. Every decoder takes bytes or JSON from someone
// else: it never throws, and answers a value or one line saying what is wrong.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/failed_load.hpp"
#include "base/result.hpp"

namespace kplug::control {

// ---- requests

enum class RequestKind { status, loaded, reload, settle, events };

struct Request {
  RequestKind kind = RequestKind::status;
  double timeout_s = 120;  // settle only
  bool critical = false;   // settle only: wait for the boot-critical part, not for everything
};

inline constexpr double default_settle_timeout_s = 120;
inline constexpr double max_settle_timeout_s = 86400;  // a day: longer is a mistake

const char* to_string(RequestKind kind);
// Requests that change kplugd's state; only root (peer uid 0) may send them.
bool needs_root(RequestKind kind);

// {"request":"settle","timeout":5,"critical":true} -> Request. Wrong types, unknown requests or fields,
// and numbers out of range are errors; nothing throws.
Result<Request, std::string> parse_request(const nlohmann::json& j);
// One line of text (without its newline) -> Request.
Result<Request, std::string> parse_request_line(std::string_view line);
nlohmann::json to_json(const Request& request);

// ---- replies

// Serialises MESSAGE as one line (with its newline); invalid UTF-8 is replaced, never thrown.
std::string to_line(const nlohmann::json& message);

// {"ok":false,"error":MESSAGE}
nlohmann::json error_reply(const std::string& message);
// The error of a reply with "ok": false (or of one that is not a reply at all); "" for "ok": true.
std::string reply_error(const nlohmann::json& reply);

// One module of the ledger: what kplugd loaded itself and for which devices. The same
// encoding serves the `loaded` reply and the state file kplugd keeps across restarts.
struct LedgerModule {
  std::vector<std::string> devices;
  std::string cause;  // the MODALIAS (or rule) that made kplugd load it
  double load_time_ms = 0;
  std::int64_t loaded_at = 0;  // Unix seconds
  bool unload_on_remove = true;
  std::int64_t unload_grace_ms = 5000;
  std::vector<std::string> pulled_in;  // dependencies its load inserted
  bool operator==(const LedgerModule&) const = default;
};
using LedgerModules = std::map<std::string, LedgerModule>;

nlohmann::json to_json(const LedgerModules& modules);
Result<LedgerModules, std::string> ledger_from_json(const nlohmann::json& j);

// kplugd's state file: {"version":1,"modules":LEDGER}, read by kplugd at start and by
// `kplug lsmod` when kplugd is not running.
std::string state_file_text(const LedgerModules& modules);
Result<LedgerModules, std::string> state_from_text(std::string_view text);

struct SlowLoad {
  std::string module, devpath;
  double running_s = 0;
};

// A module kplugd failed to load, from its bounded history (`kplug doctor`).
struct StatusReply {
  std::string version;
  double uptime_s = 0;
  bool ready = false, dry_run = false;
  std::map<std::string, std::uint64_t> counters;          // events_received, loads_ok, ...
  std::map<std::string, std::uint64_t> rejected_by_reason;  // inside "counters"
  std::map<std::string, std::uint64_t> forged_by_shape;     // inside "counters"
  std::map<std::string, std::uint64_t> gauges;  // cache_hits, in_flight, queue_depth, sessions, ...
  std::vector<SlowLoad> slow_loads;
  std::vector<FailedLoad> failed_loads;  // most recent first
  std::uint64_t counter(const std::string& name) const;
  std::uint64_t gauge(const std::string& name) const;
};
nlohmann::json to_json(const StatusReply& reply);
Result<StatusReply, std::string> status_from_json(const nlohmann::json& j);

struct LoadedReply {
  LedgerModules modules;
  bool dry_run = false;  // nothing was loaded: the ledger holds what would have been
};
nlohmann::json to_json(const LoadedReply& reply);
Result<LoadedReply, std::string> loaded_from_json(const nlohmann::json& j);

struct ReloadReply {
  bool ok = false;
  std::vector<std::string> errors;  // FILE:LINE:COLUMN: message
  std::uint64_t rules = 0;
};
nlohmann::json to_json(const ReloadReply& reply);
Result<ReloadReply, std::string> reload_from_json(const nlohmann::json& j);

struct SettleReply {
  bool settled = false;
  std::uint64_t seqnum = 0;
  std::string error;  // when not settled
};
nlohmann::json to_json(const SettleReply& reply);
// A reply that says "not settled in time" decodes to settled = false with its error; a
// failed request or a malformed reply is an error.
Result<SettleReply, std::string> settle_from_json(const nlohmann::json& j);

// ---- the events stream

// The first line of an events stream: {"ok":true,"stream":"events"}.
nlohmann::json events_started();
// A subscriber that fell behind gets this last line, then the connection is closed.
nlohmann::json lagged(std::uint64_t dropped);

// One message of the stream, told for people (kplug monitor --decisions); errors for a
// message that is not one kplugd sends.
Result<std::string, std::string> describe_stream_message(const nlohmann::json& m);

}  // namespace kplug::control
