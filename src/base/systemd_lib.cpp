#include "base/systemd_lib.hpp"

#include <cstdio>

#ifdef KPLUG_EMBEDDED

namespace kplug {

const SystemdLib* systemd_lib() {
  static const bool said = [] {
    std::fprintf(stderr, "kplug: this is the embedded build, without systemd support: no journal logging "
                 "or sd_notify (under systemd, use Debian's kplug package)\n");
    return true;
  }();
  (void)said;
  return nullptr;
}

}  // namespace kplug

#else

#include <dlfcn.h>

#define SD_JOURNAL_SUPPRESS_LOCATION  // sd_journal_sendv itself, not its _with_location form
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

namespace kplug {

namespace {

template <typename F>
bool find(void* handle, const char* name, F*& out) {
  out = reinterpret_cast<F*>(dlsym(handle, name));
  return out != nullptr;
}

const SystemdLib* open_systemd_lib() {
  void* handle = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    std::fprintf(stderr, "kplug: cannot open libsystemd.so.0 (%s): no journal logging or sd_notify; "
                 "install libsystemd0\n", dlerror());
    return nullptr;
  }
  // The types come from libsystemd's headers: a changed prototype fails to build here.
  decltype(sd_notify)* notify = nullptr;
  decltype(sd_watchdog_enabled)* watchdog = nullptr;
  decltype(sd_journal_sendv)* sendv = nullptr;
  if (!find(handle, "sd_notify", notify) || !find(handle, "sd_watchdog_enabled", watchdog) ||
      !find(handle, "sd_journal_sendv", sendv)) {
    std::fprintf(stderr, "kplug: libsystemd.so.0 lacks sd_notify, sd_watchdog_enabled or sd_journal_sendv\n");
    dlclose(handle);
    return nullptr;
  }
  static const SystemdLib lib{notify, watchdog, sendv};
  return &lib;  // the library stays open for the life of the process
}

}  // namespace

const SystemdLib* systemd_lib() {
  static const SystemdLib* const lib = open_systemd_lib();
  return lib;
}

}  // namespace kplug

#endif
