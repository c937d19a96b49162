// Logging set-up shared by kplugd and kplug: spdlog to stderr (stdout carries results),
// or to the journal with structured fields when kplugd runs under systemd.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

namespace kplug {

// LEVEL is trace, debug, info, warn, error or off; TARGET is stderr, journal or auto
// (the journal when stderr is connected to it, as systemd's JOURNAL_STREAM says).
// Returns false for an unknown level or target.
bool setup_logging(const std::string& program, const std::string& level, const std::string& target = "stderr");

// How a line's level reads on stderr: the words --log-level takes (warn, not warning;
// error for spdlog's critical too).
std::string_view level_word(spdlog::level::level_enum level);

// The target `auto` resolves to, from JOURNAL_STREAM ("DEV:INODE") and stderr's identity.
std::string resolve_log_target(const std::string& target, const char* journal_stream, int stderr_fd = 2);

// Journal fields of one log line, e.g. {"KPLUG_ACTION","load"}, {"MODULE","usbhid"}. A
// key may repeat (an event that loads two modules has two MODULE fields).
using LogFields = std::vector<std::pair<std::string, std::string>>;

// The MESSAGE_ID for a KPLUG_ACTION value ("" for none), so that `journalctl
// MESSAGE_ID=...` finds every entry of one kind across versions.
const char* message_id(const std::string& kplug_action);

// Logs MESSAGE at LEVEL; in the journal FIELDS go with it (plus MESSAGE_ID for its
// KPLUG_ACTION). On stderr only the message is written: it says everything already.
void log_fields(spdlog::level::level_enum level, const LogFields& fields, const std::string& message);

}  // namespace kplug
