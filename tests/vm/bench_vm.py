#!/usr/bin/env python3
"""Side-by-side benchmarks in the VM: the same Debian kernel, the same device zoo, a fresh
boot per run.

coldplug: time from the start until the last module is Live and the last device has
appeared or bound (no module change, no uevent), the loaded module set, peak and idle
RSS, for
  kplugd      kplugd started; done when `kplug settle` returns and no uevent follows;
  udevd       Debian's systemd-udevd (from the udev package, unpacked into the initramfs:
              it never runs on the host) in the foreground as its service runs it, then
              `udevadm trigger` for subsystems and devices as systemd-udev-trigger.service
              does; done when `udevadm settle` returns and no uevent follows;
  mdev        the mdev-style baseline: `modprobe` once per sysfs `modalias` file, one
              process each, repeated until no module is added;
  floor       the final module set of the first kplugd run, in the order it loaded
              them, inserted with 4 `modprobe`s in parallel (modprobe orders each
              module's dependencies) without waiting for any device.
hotplug: from the kernel's "new USB device" line to usb_hello's init line (kernel
  timestamps), plugging QEMU's usb-ccid, for kplugd and udevd.

usage: bench_vm.py [--boots N] [--plugs N] [--out FILE]      (writes JSON)
"""
import argparse
import json
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kplugvm import KEEP, VM, VMError, log, run_main  # noqa: E402

# Module subtrees for the zoo, on top of the test VM's USB/HID/input/SCSI ones.
ZOO_KEEP = KEEP + ("drivers/net/ethernet/intel/e1000e/", "drivers/net/virtio_net.ko",
                   "drivers/net/ethernet/realtek/", "sound/core/", "sound/hda/", "sound/pci/", "sound/soundcore.ko",
                   "drivers/nvme/host/", "drivers/char/hw_random/", "drivers/mmc/", "drivers/watchdog/",
                   "drivers/virtio/", "drivers/scsi/sr_mod.ko", "drivers/ata/", "drivers/i2c/busses/",
                   "drivers/acpi/", "drivers/firmware/", "drivers/block/floppy.ko", "drivers/input/",
                   "drivers/parport/", "drivers/char/ppdev.ko")


def zoo(build):
    """QEMU arguments for the device zoo (disk images made on first use)."""
    images = os.path.join(build, "vm-bench")
    os.makedirs(images, exist_ok=True)
    for name in ("nvme.img", "stick.img"):
        path = os.path.join(images, name)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.truncate(16 << 20)
    return ["-audiodev", "none,id=snd0",
            "-device", "e1000e", "-device", "virtio-net-pci", "-device", "rtl8139",
            "-device", "intel-hda", "-device", "hda-duplex,audiodev=snd0",
            "-drive", f"if=none,id=nvm,format=raw,file={images}/nvme.img", "-device", "nvme,serial=kplug,drive=nvm",
            "-device", "virtio-rng-pci", "-device", "sdhci-pci", "-device", "i6300esb",
            "-device", "ES1370,audiodev=snd0",
            "-device", "usb-kbd,bus=xhci.0", "-device", "usb-mouse,bus=xhci.0", "-device", "usb-tablet,bus=xhci.0",
            "-drive", f"if=none,id=stick,format=raw,file={images}/stick.img",
            "-device", "usb-storage,bus=xhci.0,drive=stick",
            # A parallel port: parport_pc by MODALIAS, then ppdev by udevd's 80-drivers.rules.
            "-chardev", "null,id=par0", "-device", "isa-parallel,chardev=par0"]


# Starts a contender, runs its FINISH (what says it is done) in the background, and
# watches /proc/modules (names and states) and the kernel's uevent SEQNUM every 20 ms: the
# time reported is from the start to the last change, i.e. until the last module became
# Live and the last device appeared or was bound to its driver (each is a uevent), once
# FINISH has returned and nothing changed for 2 s. Modules alone would not do: the floor
# has inserted usbhid long before the USB devices it drives are there. The same clock for
# every contender: bash's $EPOCHREALTIME.
MEASURE = r"""
rm -f /tmp/bench.done /tmp/bench.timeline
t0=${{EPOCHREALTIME/./}}
{start}
( {finish}
  touch /tmp/bench.done ) > /dev/null 2>&1 < /dev/null &
prev=; last=$t0
while :; do
  cur=$(cut -d' ' -f1,5 /proc/modules; cat /sys/kernel/uevent_seqnum)
  now=${{EPOCHREALTIME/./}}
  [ "$cur" != "$prev" ] && {{ prev=$cur; last=$now;
    echo "$(( (now - t0) / 1000 )) ms: $(grep -c Live /proc/modules) live, $(grep -c Loading /proc/modules) loading" >> /tmp/bench.timeline; }}
  [ -e /tmp/bench.done ] && [ $((now - last)) -gt 2000000 ] && break
  sleep 0.02
done
echo "elapsed_us $((last - t0))"
"""

