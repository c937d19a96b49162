// The ledger on disk (state_dir/state.json), so a restarted kplugd still knows which
// modules it loaded and for which devices. Written atomically: a crash leaves the old
// file or the new one, never half of one.
#pragma once

#include <string>

#include "daemon/ledger.hpp"
#include "uevent/result.hpp"

namespace kplug {

std::string ledger_to_json(const Ledger& ledger);
Result<Ledger, std::string> ledger_from_json(const std::string& text);

// Writes PATH.tmp, fsyncs it and renames it over PATH. Errors say what failed.
Result<bool, std::string> save_ledger(const std::string& path, const Ledger& ledger);
// A missing file is an empty ledger; a corrupt one is an error (the caller starts clean).
Result<Ledger, std::string> load_ledger(const std::string& path);

}  // namespace kplug
