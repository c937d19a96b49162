// `{KEY}` placeholders in `run` arguments and `log` texts, filled from the event. Pure.
// `{{` and `}}` stand for literal braces. A key the event lacks becomes "".
#pragma once

#include <optional>
#include <string>

#include "uevent/uevent.hpp"

namespace kplug {

// nullopt when TEXT is a well-formed template; otherwise what is wrong with it.
std::optional<std::string> template_error(const std::string& text);

// TEXT with every {KEY} replaced by the event's value, verbatim (no quoting, no
// expansion: the result is one argv element or one log text, never shell input).
std::string expand_template(const std::string& text, const Uevent& event);

}  // namespace kplug
