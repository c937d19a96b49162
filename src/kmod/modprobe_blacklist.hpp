// Where modprobe.d blacklists a module. libkmod applies the blacklist but cannot say which
// file and line did it; `kplug doctor` tells the user, so it reads the same files the way
// libkmod does: *.conf in /etc/modprobe.d, /run/modprobe.d, /usr/local/lib/modprobe.d,
// /lib/modprobe.d and /usr/lib/modprobe.d, a name in an earlier directory hiding the same
// name in a later one, in the order of their names.
#pragma once

#include <string>
#include <vector>

namespace kplug {

// "FILE:LINE" of the first `blacklist MODULE` line ('-' and '_' alike), "" when none.
// CONFIGURED replaces the system's directories (files or directories), as --modprobe-config.
std::string find_blacklist(const std::string& module, const std::vector<std::string>& configured = {});

// The line number (from 1) of the first `blacklist MODULE` line in TEXT, 0 when none.
int blacklist_line(const std::string& text, const std::string& module);

}  // namespace kplug
