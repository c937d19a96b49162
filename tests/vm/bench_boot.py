#!/usr/bin/env python3
"""Boot with systemd, side by side in one run: a real Debian 12 system (tests/vm/systemvm.py)
with a USB disk in /etc/fstab whose drivers (xhci_pci, usb_storage, sd_mod) are in no
initramfs, and a few devices a desktop has (sound, a watchdog, network, USB input), booted
in three configurations, interleaved, after one uncounted boot:

  udevd    udevd the only loader: kplug installed, kplugd.service disabled;
  beside   kplugd beside udevd's loader: the package as a user installs it;
  alone    kplugd the only loader: udevd's 80-drivers.rules masked (as the README says).

Times are systemd's own monotonic timestamps, counted from systemd's start
(UserspaceTimestampMonotonic): under TCG the kernel and initramfs phase stalls at random,
so the part before systemd is left out. Per boot: multi-user.target, local-fs.target,
data.mount (the USB disk), sysinit.target, kplugd's READY (kplugd.service active), the
coldplug time kplugd logged, the fstab disk's way from the kernel's log (xHCI up,
usb-storage bound, the SCSI disk found, sda attached), the loaded module count and any
failed unit or job that timed out. Medians and spreads (min-max) per configuration.

usage: bench_boot.py [--boots N] [--out FILE]    (N counted boots per configuration; default 4)
"""
import argparse
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kplugvm import VMError, log, run_main  # noqa: E402
from systemvm import SystemVM  # noqa: E402

CONFIGS = ("udevd", "beside", "alone")
# Devices a desktop has, found at boot by whichever loader runs: none of them is on the
# way to the fstab disk.
DESKTOP = ["-audiodev", "none,id=snd0", "-device", "intel-hda", "-device", "hda-duplex,audiodev=snd0",
           "-device", "i6300esb", "-device", "e1000e", "-device", "virtio-rng-pci",
           "-device", "usb-kbd,bus=xhci.0", "-device", "usb-tablet,bus=xhci.0"]
STORAGE_CHAIN = {"xhci_up": r"xhci_hcd \S+: xHCI Host Controller", "usb_storage": r"usb-storage \S+: USB Mass Storage",
                 "scsi_disk": r"scsi \d+:\d+:\d+:\d+: Direct-Access", "sda": r"sd \S+: \[sda\] Attached"}
UNITS = {"multi_user": "multi-user.target", "local_fs": "local-fs.target", "data_mount": "data.mount",
         "sysinit": "sysinit.target", "kplugd_ready": "kplugd.service"}


def configure(vm, config):
    """Sets CONFIG for the next boot."""
    mask = "ln -sf /dev/null /etc/udev/rules.d/80-drivers.rules" if config == "alone" else \
        "rm -f /etc/udev/rules.d/80-drivers.rules"
    enable = "systemctl disable kplugd" if config == "udevd" else "systemctl enable kplugd"
    vm.run(f"{mask} && {enable} 2>/dev/null", timeout=60)


def seconds(vm, unit, start):
    v = vm.run(f"systemctl show -P ActiveEnterTimestampMonotonic {unit}", check=False).strip()
    return round(int(v) / 1e6 - start, 3) if v.isdigit() and int(v) > 0 else None


