// Checks on names that come from events, rules and the command line before they reach a
// path or libkmod: device paths that cannot leave /sys, module names that cannot name a
// file, the KEY characters of uevent properties and rule placeholders.
#pragma once

#include <string>
#include <string_view>

namespace kplug {

// True for a devpath that is absolute, has no empty, "." or ".." components and no
// control characters: one that cannot leave /sys when appended to it.
bool is_safe_devpath(std::string_view devpath);

// True when DEVPATH is ANCESTOR or lies below it ("/devices/ab" is not below "/devices/a").
bool is_same_or_below(std::string_view devpath, std::string_view ancestor);
// True when A and B are the same device, or one lies below the other.
bool related_devices(std::string_view a, std::string_view b);

// A module name that can be handed to libkmod: no '/', no "..", not empty, short.
bool is_safe_module_name(std::string_view name);

// A module's own name as a rule writes it (load:, blacklist:, options:): letters, digits,
// '_' and '-', at most 55 of them (the kernel's MODULE_NAME_LEN less its NUL).
bool is_module_name(std::string_view name);

// A character of a uevent KEY or a rule placeholder: ASCII letter, digit or '_'.
bool is_key_char(char c);

}  // namespace kplug
