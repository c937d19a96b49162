// `kplug completion bash|zsh|fish`: the shell completion scripts, written from the verb
// table itself (CLI11's subcommands and their options), so every shell offers exactly
// the verbs and flags that --help lists. The package installs the three outputs.
//
// What each flag's value is (a directory, a file, a subsystem...) and what each verb's
// operands are (module names, .ko files, rule files) is the one table below; the three
// renderers turn it into each shell's own idiom.
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/completion_kinds.hpp"
#include "cli/verbs.hpp"

namespace kplug::cli {

namespace {

using namespace completion;

struct Flag {
  std::string name;   // --json
  std::string short_name;  // -F, or ""
  std::string help;
  std::string kind;   // "" for a switch, else a value kind
};

struct Command {
  std::string name;  // "monitor", "rules check"
  std::string summary;
  std::vector<Flag> flags;
  std::vector<std::string> subverbs;
  std::string operands;  // an operand kind, or ""
};

std::vector<Flag> flags_of(const CLI::App& app) {
  std::vector<Flag> out;
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_lnames().empty()) continue;  // a positional
    Flag f{"--" + opt->get_lnames().front(), opt->get_snames().empty() ? "" : "-" + opt->get_snames().front(),
           opt->get_description(), ""};
    if (opt->get_type_size() != 0) {
      auto kind = value_kinds.find(f.name);
      f.kind = kind == value_kinds.end() ? "value" : kind->second;
    }
    out.push_back(f);
  }
  return out;
}

void collect(const CLI::App& app, const std::string& prefix, std::vector<Command>& out) {
  for (const CLI::App* sub : app.get_subcommands({})) {
    Command c{prefix.empty() ? sub->get_name() : prefix + " " + sub->get_name(), sub->get_description(),
              flags_of(*sub), {}, ""};
    for (const CLI::App* nested : sub->get_subcommands({})) c.subverbs.push_back(nested->get_name());
    if (auto kind = operand_kinds.find(c.name); kind != operand_kinds.end()) c.operands = kind->second;
    out.push_back(c);
    collect(*sub, c.name, out);
  }
}

// "rules check" → "rules-check": one word that names a command in the shell tables.
std::string key(const std::string& name) {
  std::string k = name;
  for (char& c : k)
    if (c == ' ') c = '-';
  return k;
}

std::string names(const std::vector<Flag>& flags) {
  std::vector<std::string> out;
  for (const Flag& f : flags) {
    if (!f.short_name.empty()) out.push_back(f.short_name);
    out.push_back(f.name);
  }
  return fmt::format("{}", fmt::join(out, " "));
}

std::vector<std::string> flags_of_kind(const std::vector<Command>& commands, const std::vector<Flag>& global,
                                       const std::string& kind) {
  std::vector<std::string> out;
  auto add = [&](const Flag& f) {
    if (f.kind != kind) return;
    for (const std::string& n : {f.short_name, f.name})
      if (!n.empty() && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  };
  for (const Flag& f : global) add(f);
  for (const Command& c : commands)
    for (const Flag& f : c.flags) add(f);
  return out;
}

// The verbs themselves, not the nested ones ("rules check").
std::vector<const Command*> top_level(const std::vector<Command>& commands) {
  std::vector<const Command*> out;
  for (const Command& c : commands)
    if (c.name.find(' ') == std::string::npos) out.push_back(&c);
  return out;
}

std::vector<std::string> command_names(const std::vector<const Command*>& commands) {
  std::vector<std::string> out;
  for (const Command* c : commands) out.push_back(c->name);
  return out;
}

const char* const all_kinds[] = {"dir", "path", "subsystem", "action", "devpath", "field", "level", "format", "value"};

// ---- bash
// _kplug_values: the words for a kind of value (a path, a subsystem, a loaded module, ...).
void bash_values(std::ostream& out) {
  out << "_kplug_values() {\n  local kind=$1 cur=$2\n  case $kind in\n"
         "    dir) COMPREPLY=($(compgen -d -- \"$cur\")) ;;\n"
         "    path) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
         "    subsystem) COMPREPLY=(); _kplug_match \"$cur\" < <(ls /sys/bus /sys/class 2>/dev/null) ;;\n"
         "    devpath) COMPREPLY=(); _kplug_match \"$cur\" < <(cd /sys && find devices -maxdepth 6 -name uevent "
         "-printf '/%h\\n' 2>/dev/null) ;;\n"
         "    module) COMPREPLY=(); _kplug_match \"$cur\" < <([ -r /proc/modules ] && cut -d' ' -f1 /proc/modules) ;;\n"
         "    ko) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -X '!*.ko*' -- \"$cur\") $(compgen -d -- \"$cur\")) ;;\n"
         "    module-or-ko) compopt -o filenames 2>/dev/null; _kplug_values module \"$cur\"; "
         "COMPREPLY+=($(compgen -f -X '!*.ko*' -- \"$cur\")) ;;\n";
  for (const auto& [kind, words] : fixed_values)
    out << fmt::format("    {}) COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")) ;;\n", kind, words);
  out << "  esac\n}\n\n";
}

