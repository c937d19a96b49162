// The rule language's reader. The language itself is documented in rules/README.md.
#include "rules/rule_loader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/names.hpp"
#include "base/file.hpp"
#include "base/text.hpp"
#include "rules/glob.hpp"
#include "rules/template.hpp"
#include "rules/yaml_reader.hpp"
#include "uevent/parse.hpp"

namespace kplug {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> rule_keys = {"name",     "match",   "load",      "load_blacklisted", "autoload",
                                            "ignore",   "blacklist", "options", "unload_on_remove", "unload_grace",
                                            "priority", "run",     "log",       "stop"};
const std::vector<std::string> match_keys = {"action", "subsystem", "devtype", "driver", "modalias",
                                             "devpath", "env", "attr", "not"};

// Rule files end in .yaml or .yml (both are YAML's own suffixes); hidden files are skipped.
bool is_yaml_name(const std::string& name) {
  if (name.empty() || name[0] == '.') return false;
  return (name.size() > 5 && name.ends_with(".yaml")) || (name.size() > 4 && name.ends_with(".yml"));
}

bool is_env_key(const std::string& key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), is_key_char);
}

// An attribute path below the device: names separated by '/', never "." or "..".
bool is_attr_name(const std::string& name) {
  if (name.empty() || name.front() == '/') return false;
  return is_safe_devpath("/" + name);
}

class RuleParser {
 public:
  RuleParser(YamlReader& r) : r_(r) {}

  std::optional<Condition> glob_condition(Condition::Kind kind, const std::string& key, const YAML::Node& value,
                                          const std::string& what) {
    auto globs = r_.strings(value, what);
    if (!globs) return std::nullopt;
    if (globs->empty()) {
      r_.error(value, fmt::format("{} needs at least one pattern", what));
      return std::nullopt;
    }
    for (const auto& g : *globs) {
      if (auto err = glob_error(g)) {
        r_.error(value, fmt::format("bad glob '{}' in {}: {}", g, what, *err));
        return std::nullopt;
      }
      if (kind == Condition::Kind::action && !is_known_action(g)) {
        r_.error(value, fmt::format("unknown action '{}' (add, remove, change, move, online, offline, bind, unbind)", g));
        return std::nullopt;
      }
    }
    return Condition{kind, key, *globs, nullptr, r_.line(value)};
  }

  void keyed_conditions(Condition::Kind kind, const YAML::Node& value, const std::string& what,
                        std::vector<Condition>& out) {
    for (const auto& [key, glob] : r_.map_entries(value, what, {})) {
      bool ok = kind == Condition::Kind::env ? is_env_key(key) : is_attr_name(key);
      if (!ok) {
        r_.error(value, fmt::format("'{}' is not a valid {} name", key, what));
        continue;
      }
      if (auto c = glob_condition(kind, key, glob, fmt::format("{} {}", what, key))) out.push_back(*c);
    }
  }

  Match match(const YAML::Node& node) {
    Match m;
    if (node.IsNull()) return m;
    using K = Condition::Kind;
    for (const auto& [key, value] : r_.map_entries(node, "match key", match_keys)) {
      if (key == "env") keyed_conditions(K::env, value, "env key", m.conditions);
      else if (key == "attr") keyed_conditions(K::attr, value, "attr", m.conditions);
      else if (key == "not") {
        auto inner = std::make_shared<Match>(match(value));
        m.conditions.push_back(Condition{K::not_, "", {}, inner, r_.line(value)});
      } else {
        K kind = key == "action"      ? K::action
                 : key == "subsystem" ? K::subsystem
                 : key == "devtype"   ? K::devtype
                 : key == "driver"    ? K::driver
                 : key == "modalias"  ? K::modalias
                                      : K::devpath;
        if (auto c = glob_condition(kind, key, value, key)) m.conditions.push_back(*c);
      }
    }
    return m;
  }

