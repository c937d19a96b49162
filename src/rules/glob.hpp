// Shell-style globs (`*`, `?`, `[...]`) as the rule language uses them. Pure.
#pragma once

#include <optional>
#include <string>

namespace kplug {

// nullopt when PATTERN is a valid glob; otherwise what is wrong with it.
std::optional<std::string> glob_error(const std::string& pattern);

// True when TEXT matches PATTERN as a whole (fnmatch without FNM_PATHNAME).
bool glob_match(const std::string& pattern, const std::string& text);

}  // namespace kplug