void bash(const std::vector<Command>& commands, const std::vector<Flag>& global, std::ostream& out) {
  const std::vector<std::string> top = command_names(top_level(commands));
  out << "# bash completion for kplug, written by `kplug completion bash` from its verb table.\n"
         "# Installed as /usr/share/bash-completion/completions/kplug.\n\n";
  out << fmt::format("_kplug_verbs=\"{}\"\n\n", fmt::join(top, " "));
  out << "_kplug_flags() {\n  case $1 in\n";
  for (const Command& c : commands)
    out << fmt::format("    {}) echo \"{}\" ;;\n", key(c.name), names(c.flags));
  out << "  esac\n}\n\n";
  // Names read from the machine (sysfs, /proc/modules) are matched as plain strings, never
  // given to `compgen -W`, which would expand a `$(...)` inside one.
  out << "# Adds to COMPREPLY each line of standard input that begins with $1, as it is.\n"
         "_kplug_match() {\n  local w\n"
         "  while IFS= read -r w; do [[ $w == \"$1\"* ]] && COMPREPLY+=(\"$w\"); done\n}\n\n";
  bash_values(out);
  out << "_kplug_value_kind() {\n  case $1 in\n";
  for (const char* kind : all_kinds) {
    auto flags = flags_of_kind(commands, global, kind);
    if (!flags.empty()) out << fmt::format("    {}) echo {} ;;\n", fmt::join(flags, " | "), kind);
  }
  out << "  esac\n}\n\n";
  out << "_kplug_operands() {\n  case $1 in\n";
  for (const Command& c : commands) {
    if (!c.subverbs.empty())
      out << fmt::format("    {}) echo \"sub {}\" ;;\n", key(c.name), fmt::join(c.subverbs, " "));
    else if (!c.operands.empty())
      out << fmt::format("    {}) echo {} ;;\n", key(c.name), c.operands);
  }
  out << "  esac\n}\n\n";
  out << R"SH(_kplug() {
  local cur prev verb i kind
  COMPREPLY=()
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  verb=
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      -*) [ -n "$(_kplug_value_kind "${COMP_WORDS[i]}")" ] && ((i++)) ;;
      *) if [ -z "$verb" ]; then verb=${COMP_WORDS[i]}
         elif [ "$(_kplug_operands "$verb" | cut -d' ' -f1)" = sub ]; then verb=$verb-${COMP_WORDS[i]}
         else break; fi ;;
    esac
  done
  kind=$(_kplug_value_kind "$prev")
  if [ -n "$kind" ]; then
    [ "$kind" != value ] && _kplug_values "$kind" "$cur"
    return
  fi
  if [ -z "$verb" ]; then
    COMPREPLY=($(compgen -W "$_kplug_verbs $(_kplug_flags '') --help --version" -- "$cur"))
    return
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_kplug_flags "$verb")" -- "$cur"))
    return
  fi
  kind=$(_kplug_operands "$verb")
  case $kind in
    "") ;;
    sub\ *) COMPREPLY=($(compgen -W "${kind#sub }" -- "$cur")) ;;
    *) _kplug_values "$kind" "$cur" ;;
  esac
}
complete -F _kplug kplug
)SH";
}

// ---- zsh
std::string zsh_quote(const std::string& s) {
  std::string r = "'";
  for (char ch : s) r += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return r + "'";
}

