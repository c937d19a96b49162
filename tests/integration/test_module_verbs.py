#!/usr/bin/env python3
"""kplug's module verbs on the host: lsmod/insmod/rmmod name a kernel without module
support as such (or, on a kernel with it, lsmod equals /proc/modules); kplug modinfo
prints the same fields as kmod's modinfo for modules of the Debian tree, and lists the
host's present devices that match a module's aliases; bad arguments are usage errors."""
import os
import subprocess

from common import BIN, MODULES_DIR, check, fail, require_environment


def kplug(*args):
    return subprocess.run([os.path.join(BIN, "kplug"), *args], capture_output=True, text=True)


def kmod_modinfo(module):
    version = os.path.basename(MODULES_DIR)
    root = os.path.dirname(os.path.dirname(os.path.dirname(MODULES_DIR)))
    r = subprocess.run(["modinfo", "-b", root, "-k", version, module], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"modinfo {module} failed: {r.stderr}")
    return r.stdout


def fields(text):
    """{(key, value)} of modinfo-style output, whitespace-normalised."""
    out = set()
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.startswith(" ") and key not in ("present devices matching its aliases", "present devices"):
            out.add((key.strip(), " ".join(value.split())))
    return out


def main():
    require_environment()
    if not os.path.exists("/proc/modules"):
        for verb, args in (("lsmod", []), ("insmod", ["/nonexistent/hello.ko"]), ("rmmod", ["hello"])):
            r = kplug(verb, *args)
            check(r.returncode == 3 and "has no loadable module support" in r.stderr
                  and "/proc/modules does not exist" in r.stderr,
                  f"kplug {verb} on a kernel without module support says so, exit 3 ({r.stderr.strip()[:70]}...)")
    else:
        r = kplug("lsmod", "--json")
        check(r.returncode == 0, "kplug lsmod --json runs")
        import json
        listed = {m["module"] for m in json.loads(r.stdout)}
        with open("/proc/modules") as f:
            live = {line.split()[0] for line in f}
        check(listed == live, f"kplug lsmod lists exactly /proc/modules ({len(live)} modules)")

    # Byte for byte: modules, builtins (name: first, their parm: lines), parameters
    # without a description (kvm_intel, netfs: the type alone).
    same = ("usbhid", "e1000e", "xhci_pci", "snd_hda_intel", "i8042", "8250", "kvm_intel", "netfs")
    for module in same:
        ours, theirs = kplug("modinfo", "--modules-dir", MODULES_DIR, "--no-devices", module).stdout, \
            kmod_modinfo(module)
        check(ours == theirs and len(ours.splitlines()) > 5,
              f"kplug modinfo {module} prints what kmod's modinfo prints, byte for byte "
              f"({len(ours.splitlines())} lines{', ' + ours.splitlines()[0] if ours else ''})")
    r = kplug("modinfo", "--modules-dir", MODULES_DIR, "--no-devices", "i8042", "usbhid", "no_such_module")
    check(r.returncode == 3 and r.stdout == kmod_modinfo("i8042") + "\n" + kmod_modinfo("usbhid") and
          r.stderr.startswith("kplug modinfo: no module named or aliased 'no_such_module'"),
          "kplug modinfo i8042 usbhid no_such_module: the two modules, a blank line between, the unknown "
          "one said; exit 3")

    # A module that a device on this host matches: the device is listed with its driver.
    found = subprocess.run(["find", "/sys/devices", "-name", "modalias"], capture_output=True, text=True).stdout
    devices = {}
    for path in sorted(found.split()):
        try:
            with open(path) as f:
                devices.setdefault(f.read().strip(), os.path.dirname(path)[len("/sys"):])
        except OSError:
            continue
    batch = subprocess.run([os.path.join(BIN, "kplug"), "match", "--modules-dir", MODULES_DIR, "--batch"],
                           input="\n".join(devices), capture_output=True, text=True).stdout
    matched = None
    for line in batch.splitlines():
        modalias, _, names = line.partition("\t")
        loadable = [n for n in names.split() if "(builtin)" not in kplug(
            "modinfo", "--modules-dir", MODULES_DIR, "--no-devices", "-F", "filename", n).stdout]
        if loadable:
            matched = (loadable[0], devices[modalias], modalias)
            break
    if matched is None:
        fail("no device on this host has a MODALIAS that a module of the Debian tree matches")
    module, devpath, modalias = matched
    out = kplug("modinfo", "--modules-dir", MODULES_DIR, module).stdout
    check(f"  {devpath}  {modalias}  (driver: " in out,
          f"kplug modinfo {module} lists the present device {devpath} ({modalias})")

    r = kplug("modinfo", "--modules-dir", MODULES_DIR, "no_such_module_anywhere")
    check(r.returncode == 3 and "no module named or aliased 'no_such_module_anywhere'" in r.stderr,
          "kplug modinfo of an unknown module: exit 3, says it is unknown")
    r = kplug("insmod")
    check(r.returncode == 2 and "FILE is required" in r.stderr, "kplug insmod without a file is a usage error (2)")
    r = kplug("insmod", "hello.ko", "=3")
    check(r.returncode == 2 and "not a PARAM=VALUE parameter" in r.stderr,
          "kplug insmod with a malformed parameter is a usage error (2)")
    r = kplug("rmmod")
    check(r.returncode == 2, "kplug rmmod without a module is a usage error (2)")


if __name__ == "__main__":
    main()
