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

footprint: each daemon's resident and private memory per mapping (/proc/PID/smaps) once
  idle after coldplug, and kplugd's cold start (exec to READY with everything loaded).

usage: bench_vm.py [--boots N] [--plugs N] [--cold-starts N] [--footprint] [--out FILE]
       (writes JSON; --footprint: only kplugd, the embedded kplugd and udevd)
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
prev=; last=$t0; block=
while :; do
  cur=$(cut -d' ' -f1,5 /proc/modules; cat /sys/kernel/uevent_seqnum)
  now=${{EPOCHREALTIME/./}}
  [ "$cur" != "$prev" ] && {{ prev=$cur; last=$now;
    echo "$(( (now - t0) / 1000 )) ms: $(grep -c Live /proc/modules) live, $(grep -c Loading /proc/modules) loading" >> /tmp/bench.timeline; }}
  [ -z "$block" ] && [ -e /sys/block/sda ] && block=$now
  [ -e /tmp/bench.done ] && [ $((now - last)) -gt 2000000 ] && break
  sleep 0.02
done
echo "elapsed_us $((last - t0))"
if [ -n "$block" ]; then echo "block_us $((block - t0))"; fi
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
    # The embedded build (-DKPLUG_EMBEDDED=ON, docs/embedded.md), the same way.
    "kplugd-embedded": dict(start="kplugd-embedded --log-level warn > /tmp/kplugd.log 2>&1 < /dev/null &",
                            finish=QUIET.format(settle="until kplug settle --timeout 120; do sleep 0.02; done"),
                            process="kplugd-embedded"),
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


# Per mapping of /proc/PID/smaps: its resident KiB and how they split. "private" is what
# the process alone allocated or wrote: its anonymous pages (heap, stacks, and the
# copied-on-write data of the program and its libraries, relocated at load). Not
# Private_Dirty: in a RAM filesystem such as the initramfs every page of a file is dirty,
# so Private_Dirty would count the program's and libraries' files themselves.
SMAPS = ("awk '/^[0-9a-f]+-/{{name=($6 == \"\" ? \"[anon]\" : $6)}} "
         "/^(Rss|Anonymous|Private_Dirty|Private_Clean|Shared_Clean|Shared_Dirty):/{{v[name \" \" $1]+=$2}} "
         "END{{for (k in v) print k, v[k]}}' /proc/{pid}/smaps")


def footprint(vm, process):
    """PROCESS's oldest instance: peak and current RSS (KiB), its private KiB, and each
    mapping's rss/private/shared KiB (file mappings by file name, anonymous ones as
    [heap], [stack], [anon])."""
    pid = vm.run(f"pidof {process} | tr ' ' '\\n' | sort -n | head -n 1").strip()
    if not pid:
        return None
    status = vm.run(f"cat /proc/{pid}/status")
    get = lambda key: int(re.search(rf"{key}:\s+(\d+)", status).group(1))  # noqa: E731
    fields = {}
    for line in vm.run(SMAPS.format(pid=pid)).splitlines():
        name, field, kib = line.rsplit(" ", 2)
        fields.setdefault(os.path.basename(name) if name.startswith("/") else name, {})[field.rstrip(":")] = int(kib)
    mappings = {}
    for name, f in fields.items():
        if not f.get("Rss"):
            continue
        mappings[name] = {"rss": f["Rss"], "private": f.get("Anonymous", 0),
                          "shared": f.get("Shared_Clean", 0) + f.get("Shared_Dirty", 0),
                          "private_dirty": f.get("Private_Dirty", 0)}
    return {"peak_rss_kib": get("VmHWM"), "rss_kib": get("VmRSS"),
            "private_kib": sum(m["private"] for m in mappings.values()), "mappings": mappings}


def cold_start(vm, binary, runs):
    """Milliseconds from starting BINARY to its READY (the "coldplug complete" line, logged
    as it sends READY=1) on a machine where everything is loaded already, RUNS times; and
    how much of each was the coldplug itself (kplugd's own figure)."""
    times, coldplug_ms = [], []
    for _ in range(runs):
        out = vm.run(f"""rm -f /tmp/cold.log; t0=${{EPOCHREALTIME/./}}
{binary} > /tmp/cold.log 2>&1 < /dev/null &
pid=$!
until grep -q 'coldplug complete' /tmp/cold.log; do sleep 0.002; done
t1=${{EPOCHREALTIME/./}}
kill $pid; wait $pid
echo "cold_us $((t1 - t0))"
grep -o 'coldplug complete in [0-9.]* ms' /tmp/cold.log""", timeout=120)
        times.append(int(re.search(r"cold_us (\d+)", out).group(1)) / 1000)
        coldplug_ms.append(float(re.search(r"coldplug complete in ([0-9.]+) ms", out).group(1)))
    return times, coldplug_ms