// _kplug_values: the words for a kind of value, as zsh offers them.
void zsh_values(std::ostream& out) {
  out << "\n_kplug_values() {\n  case $1 in\n"
         "    dir) _directories ;;\n"
         "    path) _files ;;\n"
         "    subsystem) compadd -- ${(f)\"$(ls /sys/bus /sys/class 2>/dev/null)\"} ;;\n"
         "    devpath) compadd -- ${(f)\"$(cd /sys && find devices -maxdepth 6 -name uevent -printf '/%h\\n' "
         "2>/dev/null)\"} ;;\n"
         "    module) [[ -r /proc/modules ]] && compadd -- ${${(f)\"$(</proc/modules)\"}%% *} ;;\n"
         "    ko) _files -g '*.ko(|.gz|.xz|.zst)' ;;\n"
         "    module-or-ko) _kplug_values module; _kplug_values ko ;;\n";
  for (const auto& [kind, words] : fixed_values) out << fmt::format("    {}) compadd -- {} ;;\n", kind, words);
  out << "  esac\n}\n";
}

void zsh(const std::vector<Command>& commands, const std::vector<Flag>& global, std::ostream& out) {
  out << "#compdef kplug\n"
         "# zsh completion for kplug, written by `kplug completion zsh` from its verb table.\n"
         "# Installed as /usr/share/zsh/vendor-completions/_kplug.\n\n";
  out << "typeset -gA _kplug_flags _kplug_kind _kplug_operands\n_kplug_verbs=(\n";
  for (const Command* c : top_level(commands)) out << fmt::format("  {}\n", zsh_quote(c->name + ":" + c->summary));
  out << ")\n";
  out << fmt::format("_kplug_flags[-]='{}'\n", names(global));
  for (const Command& c : commands) out << fmt::format("_kplug_flags[{}]='{}'\n", key(c.name), names(c.flags));
  for (const char* kind : all_kinds)
    for (const std::string& f : flags_of_kind(commands, global, kind)) out << fmt::format("_kplug_kind[{}]={}\n", f, kind);
  for (const Command& c : commands) {
    if (!c.subverbs.empty())
      out << fmt::format("_kplug_operands[{}]='sub {}'\n", key(c.name), fmt::join(c.subverbs, " "));
    else if (!c.operands.empty())
      out << fmt::format("_kplug_operands[{}]={}\n", key(c.name), c.operands);
  }
  zsh_values(out);
  out << R"SH(
_kplug() {
  local cur=${words[CURRENT]} prev=${words[CURRENT-1]} verb= kind i
  for ((i = 2; i < CURRENT; i++)); do
    case ${words[i]} in
      -*) [[ -n ${_kplug_kind[${words[i]}]} ]] && ((i++)) ;;
      *) if [[ -z $verb ]]; then verb=${words[i]}
         elif [[ ${_kplug_operands[$verb]} == sub\ * ]]; then verb=$verb-${words[i]}
         else break; fi ;;
    esac
  done
  kind=${_kplug_kind[$prev]}
  if [[ -n $kind ]]; then
    [[ $kind != value ]] && _kplug_values $kind
    return
  fi
  if [[ -z $verb ]]; then
    if [[ $cur == -* ]]; then
      compadd -- ${=_kplug_flags[-]} --help --version
    else
      _describe -t verbs 'kplug verb' _kplug_verbs
    fi
    return
  fi
  if [[ $cur == -* ]]; then
    compadd -- ${=_kplug_flags[$verb]}
    return
  fi
  kind=${_kplug_operands[$verb]}
  case $kind in
    '') ;;
    sub\ *) compadd -- ${=kind#sub } ;;
    *) _kplug_values $kind ;;
  esac
}

# Run when zsh autoloads the file as a completion function; define only when sourced.
if [[ ${funcstack[1]} == _kplug ]]; then
  _kplug "$@"
else
  (( $+functions[compdef] )) && compdef _kplug kplug
fi
)SH";
}

// ---- fish
std::string fish_quote(const std::string& s) {
  std::string r = "'";
  for (char ch : s) {
    if (ch == '\'' || ch == '\\') r += '\\';
    r += ch;
  }
  return r + "'";
}