def figures(vm, config):
    """One boot's figures, from systemd's start."""
    start = int(vm.run("systemctl show -P UserspaceTimestampMonotonic").strip()) / 1e6
    f = {name: seconds(vm, unit, start) for name, unit in UNITS.items()}
    if config == "udevd":
        f["kplugd_ready"] = None
    f["systemd_started"] = round(start, 3)
    # When kplugd's and udevd's processes started, and udev's trigger finished.
    started = vm.run("systemctl show -P ExecMainStartTimestampMonotonic kplugd", check=False).strip()
    f["kplugd_started"] = round(int(started) / 1e6 - start, 3) if started.isdigit() and int(started) else None
    f["udevd_ready"] = seconds(vm, "systemd-udevd.service", start)
    f["trigger_done"] = seconds(vm, "systemd-udev-trigger.service", start)
    journal = vm.run("journalctl -b -u kplugd --no-pager -o cat", check=False)
    m = re.search(r"coldplug complete in ([0-9.]+) ms", journal)
    f["coldplug"] = round(float(m.group(1)) / 1000, 3) if m else None
    m = re.search(r"sysfs read in ([0-9.]+) ms(?:, deciding them took ([0-9.]+) ms)?", journal)
    f["walk"] = round(float(m.group(1)) / 1000, 3) if m else None
    f["walk_deciding"] = round(float(m.group(2)) / 1000, 3) if m and m.group(2) else None
    # kplugd's start-up before its coldplug, phase by phase (from its fork by systemd).
    m = re.search(r"start-up before coldplug: (.*)", journal)
    phases = {k.strip(", "): int(v) for k, v in re.findall(r"([a-z ,]+?) (\d+) ms", m.group(1))} if m else {}
    f["fork_to_main"] = round(phases["fork to main"] / 1000, 3) if "fork to main" in phases else None
    f["startup"] = round(sum(phases.values()) / 1000, 3) if phases else None
    # The fstab disk's way, from the kernel's log (its timestamps are the monotonic clock):
    # the USB host controller up, usb-storage bound to the stick, its SCSI disk found, sda.
    kernel = vm.run("dmesg", check=False)
    for key, pattern in STORAGE_CHAIN.items():
        m = re.search(r"^\[\s*([0-9.]+)\] " + pattern, kernel, re.M)
        f[key] = round(float(m.group(1)) - start, 3) if m else None
    m = re.search(r"boot-critical part done in ([0-9.]+) ms", journal)
    f["critical_done"] = round(float(m.group(1)) / 1000, 3) if m else None
    # What the kernel's trigger replays cost: kplugd's count of those it did nothing for.
    status = vm.run("kplug status --json 2>/dev/null || true", check=False) if config != "udevd" else ""
    m = re.search(r'"replays_unchanged":\s*(\d+)', status)
    f["replays_unchanged"] = int(m.group(1)) if m else None
    if config != "udevd":  # READY came with the boot-critical part: the rest may still load
        vm.run("kplug settle --timeout 120", timeout=150, check=False)
    f["modules"] = len(vm.loaded_modules())
    f["mounted"] = vm.run("findmnt -n -o SOURCE /data", check=False).strip()
    f["state"] = vm.state
    f["failed"] = vm.run("systemctl --failed --no-legend --plain", check=False).strip()
    f["timeouts"] = vm.run("journalctl -b --no-pager -o cat | grep -c 'timed out' || true", check=False).strip()
    return f


def spread(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    return {"median": statistics.median(values), "min": values[0], "max": values[-1], "runs": values}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--boots", type=int, default=4, help="counted boots per configuration (default 4)")
    ap.add_argument("--out", help="JSON results file (scripts/bench: BUILD/bench/boot.json)")
    args = ap.parse_args()
    if args.boots < 1:
        ap.error("--boots must be at least 1")
    boots = {c: [] for c in CONFIGS}
    with SystemVM(data_disk="usb", devices=DESKTOP) as vm:
        vm.run("dpkg -i /root/kplug.deb", timeout=120)
        order = ["alone"] + [c for _ in range(args.boots) for c in CONFIGS]  # the first is not counted
        for i, config in enumerate(order):
            configure(vm, config)
            vm.reboot()
            f = figures(vm, config)
            label = "uncounted" if i == 0 else f"#{len(boots[config]) + 1}"
            log(f"boot {i + 1}/{len(order)} {config} {label}: multi-user {f['multi_user']} s, local-fs "
                f"{f['local_fs']} s, /data {f['data_mount']} s ({f['mounted'] or 'NOT MOUNTED'}), sysinit "
                f"{f['sysinit']} s, kplugd started {f['kplugd_started']} s (main {f['fork_to_main']} s later, "
                f"coldplug {f['startup']} s later), ready {f['kplugd_ready']} s, udevd ready "
                f"{f['udevd_ready']} s, trigger done {f['trigger_done']} s, coldplug {f['coldplug']} s "
                f"(boot-critical part {f['critical_done']} s; walk {f['walk']} s + deciding {f['walk_deciding']} s; "
                f"{f['replays_unchanged']} replays unchanged), the disk's way: xHCI up {f['xhci_up']} s, usb-storage "
                f"{f['usb_storage']} s, SCSI disk {f['scsi_disk']} s, sda {f['sda']} s; {f['modules']} modules, "
                f"{f['state']}")
            if not f["mounted"] or f["state"] != "running":
                raise VMError(f"{config}: the boot is not healthy: /data {f['mounted'] or 'not mounted'}, "
                              f"state {f['state']}, failed units: {f['failed'] or 'none'}")
            if i > 0:
                boots[config].append(f)
    keys = list(UNITS) + ["kplugd_started", "fork_to_main", "startup", "udevd_ready", "trigger_done", "critical_done",
                          "coldplug", "walk", "walk_deciding", "replays_unchanged", "modules"] + list(STORAGE_CHAIN)
    results = {"boots": boots, "summary": {c: {k: spread([b[k] for b in boots[c]]) for k in keys} for c in CONFIGS}}
    base = results["summary"]["udevd"]["multi_user"]["median"]
    results["ratios"] = {c: round(results["summary"][c]["multi_user"]["median"] / base, 3) for c in CONFIGS}
    for c in CONFIGS:
        s = results["summary"][c]
        print(f"measure: {c}: multi-user.target median {s['multi_user']['median']:.2f} s "
              f"({s['multi_user']['min']:.2f}-{s['multi_user']['max']:.2f}), {results['ratios'][c]:.2f}x udevd alone; "
              f"/data {s['data_mount']['median']:.2f} s", flush=True)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    run_main(main)
