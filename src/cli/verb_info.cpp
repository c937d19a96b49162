// `kplug info DEVICE [--attribute-walk]`: what a rule can match on a device, printed as
// `match:` blocks ready to paste into a rule file — the device's own keys (subsystem,
// devtype, driver, modalias, its uevent properties as env:), and with --attribute-walk
// its sysfs attributes and those of every parent, one block per device (a rule sees the
// attributes of the device its event is about, so each parent's block matches that
// parent's own events), like `udevadm info --attribute-walk`.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "base/names.hpp"
#include "base/text.hpp"
#include "cli/verbs.hpp"
#include "sysfs/attributes.hpp"
#include "sysfs/enumerate.hpp"

namespace kplug::cli {

namespace {

namespace fs = std::filesystem;

struct InfoOptions {
  std::string devpath;
  bool attribute_walk = false;
};

// A YAML scalar in double quotes, with what YAML needs escaped.
std::string quoted(const std::string& value) {
  std::string out = "\"";
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
    else if (c < 0x20 || c >= 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  return out + "\"";
}

// A value usable in a glob as it is: the glob characters are bracketed.
std::string literal(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '*' || c == '?' || c == '[') out += std::string("[") + c + "]";
    else out += c;
  }
  return out;
}

// Readable attribute files of DEVPATH (not links, not directories, not write-only), by name.
std::vector<std::pair<std::string, std::string>> attributes(const std::string& devpath) {
  std::vector<std::pair<std::string, std::string>> out;
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(fs::path("/sys") / devpath.substr(1), ec)) {
    if (entry.is_symlink(ec) || !entry.is_regular_file(ec)) continue;
    std::string name = entry.path().filename();
    if (name == "uevent" || (entry.status(ec).permissions() & fs::perms::owner_read) == fs::perms::none) continue;
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    auto value = read_attribute(devpath, name);
    // One line of text only: binary attributes (config, descriptors) say nothing a glob can match.
    if (!value || value->size() > 200 ||
        std::any_of(value->begin(), value->end(), [](char c) { return c < 0x20 || c == 0x7f; }))
      continue;
    out.emplace_back(name, *value);
  }
  return out;
}

bool plain_key(const std::string& key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) { return is_key_char(c); });
}

// One rule block for EV. Its name is the device's own, so the blocks of an attribute walk
// are distinct rules. The driver is a comment, not a key: the kernel sends `add` before a
// driver binds, so `action: add` with `driver:` would never match a real hotplug.
void print_block(const Uevent& ev, bool with_attributes, bool is_parent) {
  std::cout << fmt::format("# {} {}\n", is_parent ? "parent device" : "device", printable(ev.devpath));
  std::string sysname = fs::path(ev.devpath).filename();
  std::cout << fmt::format("- name: {}\n  match:\n", quoted("CHANGE-ME " + sysname));
  std::cout << "    action: add\n";
  std::cout << fmt::format("    devpath: {}\n", quoted(literal(ev.devpath)));
  if (!ev.subsystem.empty()) std::cout << fmt::format("    subsystem: {}\n", quoted(literal(ev.subsystem)));
  for (const auto& [key, name] : {std::pair{"DEVTYPE", "devtype"}, {"MODALIAS", "modalias"}}) {
    auto value = ev.get(key);
    if (value) std::cout << fmt::format("    {}: {}\n", name, quoted(literal(std::string(*value))));
  }
  if (auto driver = ev.get("DRIVER"))
    std::cout << fmt::format("    # driver: {} is bound after 'add': to match it, use action: bind\n",
                             quoted(literal(std::string(*driver))));
  bool env = false;
  for (const auto& [k, v] : ev.properties) {
    if (k == "ACTION" || k == "DEVPATH" || k == "SUBSYSTEM" || k == "SEQNUM" || k == "DEVTYPE" || k == "DRIVER" ||
        k == "MODALIAS" || !plain_key(k))
      continue;
    if (!env) std::cout << "    env:\n";
    env = true;
    std::cout << fmt::format("      {}: {}\n", k, quoted(literal(v)));
  }
  if (with_attributes) {
    auto attrs = attributes(ev.devpath);
    if (!attrs.empty()) std::cout << "    attr:\n";
    for (const auto& [name, value] : attrs) std::cout << fmt::format("      {}: {}\n", name, quoted(literal(value)));
  }
  std::cout << "# (keep the keys that identify it; delete the others)\n\n";
}

int run_info(const InfoOptions& o) {
  auto ev = read_device(o.devpath);
  if (!ev) {
    std::cerr << "kplug info: " << ev.error() << '\n';
    return exit_cannot;
  }
  print_block(*ev, o.attribute_walk, false);
  if (!o.attribute_walk) return exit_ok;
  // Up the chain: every parent directory that is a device (has a uevent file).
  fs::path path = ev->devpath;
  while (path.has_parent_path() && path.parent_path() != "/devices" && path.parent_path() != "/") {
    path = path.parent_path();
    std::error_code ec;
    if (!fs::exists(fs::path("/sys") / path.relative_path() / "uevent", ec)) continue;
    auto parent = read_device(path.string());
    if (parent) print_block(*parent, true, true);
  }
  return exit_ok;
}

}  // namespace

VerbRun setup_info(CLI::App& command) {
  auto o = std::make_shared<InfoOptions>();
  command.add_option("devpath", o->devpath, "the device: /devices/..., any /sys path to it, /dev/NODE, or its name (sda, lo)")->required();
  command.add_flag("-a,--attribute-walk", o->attribute_walk,
                   "also its sysfs attributes, and those of every parent device (one block each)");
  command.footer(
      "Prints rule `match:` blocks ready to paste into /etc/kplug/rules.d/NAME.yaml; keep the\n"
      "keys that identify the device, then check with 'kplug test --devpath DEVPATH'.");
  return [o] { return run_info(*o); };
}

}  // namespace kplug::cli