# A daemon is done when its settle returns and no uevent comes for a second after it.
QUIET = r"""while :; do
    {settle}
    s=$(cat /sys/kernel/uevent_seqnum); sleep 1
    [ "$(cat /sys/kernel/uevent_seqnum)" = "$s" ] && break
  done"""

CONTENDERS = {
    "kplugd": dict(start="kplugd --log-level warn > /tmp/kplugd.log 2>&1 < /dev/null &",
                   finish=QUIET.format(settle="until kplug settle --timeout 120; do sleep 0.02; done"),
                   process="kplugd"),
    # In the foreground, as systemd-udevd.service runs it (a --daemon fork would count only
    # the pages its child touched after the fork); triggered once it answers a ping.
    "udevd": dict(start="/lib/systemd/systemd-udevd > /dev/null 2>&1 < /dev/null & "
                        "until udevadm control --ping 2>/dev/null; do sleep 0.01; done; "
                        "udevadm trigger --type=subsystems --action=add; udevadm trigger --type=devices --action=add",
                  finish=QUIET.format(settle="udevadm settle --timeout=120"), process="systemd-udevd"),
    # mdev-style: one modprobe process per modalias file, passes until one adds nothing.
    "mdev": dict(start=":", finish=r"""while :; do
    before=$(wc -l < /proc/modules)
    for f in $(find /sys/devices -name modalias); do modprobe -q -b "$(cat $f)"; done
    [ "$(wc -l < /proc/modules)" = "$before" ] && break
  done""", process=None),
}


def rss(vm, process):
    """(peak, now, breakdown) of PROCESS's oldest instance: VmHWM and VmRSS in KiB, and
    where the resident KiB are: anonymous memory (heap, stacks, relocated library data)
    and the pages of each mapped file (program, libraries, module indexes), from
    /proc/PID/smaps."""
    pid = vm.run(f"pidof {process} | tr ' ' '\\n' | sort -n | head -n 1").strip()
    if not pid:
        return None, None, None
    status = vm.run(f"cat /proc/{pid}/status")
    get = lambda key: int(re.search(rf"{key}:\s+(\d+)", status).group(1))  # noqa: E731
    # A file mapping's written pages (relocated data) are anonymous copies: counted once,
    # under RssAnon, not again under the file.
    smaps = vm.run(f"awk '/^[0-9a-f]+-/{{name=$6}} /^Rss:/{{rss[name]+=$2}} /^Anonymous:/{{rss[name]-=$2}} "
                   f"END{{for(n in rss) print rss[n], n}}' /proc/{pid}/smaps")
    breakdown = {"anonymous": get("RssAnon")}
    for line in smaps.splitlines():
        kib, _, name = line.partition(" ")
        if name.startswith("/") and int(kib):
            breakdown[os.path.basename(name)] = int(kib)
    return get("VmHWM"), get("VmRSS"), breakdown


def coldplug_run(build, contender, floor_modules=None):
    with VM(name="vm-bench", keep=ZOO_KEEP, udev=True, memory=1024, extra_qemu=zoo(build)) as vm:
        if contender == "floor":
            # In the order kplugd's run loaded them (bus drivers such as xhci_pci early),
            # without waiting for any device.
            c = dict(start=":", finish="printf '%s\\n' " + " ".join(floor_modules) +
                     " | xargs -P 4 -n 1 modprobe -q", process=None)
        else:
            c = CONTENDERS[contender]
        out = vm.run(MEASURE.format(start=c["start"], finish=c["finish"]), timeout=600)
        elapsed = int(re.search(r"elapsed_us (\d+)", out).group(1)) / 1e6
        peak = idle = breakdown = None
        if c["process"]:
            time.sleep(3)
            peak, idle, breakdown = rss(vm, c["process"])
        # /proc/modules lists the newest first: reversed, it is the order they came in.
        order = [ln.split()[0] for ln in reversed(vm.run("cat /proc/modules").splitlines()) if ln.strip()]
        modules = sorted(order)
        return {"seconds": elapsed, "modules": modules, "load_order": order, "peak_rss_kib": peak, "idle_rss_kib": idle,
                "rss_breakdown_kib": breakdown, "boot_seconds": vm.boot_seconds}