void fish(const std::vector<Command>& commands, const std::vector<Flag>& global, std::ostream& out) {
  const std::vector<std::string> top = command_names(top_level(commands));
  out << "# fish completion for kplug, written by `kplug completion fish` from its verb table.\n"
         "# Installed as /usr/share/fish/vendor_completions.d/kplug.fish.\n\n";
  out << "complete -c kplug -f\n";
  out << "function __kplug_modules\n  test -r /proc/modules; and string replace -r ' .*' '' < /proc/modules\nend\n";
  out << "function __kplug_devpaths\n  find /sys/devices -maxdepth 7 -name uevent -printf '%h\\n' 2>/dev/null | "
         "string replace -r '^/sys' ''\nend\n";
  auto args = [](const std::string& kind) -> std::string {
    if (kind == "dir") return " -x -a '(__fish_complete_directories)'";
    if (kind == "path") return " -r -F";
    if (kind == "subsystem") return " -x -a '(ls /sys/bus /sys/class 2>/dev/null)'";
    if (kind == "devpath") return " -x -a '(__kplug_devpaths)'";
    if (kind == "module") return " -a '(__kplug_modules)'";
    if (kind == "ko") return " -F";
    if (kind == "module-or-ko") return " -F -a '(__kplug_modules)'";
    if (kind == "value") return " -x";
    if (auto words = fixed_values.find(kind); words != fixed_values.end()) return " -x -a " + fish_quote(words->second);
    return "";
  };
  auto flag_line = [&](const std::string& condition, const Flag& f) {
    std::string line = fmt::format("complete -c kplug -n {} -l {}", fish_quote(condition), f.name.substr(2));
    if (!f.short_name.empty()) line += " -s " + f.short_name.substr(1);
    return line + args(f.kind) + " -d " + fish_quote(f.help) + "\n";
  };
  std::string no_verb = fmt::format("not __fish_seen_subcommand_from {}", fmt::join(top, " "));
  for (const Command& c : commands)
    if (c.name.find(' ') == std::string::npos)
      out << fmt::format("complete -c kplug -n {} -a {} -d {}\n", fish_quote(no_verb), c.name, fish_quote(c.summary));
  for (const Flag& f : global) out << flag_line(no_verb, f);
  for (const Command& c : commands) {
    auto space = c.name.find(' ');
    std::string condition;
    if (space == std::string::npos) {
      condition = "__fish_seen_subcommand_from " + c.name;
      // A verb with nested verbs: its own flags only until one of them is given.
      if (!c.subverbs.empty())
        condition += fmt::format("; and not __fish_seen_subcommand_from {}", fmt::join(c.subverbs, " "));
    } else {
      condition = fmt::format("__fish_seen_subcommand_from {}; and __fish_seen_subcommand_from {}",
                              c.name.substr(0, space), c.name.substr(space + 1));
    }
    for (const Flag& f : c.flags) out << flag_line(condition, f);
    if (!c.subverbs.empty())
      out << fmt::format("complete -c kplug -n {} -a {}\n", fish_quote(condition), fish_quote(fmt::format("{}", fmt::join(c.subverbs, " "))));
    else if (!c.operands.empty() && c.operands != "value")
      out << fmt::format("complete -c kplug -n {}{}\n", fish_quote(condition), args(c.operands));
  }
}

int run_completion(const CLI::App& root, const std::string& shell) {
  prune_fixed_values(root);
  std::vector<Command> commands;
  collect(root, "", commands);
  std::vector<Flag> global = flags_of(root);
  if (shell == "bash")
    bash(commands, global, std::cout);
  else if (shell == "zsh")
    zsh(commands, global, std::cout);
  else
    fish(commands, global, std::cout);
  return exit_ok;
}

}  // namespace

VerbRun setup_completion(CLI::App& command) {
  auto shell = std::make_shared<std::string>();
  command.add_option("shell", *shell, "bash, zsh or fish")->required()->check(CLI::IsMember({"bash", "zsh", "fish"}));
  command.footer(
      "Installed by the package; to try one without installing:\n"
      "  bash: source <(kplug completion bash)    zsh: source <(kplug completion zsh)\n"
      "  fish: kplug completion fish | source");
  const CLI::App* root = command.get_parent();
  return [root, shell] { return run_completion(*root, *shell); };
}

}  // namespace kplug::cli
