// Reading rule files into a RuleSet: the rules dirs merged (an earlier dir overrides the
// same file name in a later one, a symlink to /dev/null masks it), then every file parsed
// with all of its problems reported as FILE:LINE:COLUMN diagnostics.
#pragma once

#include <string>
#include <vector>

#include "rules/diagnostic.hpp"
#include "rules/rule.hpp"
#include "base/result.hpp"

namespace kplug {

// The *.yaml files of DIRS after override and masking, in lexical order of file name.
// Missing dirs are skipped. MASKED receives the names masked by /dev/null links.
std::vector<std::string> rule_files(const std::vector<std::string>& dirs, Diagnostics& diags,
                                    std::vector<std::string>* masked = nullptr);

// Parses the rules in TEXT (the contents of FILE), appending to OUT.
void parse_rules(const std::string& text, const std::string& file, std::vector<Rule>& out, Diagnostics& diags);

// Loads FILES in order into one RuleSet; rule names must be unique across all of them.
// A file "-" is standard input, reported as <stdin>.
Result<RuleSet, Diagnostics> load_rules(const std::vector<std::string>& files);

// Not errors, but likely mistakes: a `run` argument that begins with a placeholder and
// is not preceded by "--" (an event value beginning with '-' would reach the program as
// an option).
Diagnostics rule_warnings(const RuleSet& rules);

// PATHS may name files or directories (a directory contributes its *.yaml files).
std::vector<std::string> expand_rule_paths(const std::vector<std::string>& paths, Diagnostics& diags);

}  // namespace kplug
