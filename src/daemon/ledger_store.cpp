// JSON form of the ledger: {"version":1,"modules":{"usb_hello":{"devices":[...],...}}}.
#include "daemon/ledger_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace kplug {

std::string ledger_to_json(const Ledger& ledger) {
  nlohmann::json modules = nlohmann::json::object();
  for (const auto& [name, e] : ledger.entries())
    modules[name] = {{"devices", e.devices},
                     {"cause", e.cause},
                     {"load_time_us", e.load_time.count()},
                     {"loaded_at", e.loaded_at},
                     {"unload_on_remove", e.unload_on_remove},
                     {"unload_grace_ms", e.unload_grace.count()},
                     {"pulled_in", e.pulled_in}};
  return nlohmann::json{{"version", 1}, {"modules", modules}}.dump(1) + "\n";
}

Result<Ledger, std::string> ledger_from_json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return unexpected(std::string("not a JSON object"));
  if (j.value("version", 0) != 1) return unexpected(std::string("unknown version"));
  Ledger ledger;
  try {
    for (const auto& [name, e] : j.at("modules").items()) {
      for (const auto& dev : e.at("devices"))
        ledger.record_load(name, dev.get<std::string>(), e.value("cause", ""),
                           std::chrono::microseconds(e.value("load_time_us", 0LL)), e.value("unload_on_remove", true),
                           std::chrono::milliseconds(e.value("unload_grace_ms", 5000LL)),
                           e.value("pulled_in", std::vector<std::string>{}));
      ledger.set_loaded_at(name, e.value("loaded_at", std::int64_t{0}));
    }
  } catch (const nlohmann::json::exception& ex) {
    return unexpected(std::string(ex.what()));
  }
  return ledger;
}

Result<bool, std::string> save_ledger(const std::string& path, const Ledger& ledger) {
  std::string tmp = path + ".tmp";
  std::string text = ledger_to_json(ledger);
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return unexpected(fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
  ssize_t n = write(fd, text.data(), text.size());
  int err = n == static_cast<ssize_t>(text.size()) ? 0 : (n < 0 ? errno : ENOSPC);
  if (err == 0 && fsync(fd) < 0) err = errno;
  close(fd);
  if (err != 0) {
    unlink(tmp.c_str());
    return unexpected(fmt::format("cannot write {}: {}", tmp, std::strerror(err)));
  }
  if (rename(tmp.c_str(), path.c_str()) < 0)
    return unexpected(fmt::format("cannot replace {}: {}", path, std::strerror(errno)));
  return true;
}

Result<Ledger, std::string> load_ledger(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return Ledger{};
    return unexpected(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  auto ledger = ledger_from_json(text.str());
  if (!ledger) return unexpected(fmt::format("{} is corrupt: {}", path, ledger.error()));
  return ledger;
}

}  // namespace kplug
