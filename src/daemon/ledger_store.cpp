// The ledger's file: {"version":1,"modules":{"usb_hello":{"devices":[...],...}}}.
#include "daemon/ledger_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "base/file.hpp"
#include "base/text.hpp"

namespace kplug {

control::LedgerModules to_wire(const Ledger& ledger) {
  control::LedgerModules out;
  for (const auto& [name, e] : ledger.entries())
    out[name] = {{e.devices.begin(), e.devices.end()},
                 e.cause,
                 static_cast<double>(e.load_time.count()) / 1000.0,
                 e.loaded_at,
                 e.unload_on_remove,
                 e.unload_grace.count(),
                 e.pulled_in};
  return out;
}

Ledger from_wire(const control::LedgerModules& modules) {
  Ledger ledger;
  for (const auto& [name, m] : modules) {
    // A bounded, finite duration: the file may have been edited by hand.
    double ms = std::isfinite(m.load_time_ms) ? std::clamp(m.load_time_ms, 0.0, 1e9) : 0.0;
    auto load_time = std::chrono::microseconds(static_cast<std::int64_t>(ms * 1000.0));
    auto grace = std::chrono::milliseconds(std::clamp<std::int64_t>(m.unload_grace_ms, 0, 86400000));
    ledger.restore_entry(name, {{m.devices.begin(), m.devices.end()}, m.cause, load_time, m.loaded_at,
                                m.unload_on_remove, grace, m.pulled_in});
  }
  return ledger;
}

std::string ledger_to_json(const Ledger& ledger) { return control::state_file_text(to_wire(ledger)); }

Result<Ledger, std::string> ledger_from_json(const std::string& text) {
  auto modules = control::state_from_text(text);
  if (!modules) return unexpected(modules.error());
  return from_wire(*modules);
}

Result<bool, std::string> save_ledger(const std::string& path, const Ledger& ledger) {
  // The state directory was checked at start (check_state_dir); synced, as the state must
  // survive a crash.
  auto written = write_file_replacing(path, ledger_to_json(ledger), {.shared_dir = true, .sync = true});
  if (!written) return unexpected(written.error().message);
  return true;
}

Result<Ledger, std::string> load_ledger(const std::string& path) {
  auto text = read_regular_file(path, 16u << 20);
  if (!text) {
    if (text.error().error == ENOENT) return Ledger{};
    return unexpected(fmt::format("cannot read {}: {}", path, text.error().message));
  }
  auto ledger = ledger_from_json(*text);
  if (!ledger) return unexpected(fmt::format("{} is corrupt: {}", path, ledger.error()));
  return ledger;
}

Result<bool, std::string> check_state_dir(const std::string& dir) {
  struct stat st {};
  if (lstat(dir.c_str(), &st) < 0) {
    if (errno != ENOENT) return unexpected(fmt::format("cannot use the state directory {}: {}", dir, std::strerror(errno)));
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(dir).parent_path(), ec);
    if (mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST)
      return unexpected(fmt::format("cannot create the state directory {}: {}", dir, std::strerror(errno)));
    if (lstat(dir.c_str(), &st) < 0)
      return unexpected(fmt::format("cannot use the state directory {}: {}", dir, std::strerror(errno)));
  }
  if (S_ISLNK(st.st_mode))
    return unexpected(fmt::format("the state directory {} is a symbolic link; kplugd keeps its state only in a real "
                                  "directory (remove the link, or set state_dir)", dir));
  if (!S_ISDIR(st.st_mode)) return unexpected(fmt::format("the state directory {} is not a directory", dir));
  if (st.st_uid != geteuid())
    return unexpected(fmt::format("the state directory {} is owned by uid {}, not by root; another user could "
                                  "replace kplugd's files there (chown root: {})", dir, st.st_uid, dir));
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return unexpected(fmt::format("the state directory {} is writable by group or others (mode {:04o}); "
                                  "chmod 755 {}", dir, st.st_mode & 07777, dir));
  return true;
}

}  // namespace kplug
