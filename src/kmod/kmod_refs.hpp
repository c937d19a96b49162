// Owning handles for libkmod's reference-counted objects, so that every early return
// drops what it took. Only for files under src/kmod/ (the only users of libkmod.h).
#pragma once

#include <libkmod.h>

namespace kplug {

struct ModuleRef {
  kmod_module* mod = nullptr;
  ~ModuleRef() { if (mod) kmod_module_unref(mod); }
};

// A list of modules, as lookups return them.
struct ModuleList {
  kmod_list* list = nullptr;
  ~ModuleList() { if (list) kmod_module_unref_list(list); }
  kmod_module* first() const { return list ? kmod_module_get_module(list) : nullptr; }
};

}  // namespace kplug
