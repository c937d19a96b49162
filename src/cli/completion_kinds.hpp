// What the values of kplug's flags and operands are, for the completion scripts: a
// directory, a path, a subsystem, or one of a fixed set of words, which are pruned to
// what the options' own validators accept, so a script never offers a word the parser
// refuses. Used by cli/verb_completion.cpp only.
#pragma once

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kplug::cli::completion {

// Values a flag takes, by the flag's long name; a flag not listed that takes a value
// gets "value" (anything, no suggestions).
inline const std::map<std::string, std::string> value_kinds = {
    {"--modules-dir", "dir"},       {"--state-dir", "dir"},     {"--rules", "path"},
    {"--socket", "path"},           {"--state-file", "path"},   {"--event", "path"},
    {"--config", "path"},           {"--modprobe-config", "path"}, {"--subsystem", "subsystem"},
    {"--action", "action"},         {"--devpath", "devpath"},   {"--field", "field"},
    {"--log-level", "level"},       {"--format", "format"},     {"--metrics-file", "path"},
    {"--record", "path"},           {"--against", "path"},
};

// What a verb's operands are, for the verbs that take any.
inline const std::map<std::string, std::string> operand_kinds = {
    {"rules check", "path"}, {"insmod", "ko"}, {"rmmod", "module"},
    {"modinfo", "module-or-ko"}, {"match", "value"}, {"completion", "shell"},
    {"info", "devpath"}, {"doctor", "devpath"}, {"replay", "path"},
};

// The values the fixed kinds may offer, as shell words (the same in every shell); what
// the scripts offer is only those the options' own validators accept (prune_fixed_values).
inline std::map<std::string, std::string> fixed_values = {
    {"action", "add change remove"},
    {"level", "trace debug info warn error off"},
    {"field", "filename alias author description license version parm depends softdep firmware vermagic"},
    {"shell", "bash zsh fish"},
    {"format", "text json prometheus"},
};

// True when every validator of OPT (CLI::IsMember and the like) accepts WORD.
inline bool accepts(const CLI::Option* opt, std::string word) {
  auto* validated = const_cast<CLI::Option*>(opt);  // get_validator is not const; nothing is changed
  for (int i = 0;; ++i) {
    try {
      if (!(*validated->get_validator(i))(word).empty()) return false;
    } catch (const CLI::OptionNotFound&) {
      return true;
    }
  }
}

// Drops from fixed_values every word an option of that kind refuses: `trigger --action`
// is offered add and change, the two it takes.
inline void prune_fixed_values(const CLI::App& app) {
  for (const CLI::Option* opt : app.get_options()) {
    auto kind = opt->get_lnames().empty() ? value_kinds.end() : value_kinds.find("--" + opt->get_lnames().front());
    auto words = kind == value_kinds.end() ? fixed_values.end() : fixed_values.find(kind->second);
    if (words == fixed_values.end()) continue;
    std::istringstream in(words->second);
    std::vector<std::string> kept;
    for (std::string word; in >> word;)
      if (accepts(opt, word)) kept.push_back(word);
    words->second = fmt::format("{}", fmt::join(kept, " "));
  }
  for (const CLI::App* sub : app.get_subcommands({})) prune_fixed_values(*sub);
}

}  // namespace kplug::cli::completion