def hotplug_run(build, contender, plugs):
    """Latencies (ms) from 'new USB device' to usb_hello's init, PLUGS times."""
    with VM(name="vm-bench", keep=ZOO_KEEP, udev=True, memory=1024, extra_qemu=zoo(build)) as vm:
        c = CONTENDERS[contender]
        vm.run(MEASURE.format(start=c["start"], finish=c["finish"]), timeout=600)
        out = []
        for i in range(plugs):
            vm.run("dmesg -c > /dev/null")
            vm.plug("usb-ccid", f"c{i}")
            vm.wait_until(lambda: "usb_hello: loaded" in vm.dmesg(), "usb_hello's init", timeout=60)
            d = vm.dmesg()
            new = [ln for ln in d.splitlines() if re.search(r"usb [0-9.-]+: new .*USB device number", ln)]
            init = [ln for ln in d.splitlines() if "usb_hello: loaded" in ln]
            stamp = lambda ln: float(re.match(r"\[\s*(\d+\.\d+)\]", ln).group(1))  # noqa: E731
            out.append((stamp(init[0]) - stamp(new[-1])) * 1000)
            vm.unplug(f"c{i}")
            vm.run("sleep 0.5; rmmod usb_hello 2>/dev/null; true")
            vm.wait_until(lambda: "usb_hello" not in vm.loaded_modules(), "usb_hello to go", timeout=30)
        return out


def summary(values):
    values = sorted(values)
    return {"median": statistics.median(values), "min": values[0], "max": values[-1], "runs": values}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--boots", type=int, default=3, help="boots per contender (default 3)")
    ap.add_argument("--plugs", type=int, default=5, help="plugs per hotplug contender (default 5)")
    ap.add_argument("--out", default=None, help="JSON results file (default BUILD/bench/vm.json)")
    args = ap.parse_args()
    build = os.path.abspath(os.environ.get("KPLUG_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..",
                                                                        "build")))
    out_path = args.out or os.path.join(build, "bench", "vm.json")
    results = {"coldplug": {}, "hotplug": {}}
    runs = {}
    for contender in ("kplugd", "udevd", "mdev"):
        runs[contender] = []
        for b in range(args.boots):
            r = coldplug_run(build, contender)
            log(f"coldplug {contender} #{b + 1}: {r['seconds']:.2f} s, {len(r['modules'])} modules, "
                f"RSS peak {r['peak_rss_kib']} idle {r['idle_rss_kib']} KiB")
            runs[contender].append(r)
    floor_set = runs["kplugd"][0]["load_order"]
    runs["floor"] = []
    for b in range(args.boots):
        r = coldplug_run(build, "floor", floor_set)
        log(f"coldplug floor #{b + 1}: {r['seconds']:.2f} s, {len(r['modules'])} modules")
        runs["floor"].append(r)
    for contender, rs in runs.items():
        entry = summary([r["seconds"] for r in rs])
        entry["modules"] = rs[0]["modules"]
        entry["module_sets_equal_across_boots"] = all(r["modules"] == rs[0]["modules"] for r in rs)
        peaks = [r["peak_rss_kib"] for r in rs if r["peak_rss_kib"]]
        idles = [r["idle_rss_kib"] for r in rs if r["idle_rss_kib"]]
        entry["peak_rss_kib"] = statistics.median(peaks) if peaks else None
        entry["idle_rss_kib"] = statistics.median(idles) if idles else None
        entry["rss_breakdown_kib"] = rs[0]["rss_breakdown_kib"]
        results["coldplug"][contender] = entry
    for contender in ("kplugd", "udevd"):
        lat = hotplug_run(build, contender, args.plugs)
        log(f"hotplug {contender}: {', '.join(f'{x:.0f}' for x in lat)} ms")
        results["hotplug"][contender] = summary(lat)
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w") as f:
        json.dump(results, f, indent=1)
    print(json.dumps({k: {c: {x: v for x, v in e.items() if x not in ("modules", "runs")} for c, e in d.items()}
                      for k, d in results.items()}, indent=1))


if __name__ == "__main__":
    run_main(main)
