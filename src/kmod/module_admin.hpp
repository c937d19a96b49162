// The everyday module commands over libkmod — list, describe, insert, remove — behind
// `kplug lsmod`, `modinfo`, `insmod` and `rmmod`. Every failure is a message that says
// what went wrong and what to do about it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "kmod/kmod_context.hpp"
#include "base/result.hpp"

namespace kplug {

// "" when this kernel can load modules; otherwise why it cannot.
std::string module_support_problem(const std::string& proc_modules = "/proc/modules");

struct LiveModule {
  std::string name;
  long size = 0;
  int refcount = 0;                  // -1 when the kernel does not say
  std::vector<std::string> holders;  // modules that use this one
};

// The loaded modules, newest first (the order of /proc/modules, as lsmod prints them).
Result<std::vector<LiveModule>, std::string> list_live_modules(const KmodContext& ctx);

struct ModuleInfo {
  std::string name;
  std::string filename;                                     // the .ko, or "(builtin)"
  std::vector<std::pair<std::string, std::string>> fields;  // .modinfo, in file order
  std::vector<std::string> values(const std::string& key) const;
};

// True when ARG names a file (has a '/' or a .ko suffix) rather than a module or alias.
bool looks_like_module_file(const std::string& arg);

// True when MODALIAS matches an alias pattern of modules.alias (shell wildcards).
bool alias_matches(const std::string& pattern, const std::string& modalias);

// The metadata of a .ko file, or of the module that a name or alias resolves to in
// ctx's modules directory (every module, when an alias matches several).
Result<std::vector<ModuleInfo>, std::string> read_module_info(const KmodContext& ctx, const std::string& name_or_file);

// The kernel's parameter string for PARAMETERS ("name=Ada Lovelace" → name="Ada Lovelace").
std::string format_module_options(const std::vector<std::string>& parameters);

// The parameter names in OPTIONS that INFO's module does not declare (the kernel ignores
// them with a warning in its log).
std::vector<std::string> unknown_parameters(const ModuleInfo& info, const std::string& options);

// Inserts FILE with OPTIONS ("name=Ada count=3"), like insmod: no dependencies are
// loaded. Returns the module's name.
Result<std::string, std::string> insert_module_file(const KmodContext& ctx, const std::string& file,
                                                    const std::string& options);

// Where module NAME stands in ctx's tree and the running kernel (`kplug doctor`).
struct ModuleStanding {
  bool in_index = false;      // modules.dep or modules.builtin knows it
  bool builtin = false;
  bool live = false;          // loaded now (or loading)
  std::string path;           // its .ko per modules.dep, "" when none
  bool file_present = false;  // PATH exists
};
ModuleStanding module_standing(const KmodContext& ctx, const std::string& name);

// Removes the loaded module NAME (a path to its .ko also names it), like rmmod: refused,
// naming the holders, while anything uses it.
Result<std::string, std::string> remove_live_module(const KmodContext& ctx, const std::string& name);

}  // namespace kplug
