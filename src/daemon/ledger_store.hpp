// The ledger on disk (state_dir/state.json), so a restarted kplugd still knows which
// modules it loaded and for which devices. The encoding is the control protocol's
// (control/protocol.hpp). Written atomically: a crash leaves the old file or the new one,
// never half of one; the temporary file is created exclusively, never through a link.
#pragma once

#include <string>

#include "control/protocol.hpp"
#include "daemon/ledger.hpp"
#include "base/result.hpp"

namespace kplug {

// The ledger as the protocol carries it, and back.
control::LedgerModules to_wire(const Ledger& ledger);
Ledger from_wire(const control::LedgerModules& modules);

std::string ledger_to_json(const Ledger& ledger);
Result<Ledger, std::string> ledger_from_json(const std::string& text);

// Writes PATH.tmp (O_EXCL|O_NOFOLLOW; a leftover one is removed first), fsyncs it and
// renames it over PATH. Errors say what failed.
Result<bool, std::string> save_ledger(const std::string& path, const Ledger& ledger);
// A missing file is an empty ledger; a corrupt one is an error (the caller starts clean).
Result<Ledger, std::string> load_ledger(const std::string& path);

// The directory kplugd keeps its state in: created 0755 when missing; refused when it is
// a symbolic link, not a directory, not owned by root (kplugd's own uid) or writable by
// group or others. The error names the problem and what to do.
Result<bool, std::string> check_state_dir(const std::string& dir);

}  // namespace kplug
