#!/usr/bin/env python3
"""Drop-in parity with udevd's loading: the same Debian kernel and device zoo (bench_vm's,
with a parallel port and a USB disk), booted twice. Once Debian's systemd-udevd with
Debian's rules coldplugs it (`udevadm trigger` for subsystems and devices, as
systemd-udev-trigger.service does), once kplugd alone with its shipped rules. The two
/proc/modules sets must be equal, including what udevd loads without a MODALIAS match
(ppdev for parport_pc from 80-drivers.rules, sg for SCSI devices from Debian's
80-debian-compat.rules).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_vm import coldplug_run  # noqa: E402
from kplugvm import VMError, log, run_main  # noqa: E402


def main():
    build = os.path.abspath(os.environ.get("KPLUG_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..",
                                                                        "build")))
    udevd = coldplug_run(build, "udevd")
    log(f"udevd: {len(udevd['modules'])} modules in {udevd['seconds']:.2f} s")
    kplugd = coldplug_run(build, "kplugd")
    log(f"kplugd: {len(kplugd['modules'])} modules in {kplugd['seconds']:.2f} s")
    u, k = set(udevd["modules"]), set(kplugd["modules"])
    print(f"measure: module sets after coldplug: udevd {len(u)}, kplugd {len(k)}", flush=True)
    for name in ("ppdev", "sg", "parport_pc"):
        if name not in u:
            raise VMError(f"udevd did not load {name}: the zoo no longer has the device that needs it")
    if u != k:
        raise VMError(f"kplugd's set differs from udevd's: kplugd lacks {sorted(u - k)}, has beyond it {sorted(k - u)}")
    print(f"ok: kplugd alone loads exactly the {len(k)} modules udevd loads, ppdev and sg included", flush=True)


if __name__ == "__main__":
    run_main(main)
