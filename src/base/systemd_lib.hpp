// libsystemd, opened with dlopen() the first time kplugd needs it: only a kplugd that
// systemd runs talks to the journal or sends sd_notify messages, and one that runs in an
// initramfs or under another init should not map libsystemd and the libraries it pulls in
// (libgcrypt, libgpg-error, liblz4, libcap: about 1 MiB resident). This is what
// systemd does with its own optional libraries.
#pragma once

#include <cstdint>

struct iovec;

namespace kplug {

struct SystemdLib {
  int (*notify)(int unset_environment, const char* state);
  int (*watchdog_enabled)(int unset_environment, uint64_t* usec);
  int (*journal_sendv)(const struct iovec* iov, int n);
};

// libsystemd.so.0's functions, opened on the first call; nullptr when it cannot be
// opened (the reason is written to stderr once: install libsystemd0).
const SystemdLib* systemd_lib();

}  // namespace kplug