  std::vector<std::string> modules(const YAML::Node& value, const std::string& what) {
    std::vector<std::string> out;
    for (const auto& name : r_.strings(value, what).value_or(std::vector<std::string>{})) {
      if (is_module_name(name)) out.push_back(name);
      else r_.error(value, fmt::format("'{}' in {} is not a module name (letters, digits, '_' and '-')",
                                       printable(name, 64), what));
    }
    return out;
  }

  std::optional<Priority> priority(const YAML::Node& value) {
    auto name = r_.string(value, "priority");
    if (!name) return std::nullopt;
    auto p = priority_from_string(*name);
    if (!p) r_.error(value, fmt::format("priority must be one of {}, not '{}'", priority_names, *name));
    return p;
  }

  void action(Rule& rule, const std::string& key, const YAML::Node& value) {
    if (key == "load") rule.load = modules(value, "load");
    else if (key == "load_blacklisted") rule.load_blacklisted = r_.boolean(value, "load_blacklisted").value_or(false);
    else if (key == "blacklist") rule.blacklist = modules(value, "blacklist");
    else if (key == "autoload") rule.autoload = r_.boolean(value, "autoload");
    else if (key == "ignore") rule.ignore = r_.boolean(value, "ignore");
    else if (key == "unload_on_remove") rule.unload_on_remove = r_.boolean(value, "unload_on_remove");
    else if (key == "unload_grace") rule.unload_grace = r_.duration(value, "unload_grace");
    else if (key == "stop") rule.stop = r_.boolean(value, "stop").value_or(false);
    else if (key == "priority") rule.priority = priority(value);
    else if (key == "options") {
      for (const auto& [module, text] : r_.map_entries(value, "options module", {})) {
        if (!is_module_name(module))
          r_.error(value, fmt::format("'{}' in options is not a module name", printable(module, 64)));
        else if (auto s = r_.string(text, "options for " + module)) rule.options[module] = *s;
      }
    } else if (key == "log") {
      if (auto s = r_.string(value, "log")) {
        if (auto err = template_error(*s)) r_.error(value, "log: " + *err);
        else rule.log = *s;
      }
    } else if (key == "run") {
      if (!value.IsSequence()) {
        r_.error(value, "run must be a list: the program and its arguments (no shell is used)");
        return;
      }
      auto argv = r_.strings(value, "run");
      if (!argv) return;
      if (argv->empty() || argv->front().empty()) {
        r_.error(value, "run needs a program as its first element");
        return;
      }
      for (const auto& arg : *argv)
        if (auto err = template_error(arg)) {
          r_.error(value, "run: " + *err);
          return;
        }
      rule.run = *argv;
    }
  }

  void rule(const YAML::Node& node, const std::string& file, std::vector<Rule>& out) {
    Rule rule;
    rule.file = file;
    rule.line = r_.line(node);
    bool has_name = false;
    for (const auto& [key, value] : r_.map_entries(node, "rule key", rule_keys, match_keys, "match:")) {
      if (key == "name") {
        if (auto s = r_.string(value, "name")) {
          rule.name = *s;
          has_name = !s->empty();
        }
      } else if (key == "match") {
        rule.match = match(value);
      } else {
        action(rule, key, value);
      }
    }
    if (!node.IsMap()) return;
    if (!has_name) r_.error(node, "rule has no name");
    out.push_back(std::move(rule));
  }

 private:
  YamlReader& r_;
};

}  // namespace

void parse_rule_list(const std::string& text, const std::string& file, std::vector<Rule>& out, Diagnostics& diags);

void parse_rules(const std::string& text, const std::string& file, std::vector<Rule>& out, Diagnostics& diags) {
  std::size_t first = diags.size();
  parse_rule_list(text, file, out, diags);
  YamlReader(file, diags).sort_diagnostics(first);
}