def coldplug_run(build, contender, floor_modules=None, cold_starts=0):
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
        # The USB stick's block device (sda): what a boot waiting for a USB disk waits for.
        block = re.search(r"block_us (\d+)", out)
        block = int(block.group(1)) / 1e6 if block else None
        fp = None
        if c["process"]:
            # Idle: kplugd stops its loader threads 2 s after the last work, udevd its
            # workers (other processes, not counted) after 3 s.
            time.sleep(5)
            fp = footprint(vm, c["process"])
        # /proc/modules lists the newest first: reversed, it is the order they came in.
        order = [ln.split()[0] for ln in reversed(vm.run("cat /proc/modules").splitlines()) if ln.strip()]
        modules = sorted(order)
        starts, starts_coldplug = [], []
        if cold_starts and c["process"]:
            vm.run(f"kill $(pidof {c['process']}); while pidof {c['process']} > /dev/null; do sleep 0.05; done")
            starts, starts_coldplug = cold_start(vm, c["process"], cold_starts)
        return {"seconds": elapsed, "block_seconds": block, "modules": modules, "load_order": order,
                "peak_rss_kib": fp and fp["peak_rss_kib"], "idle_rss_kib": fp and fp["rss_kib"],
                "footprint": fp, "cold_start_ms": starts, "cold_start_coldplug_ms": starts_coldplug, "boot_seconds": vm.boot_seconds}


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


def coldplug_runs(build, contenders, boots, cold_starts):
    """CONTENDERS' coldplug runs, BOOTS each, the floor last (from kplugd's first run);
    cold starts measured in the first boot of each kplugd."""
    runs = {}
    for contender in contenders:
        runs[contender] = []
        for b in range(boots):
            r = coldplug_run(build, contender, cold_starts=cold_starts if b == 0 and "kplugd" in contender else 0)
            log(f"coldplug {contender} #{b + 1}: {r['seconds']:.2f} s (USB disk's block device at "
                f"{r['block_seconds'] if r['block_seconds'] is not None else '-'} s), {len(r['modules'])} modules, "
                f"RSS peak {r['peak_rss_kib']} idle {r['idle_rss_kib']} KiB"
                + (f", private {r['footprint']['private_kib']} KiB" if r["footprint"] else "")
                + (f", cold start {', '.join(f'{x:.0f}' for x in r['cold_start_ms'])} ms" if r["cold_start_ms"] else ""))
            runs[contender].append(r)
    return runs


def summarize(runs):
    coldplug, footprints = {}, {}
    for contender, rs in runs.items():
        entry = summary([r["seconds"] for r in rs])
        blocks = [r["block_seconds"] for r in rs if r.get("block_seconds") is not None]
        entry["block"] = summary(blocks) if len(blocks) == len(rs) else None
        entry["modules"] = rs[0]["modules"]
        entry["module_sets_equal_across_boots"] = all(r["modules"] == rs[0]["modules"] for r in rs)
        peaks = [r["peak_rss_kib"] for r in rs if r["peak_rss_kib"]]
        idles = [r["idle_rss_kib"] for r in rs if r["idle_rss_kib"]]
        entry["peak_rss_kib"] = statistics.median(peaks) if peaks else None
        entry["idle_rss_kib"] = statistics.median(idles) if idles else None
        coldplug[contender] = entry
        if rs[0]["footprint"]:
            footprints[contender] = dict(rs[0]["footprint"], cold_start_ms=rs[0]["cold_start_ms"],
                                         cold_start_coldplug_ms=rs[0]["cold_start_coldplug_ms"],
                                         coldplug_seconds=rs[0]["seconds"])
    return coldplug, footprints


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--boots", type=int, default=3, help="boots per contender (default 3)")
    ap.add_argument("--plugs", type=int, default=5, help="plugs per hotplug contender (default 5)")
    ap.add_argument("--cold-starts", type=int, default=5, help="kplugd cold starts measured per kplugd (default 5)")
    ap.add_argument("--footprint", action="store_true",
                    help="only the footprint: kplugd, the embedded kplugd and udevd, coldplug then idle")
    ap.add_argument("--out", default=None, help="JSON results file (default BUILD/bench/vm.json)")
    args = ap.parse_args()
    build = os.path.abspath(os.environ.get("KPLUG_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..",
                                                                        "build")))
    out_path = args.out or os.path.join(build, "bench", "footprint.json" if args.footprint else "vm.json")
    contenders = ["kplugd"]
    if os.path.exists(os.path.join(build, "embedded", "kplugd")):
        contenders.append("kplugd-embedded")
    else:
        log(f"no embedded build in {build}/embedded: the footprint leaves it out (scripts/check builds it)")
    contenders.append("udevd")
    if not args.footprint:
        contenders.append("mdev")
    runs = coldplug_runs(build, contenders, args.boots, args.cold_starts)
    results = {"coldplug": {}, "hotplug": {}}
    if not args.footprint:
        runs["floor"] = []
        for b in range(args.boots):
            r = coldplug_run(build, "floor", runs["kplugd"][0]["load_order"])
            log(f"coldplug floor #{b + 1}: {r['seconds']:.2f} s, {len(r['modules'])} modules")
            runs["floor"].append(r)
    results["coldplug"], results["footprint"] = summarize(runs)
    if not args.footprint:
        for contender in [c for c in ("kplugd", "kplugd-embedded", "udevd") if c in contenders]:
            lat = hotplug_run(build, contender, args.plugs)
            log(f"hotplug {contender}: {', '.join(f'{x:.0f}' for x in lat)} ms")
            results["hotplug"][contender] = summary(lat)
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w") as f:
        json.dump(results, f, indent=1)
    print(json.dumps({k: {c: {x: v for x, v in e.items() if x not in ("modules", "runs", "mappings")}
                          for c, e in d.items()} for k, d in results.items()}, indent=1))


if __name__ == "__main__":
    run_main(main)
