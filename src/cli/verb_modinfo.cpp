// `kplug modinfo NAME|FILE...`: each module's metadata like modinfo, plus the devices present
// on this machine whose MODALIAS matches one of its aliases, and the driver they have.
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "cli/verbs.hpp"
#include "kmod/module_admin.hpp"
#include "sysfs/enumerate.hpp"

namespace kplug::cli {

namespace {

namespace fs = std::filesystem;

struct ModinfoOptions {
  std::vector<std::string> modules;
  std::string modules_dir;
  std::string field;
  bool no_devices = false;
};

// The fields as modinfo prints them: a builtin module's name first (its .modinfo has no
// name field), the other fields in index order, then one "parm" line per parameter with
// its type folded in, newest first as modinfo collects them ("parmtype" not on its own).
std::vector<std::pair<std::string, std::string>> display_fields(const ModuleInfo& info) {
  std::vector<std::pair<std::string, std::string>> out;
  if (info.filename == "(builtin)") out.emplace_back("name", info.name);
  out.emplace_back("filename", info.filename);
  std::vector<std::string> parms;  // names, in the order modinfo prints them
  std::map<std::string, std::pair<std::string, std::string>> parm;  // name → description, type
  for (const auto& [key, value] : info.fields) {
    if (key != "parm" && key != "parmtype") {
      out.emplace_back(key, value);
      continue;
    }
    std::string name = value.substr(0, value.find(':'));
    std::string rest = value.find(':') == std::string::npos ? "" : value.substr(value.find(':') + 1);
    if (!parm.contains(name)) parms.insert(parms.begin(), name);
    (key == "parm" ? parm[name].first : parm[name].second) = rest;
  }
  for (const auto& name : parms) {
    const auto& [description, type] = parm[name];
    // A parameter without a description: modinfo prints its type alone, unbracketed.
    std::string shown = type.empty() ? description : description.empty() ? type : description + " (" + type + ")";
    out.emplace_back("parm", name + ":" + shown);
  }
  return out;
}

void print_matching_devices(const ModuleInfo& info, const std::vector<Uevent>& devices) {
  auto aliases = info.values("alias");
  std::vector<std::string> lines;
  for (const auto& dev : devices) {
    std::string modalias(dev.modalias());
    for (const auto& alias : aliases) {
      if (!alias_matches(alias, modalias)) continue;
      std::error_code ec;
      fs::path driver = fs::read_symlink(fs::path("/sys" + dev.devpath) / "driver", ec);
      lines.push_back(fmt::format("  {}  {}  (driver: {})", dev.devpath, modalias,
                                  ec ? std::string("none") : driver.filename().string()));
      break;
    }
  }
  if (aliases.empty()) {
    std::cout << "present devices:  none can match (the module declares no alias)\n";
  } else if (lines.empty()) {
    std::cout << "present devices:  none matches its aliases\n";
  } else {
    std::cout << "present devices matching its aliases:\n";
    for (const auto& l : lines) std::cout << l << '\n';
  }
}

int run_modinfo(const ModinfoOptions& o) {
  bool any_file = std::any_of(o.modules.begin(), o.modules.end(), looks_like_module_file);
  auto ctx = KmodContext::open({o.modules_dir, {}, !any_file});
  if (!ctx) return std::cerr << "kplug modinfo: " << ctx.error() << '\n', exit_cannot;
  std::vector<Uevent> devices;
  if (o.field.empty() && !o.no_devices) {
    auto present = enumerate_modalias_devices();
    if (present) devices = std::move(*present);
    else std::cerr << "kplug modinfo: cannot list present devices: " << present.error() << '\n';
  }
  // Like modinfo: every name is shown that can be; one that cannot is said and makes the
  // exit status 3 at the end.
  int status = exit_ok;
  bool first = true;
  for (const auto& module : o.modules) {
    auto infos = read_module_info(**ctx, module);
    if (!infos) {
      std::cerr << "kplug modinfo: " << infos.error() << '\n';
      status = exit_cannot;
      continue;
    }
    for (const auto& info : *infos) {
      if (!o.field.empty()) {
        for (const auto& [key, value] : display_fields(info))
          if (key == o.field) std::cout << value << '\n';
        continue;
      }
      if (!first) std::cout << '\n';
      first = false;
      for (const auto& [key, value] : display_fields(info))
        std::cout << fmt::format("{:<16}{}\n", key + ":", value);
      if (!o.no_devices) print_matching_devices(info, devices);
    }
  }
  return status;
}

}  // namespace

VerbRun setup_modinfo(CLI::App& command) {
  auto o = std::make_shared<ModinfoOptions>();
  command.footer(
      "Each NAME is looked up like modprobe does (module name, then alias) in the modules\n"
      "directory; anything with a '/' or a .ko suffix is read as a file. The fields are the\n"
      "module's .modinfo strings in file order, as modinfo prints them. Then the devices\n"
      "present now whose MODALIAS matches one of the module's aliases, with the driver\n"
      "bound to each: the devices this module would be loaded for.\n\n"
      "Examples:\n"
      "  kplug modinfo usbhid\n"
      "  kplug modinfo i8042 usb_storage\n"
      "  kplug modinfo kmods/modinfo/modinfo_demo.ko\n"
      "  kplug modinfo -F alias kmods/hotplug/gadget_driver.ko");
  command.add_option("MODULE", o->modules, "module names, aliases, or paths to .ko files")->required();
  command.add_option("--modules-dir", o->modules_dir,
                     "the lib/modules/VERSION directory to look names up in (default: the running kernel's)");
  command.add_option("-F,--field", o->field, "print only the values of this field (e.g. alias, parm, depends)");
  command.add_flag("--no-devices", o->no_devices, "do not look for matching present devices");
  return [o] { return run_modinfo(*o); };
}

}  // namespace kplug::cli