void parse_rule_list(const std::string& text, const std::string& file, std::vector<Rule>& out, Diagnostics& diags) {
  YamlReader r(file, diags);
  auto root = r.parse(text);
  if (!root || root->IsNull()) return;  // an empty file holds no rules
  if (!root->IsSequence()) {
    r.error(*root, "a rule file holds a list of rules (each item starting with '- name: ...')");
    return;
  }
  RuleParser parser(r);
  for (const auto& node : *root) parser.rule(node, file, out);
}

std::vector<std::string> rule_files(const std::vector<std::string>& dirs, Diagnostics& diags,
                                    std::vector<std::string>* masked) {
  std::map<std::string, std::string> by_name;  // first dir wins
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) continue;
    fs::directory_iterator it(dir, ec);
    if (ec) {
      diags.push_back({dir, 0, 0, fmt::format("cannot read the rules directory: {}", ec.message())});
      continue;
    }
    for (const auto& entry : it) {
      std::string name = entry.path().filename();
      if (!is_yaml_name(name) || by_name.count(name)) continue;
      by_name[name] = entry.path();
    }
  }
  std::vector<std::string> files;
  for (const auto& [name, path] : by_name) {
    std::error_code ec;
    if (fs::is_symlink(path, ec) && fs::read_symlink(path, ec) == "/dev/null") {
      if (masked) masked->push_back(path);
      continue;
    }
    files.push_back(path);
  }
  return files;
}

Diagnostics rule_warnings(const RuleSet& rules) {
  Diagnostics out;
  for (const auto& rule : rules.rules) {
    if (rule.load_blacklisted)
      out.push_back({rule.file, rule.line, 1,
                     fmt::format("warning: rule '{}' loads {} even where modprobe.d blacklists {} "
                                 "(load_blacklisted: true)",
                                 rule.name, rule.load.empty() ? "nothing" : fmt::format("{}", fmt::join(rule.load, ", ")),
                                 rule.load.size() == 1 ? "it" : "them")});
    for (std::size_t i = 1; i < rule.run.size(); ++i) {
      const std::string& arg = rule.run[i];
      if (arg == "--") break;  // everything after it is an operand
      if (arg.size() < 2 || arg[0] != '{' || arg[1] == '{') continue;
      out.push_back({rule.file, rule.line, 1,
                     fmt::format("warning: rule '{}': run argument {} ('{}') begins with a placeholder; an event "
                                 "value beginning with '-' would be read as an option: put \"--\" before it",
                                 rule.name, i, arg)});
    }
  }
  return out;
}

std::vector<std::string> expand_rule_paths(const std::vector<std::string>& paths, Diagnostics& diags) {
  std::vector<std::string> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      auto in_dir = rule_files({p}, diags);
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (fs::exists(p, ec)) {
      files.push_back(p);
    } else {
      diags.push_back({p, 0, 0, "no such file or directory"});
    }
  }
  return files;
}

Result<RuleSet, Diagnostics> load_rules(const std::vector<std::string>& files) {
  Diagnostics diags;
  RuleSet set;
  for (const auto& file : files) {
    // Only a regular file of bounded size: a FIFO would stall the loop, a link to
    // /dev/zero would never end.
    // "-" is standard input (kplug rules check -), named <stdin> in what is reported.
    std::string name = file == "-" ? "<stdin>" : file;
    auto text = file == "-" ? read_input("-", max_config_file) : read_regular_file(file);
    if (!text) {
      diags.push_back({name, 0, 0, fmt::format("cannot read the rule file: {}", text.error().message)});
      continue;
    }
    parse_rules(*text, name, set.rules, diags);
    set.files.push_back(file);
  }
  std::map<std::string, const Rule*> names;
  for (const auto& rule : set.rules) {
    if (rule.name.empty()) continue;
    auto [it, fresh] = names.emplace(rule.name, &rule);
    if (!fresh)
      diags.push_back({rule.file, rule.line, 1,
                       fmt::format("duplicate rule name '{}' (first defined at {}:{})", rule.name, it->second->file,
                                   it->second->line)});
  }
  if (!diags.empty()) return unexpected(std::move(diags));
  return set;
}

}  // namespace kplug
