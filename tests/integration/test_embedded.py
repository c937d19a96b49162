#!/usr/bin/env python3
"""The embedded kplugd (-DKPLUG_EMBEDDED=ON, docs/embedded.md; scripts/check builds it in
BUILD/embedded): it maps no C++ runtime, yaml-cpp, libnl, fmt, libsystemd, nor libkmod with
the libcrypto Debian's libkmod links, only libc (libkmod, with xz and zstd decompression, is
built in); and it is the same daemon: on the host's real
netlink socket it decides a real uevent as kplugd does, coldplugs, reads a rules file, and
says plainly that it has no journal or sd_notify when asked for them."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BIN, MODULES_DIR, Process, check, control_socket_path, fail, require_environment, write_uevent  # noqa: E402
from test_daemon_dry_run import present_devices  # noqa: E402

EMBEDDED = os.environ.get("KPLUG_EMBEDDED_KPLUGD", "")
NOT_MAPPED = ("libstdc++", "libgcc_s", "libyaml-cpp", "libnl-3", "libfmt", "libsystemd", "libgcrypt", "libm.so",
              "libkmod", "libcrypto", "liblzma", "libzstd")
# What the built-in libkmod calls to read compressed modules (libkmod-file.c), linked in.
DECOMPRESSORS = ("lzma_stream_decoder", "ZSTD_decompressStream")


def embedded(*args, env=None):
    return Process([EMBEDDED, "--modules-dir", MODULES_DIR, "--control-socket", control_socket_path(), *args],
                   env=env)


def main():
    require_environment()
    if not EMBEDDED or not os.path.exists(EMBEDDED):
        fail(f"KPLUG_EMBEDDED_KPLUGD={EMBEDDED!r} is no file: scripts/check builds it (build_embedded)")
    needed = subprocess.run(["ldd", EMBEDDED], capture_output=True, text=True, check=True).stdout
    libs = sorted(line.split()[0] for line in needed.splitlines() if ".so" in line)
    print("the embedded kplugd needs: " + ", ".join(libs))
    mapped = [lib for lib in libs if lib.startswith(NOT_MAPPED)]
    check(not mapped, "no C++ runtime, yaml-cpp, libnl, fmt, libsystemd, nor libkmod and libcrypto"
          + (f" (but {mapped})" if mapped else ""))
    symbols = subprocess.run(["nm", "--defined-only", EMBEDDED], capture_output=True, text=True, check=True).stdout
    defined = {line.split()[-1] for line in symbols.splitlines() if line.strip()}
    check("kmod_module_probe_insert_module" in defined and all(d in defined for d in DECOMPRESSORS),
          "libkmod is built in, with xz and zstd decompression (" + ", ".join(DECOMPRESSORS) + ")")
    normal = subprocess.run([os.path.join(BIN, "kplugd"), "--version"], capture_output=True, text=True).stdout
    mine = subprocess.run([EMBEDDED, "--version"], capture_output=True, text=True).stdout
    check(mine == normal, f"the same version as the normal build: {mine.strip()}")

    # A real uevent decided by a rules file of our own (the linked-in yaml-cpp reads it).
    devpath, modalias, modules = next((d for d in present_devices() if d[2]), (None, None, None))
    if not devpath:
        fail("no present device has a MODALIAS that resolves to a loadable module in the Debian tree")
    with tempfile.TemporaryDirectory() as rules:
        with open(os.path.join(rules, "50-test.yaml"), "w") as f:
            f.write('- name: embedded-autoload\n  match: {action: add, env: {MODALIAS: "?*"}}\n  autoload: true\n')
        d = embedded("--dry-run", "--no-coldplug", "--rules-dir", rules, "--log-target", "journal",
                     env=dict(os.environ, NOTIFY_SOCKET="/nonexistent/notify"))
        try:
            d.wait_for(lambda l: "starting" in l and "1 rules from 1 files" in l, what="the start-up line, 1 rule")
            line = d.wait_for(lambda l: f"add {devpath} (" in l and "would load" in l,
                              what=f"a would-load line for {devpath}", poke=lambda: write_uevent(devpath))
            check(all(f"would load {m} (dry run)" in line for m in modules),
                  f"a real uevent is decided: {devpath} would load {', '.join(sorted(modules))}")
            check(any("without systemd support" in l for l in d.output()),
                  "asked for the journal, it says it has no systemd support and logs to stderr")
        finally:
            code = d.stop()
        check(code == 0, f"it stops cleanly on SIGTERM (exit {code})")

    # Coldplug of every present device, then exit.
    c = embedded("--dry-run", "--exit-after-coldplug")
    code = c.proc.wait(timeout=60)
    c.stop()
    check(code == 0 and any("coldplug complete" in l for l in c.output()),
          f"coldplug of the host's devices completes (exit {code})")


if __name__ == "__main__":
    main()
