#!/usr/bin/env python3
"""VM scenarios: Debian's kernel in QEMU, real USB plug and unplug, and assertions on the
kernel's own state (/proc/modules, dmesg), not on kplugd's claims.

usage: test_vm.py SCENARIO   (coldplug, plug, unplug, replug, keyboard, forged, overrun, faults, kill_burst,
                              restart, slow, modverbs, installed, index, doctor,
                              rebroadcast, replay, embedded; or all)
       test_vm.py --build-initramfs   only build the VM's initramfs (ctest's vm.initramfs)
"""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kplugvm import VM, VMError, check, ok, run_main  # noqa: E402

GRACE = "1s"
CCID_MODALIAS = "usb:v08E6p4433d0100dc00dsc00dp00ic0Bisc00ip00in00"


def start_kplugd(vm, *flags):
    vm.start_kplugd(*flags, grace=GRACE)


def kplugd_log(vm):
    return vm.run("cat /tmp/kplugd.log", check=False)


def host_modprobe_r(vm, key):
    """What modprobe -R picks for KEY in the VM's own module tree (same files, read on the host)."""
    r = subprocess.run(["modprobe", "-C", "/nonexistent", "-d", vm.stage, "-S", vm.version, "-R", key],
                       capture_output=True, text=True)
    return set(r.stdout.split()) if r.returncode == 0 else set()


def builtin(vm):
    with open(os.path.join(vm.stage, "lib", "modules", vm.version, "modules.builtin")) as f:
        return {os.path.basename(l.strip())[:-3].replace("-", "_") for l in f if l.strip()}


def present_modaliases(vm):
    out = vm.run("find /sys/devices -name uevent -exec grep -h '^MODALIAS=' {} + 2>/dev/null; true")
    return {l.split("=", 1)[1] for l in out.splitlines() if l.startswith("MODALIAS=")}


def kernel_time(line):
    m = re.match(r"\[\s*(\d+\.\d+)\]", line)
    return float(m.group(1)) if m else None


# ---------------------------------------------------------------- scenarios

def scenario_coldplug(vm):
    before = vm.loaded_modules()
    check(not before, f"no module is loaded before kplugd starts ({sorted(before)})")
    start_kplugd(vm)
    expected = set()
    for key in present_modaliases(vm):
        expected |= host_modprobe_r(vm, key)
    expected -= builtin(vm)
    check("xhci_pci" in expected, "modprobe -R picks xhci_pci for the qemu-xhci controller")

    # Devices that appear during coldplug (the root hubs under xhci) come as hotplug
    # events; `kplug settle` returns once kplugd has handled those too.
    vm.run("kplug settle --timeout 60", timeout=90)
    ok("kplug settle returned")
    want = set()
    for key in present_modaliases(vm):
        want |= host_modprobe_r(vm, key)
    want -= builtin(vm)
    loaded = vm.loaded_modules()
    check("xhci_pci" in loaded, "xhci_pci is in /proc/modules")
    check(want <= loaded, f"all {len(want)} modules modprobe -R picks are loaded: {sorted(want)}")
    check("xhci_hcd" in vm.dmesg(), "the kernel logged the xhci controller")


RUN_RULE = """- name: vm-test-run
  match: {action: add, modalias: "usb:v08E6p4433*"}
  run: [touch, "/tmp/kplug-ran-{SEQNUM}"]
"""


def scenario_plug(vm):
    vm.run(f"cat > /etc/kplug/rules.d/60-vm-test.yaml <<'EOF'\n{RUN_RULE}EOF")
    start_kplugd(vm)
    check("usb_hello" not in vm.loaded_modules(), "usb_hello is not loaded before the plug")
    vm.plug("usb-ccid", "c1")
    vm.wait_until(lambda: "usb_hello" in vm.loaded_modules(), "usb_hello in /proc/modules", timeout=60)
    ok("usb_hello is in /proc/modules after device_add usb-ccid")
    dmesg = vm.wait_until(lambda: next((d for d in [vm.dmesg()] if "usb_hello: probe" in d), None),
                          "the probe line in dmesg", timeout=30)
    probe = [l for l in dmesg.splitlines() if "usb_hello: probe" in l][0]
    check("08e6:4433" in probe, f"the probe line names the device: {probe.strip()}")
    new = [l for l in dmesg.splitlines() if re.search(r"usb \d+-\d+: new .*USB device number", l)]
    if new and kernel_time(new[-1]) is not None:
        latency = kernel_time(probe) - kernel_time(new[-1])
        print(f"measured: new USB device -> usb_hello probe: {latency * 1000:.0f} ms (kernel timestamps)")
    line = vm.wait_until(lambda: next((l for l in kplugd_log(vm).splitlines()
                                       if "loaded usb_hello in" in l), None), "kplugd's load line", timeout=10)
    check(re.search(r"add /devices/\S+ \(usb\) MODALIAS=usb:v08E6p4433\S*: loaded usb_hello in \d+\.\d ms", line),
          f"kplugd's line names the device, the MODALIAS, the module and the load time: {line}")
    log = kplugd_log(vm)
    check("rule 'usb-hello-demo': smart-card reader /devices/" in log, "the shipped demo rule logged its line")
    ran = vm.wait_until(lambda: vm.run("ls /tmp | grep kplug-ran- || true").strip(), "the run action", timeout=20)
    check(re.fullmatch(r"kplug-ran-\d+", ran), f"the rule's command ran with {{SEQNUM}} filled in: /tmp/{ran}")


def scenario_unplug(vm):
    start_kplugd(vm)
    vm.plug("usb-ccid", "c1")
    vm.wait_until(lambda: "usb_hello" in vm.loaded_modules(), "usb_hello to load", timeout=60)
    vm.unplug("c1")
    vm.wait_until(lambda: "usb_hello" not in vm.loaded_modules(), "usb_hello to be unloaded", timeout=30)
    check("usb_hello: disconnect" in vm.dmesg(), "the kernel ran disconnect, then the module was unloaded")

    vm.plug("usb-ccid", "c1")
    vm.plug("usb-ccid", "c2")
    vm.wait_until(lambda: vm.dmesg().count("usb_hello: probe") >= 3, "both devices to be probed", timeout=60)
    vm.unplug("c1")
    time.sleep(3)  # well past the 1 s grace period
    check("usb_hello" in vm.loaded_modules(), "with one of two devices removed, usb_hello stays loaded")
    vm.unplug("c2")
    vm.wait_until(lambda: "usb_hello" not in vm.loaded_modules(), "usb_hello to be unloaded", timeout=30)
    ok("removing the second device unloads usb_hello")
    check("unloaded usb_hello" in kplugd_log(vm), "kplugd logged the unload")


def reader_bound(vm):
    """A smart-card reader's interface is bound to usb_hello (its driver is there and serves it)."""
    out = vm.run("ls /sys/bus/usb/drivers/usb_hello 2>/dev/null | grep -c ':' || true").strip()
    return out not in ("", "0")


def scenario_replug(vm):
    """The reader unplugged and plugged back in around the moment its grace period ends (the
    demo rule's 3 s: plugged from 1.3 s before to 0.2 s after it, counted from the line that
    scheduled the unload; the add reaches kplugd some 0.6 s after the plug under TCG), many
    times: before the unload, while it runs, after it. Every time the reader must end bound
    to usb_hello, and stay bound past another grace period."""
    start_kplugd(vm)
    vm.plug("usb-ccid", "r0")
    vm.wait_until(lambda: reader_bound(vm), "the reader bound to usb_hello", timeout=60)
    cycles = 8
    for i in range(1, cycles + 1):
        scheduled = kplugd_log(vm).count("usb_hello has no device left, unloading in")
        vm.unplug(f"r{i - 1}")
        vm.wait_until(lambda: kplugd_log(vm).count("usb_hello has no device left, unloading in") > scheduled,
                      f"cycle {i}: the unload scheduled", timeout=30, interval=0.1)
        grace = float(re.findall(r"usb_hello has no device left, unloading in (\d+\.\d) s", kplugd_log(vm))[-1])
        delay = max(0.0, grace + (-1.3, -0.9, -0.6, -0.4, -0.2, 0.2)[i % 6])
        time.sleep(delay)
        vm.plug("usb-ccid", f"r{i}")
        vm.wait_until(lambda: reader_bound(vm), f"cycle {i}: the reader bound to usb_hello", timeout=60)
        time.sleep(grace + 0.6)  # past another grace period: nothing unloads the module under the device
        check(reader_bound(vm) and "usb_hello" in vm.loaded_modules(),
              f"cycle {i}, plugged back {delay:.1f} s after the unload was scheduled: the reader is bound to usb_hello")
    log = kplugd_log(vm)
    unloads, dropped = log.count("unloaded usb_hello"), log.count("usb_hello is needed again")
    print(f"measured: {cycles} replug cycles: {unloads} unload(s) ran, {dropped} unload(s) cancelled or dropped, "
          f"{len(re.findall(r': loaded usb_hello in', log))} load(s); the reader bound after every one")
    check(unloads > 0 and dropped > 0, f"some cycles came before the unload ({dropped}), some after it ({unloads}): "
          "the moment was crossed")


def scenario_embedded(vm):
    """The embedded kplugd (libkmod built in, docs/embedded.md) loads and unloads for real:
    coldplug with dependencies, then a USB plug and unplug."""
    if "kplugd-embedded" not in vm.run("ls /usr/sbin"):
        raise VMError("no kplugd-embedded in the VM: build it first (scripts/check builds it in BUILD/embedded)")
    check(not vm.loaded_modules(), "no module is loaded before kplugd-embedded starts")
    vm.start_kplugd(grace=GRACE, program="kplugd-embedded")
    vm.run("kplug settle --timeout 60", timeout=90)
    loaded = vm.loaded_modules()
    check({"xhci_pci", "xhci_hcd"} <= loaded,
          f"coldplug loaded xhci_pci and the xhci_hcd it depends on ({len(loaded)} modules)")
    vm.plug("usb-ccid", "c1")
    vm.wait_until(lambda: "usb_hello" in vm.loaded_modules(), "usb_hello in /proc/modules", timeout=60)
    vm.wait_until(lambda: "usb_hello: probe" in vm.dmesg(), "usb_hello's probe", timeout=30)
    ok("the plug loaded usb_hello and the kernel probed the reader")
    vm.unplug("c1")
    vm.wait_until(lambda: "usb_hello" not in vm.loaded_modules(), "usb_hello to be unloaded", timeout=30)
    log = kplugd_log(vm)
    check("loaded usb_hello in" in log and "unloaded usb_hello in" in log,
          "kplugd-embedded logged the load and the unload")
    check(vm.run("pidof kplugd-embedded", check=False).strip(), "kplugd-embedded is still running")


def scenario_keyboard(vm):
    vm.run("modprobe hid")  # loaded before kplugd: it must never be unloaded by it
    start_kplugd(vm)
    vm.wait_until(lambda: "xhci_pci" in vm.loaded_modules(), "xhci_pci from coldplug", timeout=60)
    check("usbhid" not in vm.loaded_modules(), "usbhid is not loaded before the keyboard")
    vm.plug("usb-kbd", "kbd1")
    vm.wait_until(lambda: "usbhid" in vm.loaded_modules(), "usbhid to load", timeout=60)
    ok("plugging usb-kbd loads usbhid")
    vm.unplug("kbd1")
    vm.wait_until(lambda: "usbhid" not in vm.loaded_modules(), "usbhid to be unloaded", timeout=30)
    ok("unplugging it unloads usbhid")
    time.sleep(2)
    loaded = vm.loaded_modules()
    check("usbhid" not in loaded, "the unload did not start a reload fight: usbhid stays unloaded")
    check("hid" in loaded, "hid, loaded before kplugd started, stays loaded")
    check("xhci_pci" in loaded, "xhci_pci, whose controller is still present, stays loaded")

    # Without hid loaded beforehand, usbhid's load pulls it in, and the unload takes it away.
    vm.run("rmmod hid")
    vm.plug("usb-kbd", "kbd2")
    vm.wait_until(lambda: {"usbhid", "hid"} <= vm.loaded_modules(), "usbhid and hid to load", timeout=60)
    vm.unplug("kbd2")
    vm.wait_until(lambda: not ({"usbhid", "hid"} & vm.loaded_modules()), "usbhid and hid to be unloaded", timeout=30)
    ok("a dependency kplugd's load pulled in (hid) goes with usbhid")
    check("xhci_pci" in vm.loaded_modules() and "usbcore" in vm.loaded_modules(), "shared dependencies stay")


FORGED_SHAPES = ["well_formed", "truncated", "too_long", "no_nul", "bad_header", "too_many_keys", "huge_value",
                 "climbing_devpath"]


def status(vm):
    return json.loads(vm.run("kplug status --json"))


def scenario_forged(vm):
    """Every forged shape from a root process, by multicast, by unicast to kplugd's port and
    with a forged uid, while real USB devices come and go: nothing forged is acted on, each
    forgery is counted by reason and shape, and no real event is lost."""
    start_kplugd(vm)
    port = re.search(r"netlink port (\d+)", kplugd_log(vm)).group(1)
    senders = [["multicast"], [f"unicast:{port}"], ["--uid", "65534", "multicast"]]
    for i, shape in enumerate(FORGED_SHAPES):
        for sender in senders:
            vm.run(f"forge_uevent --shape {shape} {' '.join(sender)} /devices/forged/evil0 {CCID_MODALIAS}")
        if i == 2:
            vm.plug("usb-ccid", "c1")
        if i == 5:
            vm.plug("usb-kbd", "kbd1")
    vm.wait_until(lambda: {"usb_hello", "usbhid"} <= vm.loaded_modules(), "usb_hello and usbhid for the real devices",
                  timeout=60)
    vm.run("kplug settle --timeout 30")
    c = status(vm)["counters"]
    check(c["rejected_by_reason"] == {"not_kernel_port": 8, "not_group_1": 8, "not_root": 8},
          f"24 forgeries, counted by sender: {c['rejected_by_reason']}")
    check(c["forged_by_shape"] == {k: 3 for k in ["well_formed", "truncated", "too_long", "not_nul_terminated",
                                                   "bad_header", "too_many_keys", "value_too_long", "bad_devpath"]},
          f"and by shape: {c['forged_by_shape']}")
    evil = [l for l in kplugd_log(vm).splitlines() if "evil0" in l or "../etc" in l or "rejected a " in l]
    acted = [l for l in evil if "rejected a " not in l]
    check(len(evil) == 24 and not acted, f"every log line about a forgery is one of the {len(evil)} rejections")
    last = int(vm.run("cat /sys/kernel/uevent_seqnum"))
    st = status(vm)
    check(st["last_seqnum"] == last and c["missed_events"] == 0 and c["overruns"] == 0,
          f"every real kernel event up to SEQNUM {last} was handled, none missed")
    vm.unplug("c1")
    vm.wait_until(lambda: "usb_hello" not in vm.loaded_modules(), "usb_hello to be unloaded", timeout=30)
    ok("the real device's removal still unloads usb_hello")


def scenario_overrun(vm):
    """A stopped kplugd with a 16 KiB buffer loses a storm of 20,000 events, and with them a
    keyboard's removal and a card reader's arrival. It must notice, rescan sysfs, and end
    with exactly the modules a clean coldplug loads."""
    start_kplugd(vm, "--receive-buffer", "16K")
    vm.plug("usb-kbd", "kbd1")
    vm.wait_until(lambda: "usbhid" in vm.loaded_modules(), "usbhid for the keyboard", timeout=60)
    vm.run("kplug settle --timeout 30")
    vm.run("kill -STOP $(pidof kplugd)")
    storm = "for i in $(seq {}); do echo change > /sys/devices/virtual/mem/null/uevent; done"
    started = time.monotonic()
    vm.run(storm.format(10000), timeout=300)
    vm.unplug("kbd1")
    vm.plug("usb-ccid", "c1")
    vm.wait_until(lambda: "08e6" in vm.run("cat /sys/bus/usb/devices/*/idVendor 2>/dev/null; true"),
                  "the card reader in sysfs", timeout=30)
    vm.run(storm.format(10000), timeout=300)
    print(f"measured: 20,000 change events written in {time.monotonic() - started:.1f} s (with the plugs)")
    vm.run("kill -CONT $(pidof kplugd)")
    vm.wait_until(lambda: "rescan complete" in kplugd_log(vm), "the rescan after the overrun", timeout=60)
    vm.run("kplug settle --timeout 60", timeout=90)
    vm.wait_until(lambda: "usb_hello" in vm.loaded_modules(), "usb_hello for the card reader", timeout=30)
    vm.wait_until(lambda: "usbhid" not in vm.loaded_modules(), "usbhid unloaded for the lost removal", timeout=30)
    log = kplugd_log(vm)
    check("receive buffer overrun (ENOBUFS)" in log, "kplugd's log says: receive buffer overrun (ENOBUFS)")
    # One summary line for the rescan: the reader it had not seen, the keyboard gone,
    # usb_hello loaded.
    summary = next((l for l in log.splitlines() if "rescan complete in" in l), "")
    check("(receive buffer overrun)" in summary and re.search(r"[1-9]\d* not seen before, [1-9]\d* gone", summary)
          and "loaded usb_hello" in summary, f"kplugd's rescan line says what changed: {summary[13:]}")
    check(len([l for l in log.splitlines() if " info  rescan add" in l and "MODALIAS=" in l]) == 0,
          "the rescan's per-device decisions are not logged at info")
    c = status(vm)["counters"]
    check(c["overruns"] >= 1 and c["rescans"] >= 1, f"kplug status: overruns {c['overruns']}, missed "
          f"{c['missed_events']}, rescans {c['rescans']}")
    after = vm.loaded_modules()

    # A clean coldplug for comparison: no kplugd, no ledger, no module; then a fresh start.
    vm.run("kill $(pidof kplugd); while pidof kplugd >/dev/null; do sleep 0.2; done; rm -f /run/kplug/state.json")
    vm.run("for pass in 1 2 3 4 5 6 7 8; do for m in $(cut -d' ' -f1 /proc/modules); do rmmod $m 2>/dev/null; "
           "done; done; true", timeout=120)
    check(not vm.loaded_modules(), "every module unloaded before the clean coldplug")
    start_kplugd(vm)
    vm.wait_until(lambda: "usb_hello" in vm.loaded_modules(), "usb_hello after the clean coldplug", timeout=60)
    vm.run("kplug settle --timeout 60", timeout=90)
    clean = vm.loaded_modules()
    if after != clean:
        raise VMError(f"after the overrun: {sorted(after)}; clean coldplug: {sorted(clean)}")
    ok(f"after the storm kplugd holds exactly the modules a clean coldplug loads ({len(clean)}: "
       f"{', '.join(sorted(clean))})")


def scenario_faults(vm):
    """Faults kplugd must survive: a corrupt state file, a module whose init fails, a
    missing and a corrupt module file, a full disk where the ledger is saved."""
    # The state directory on a 64 KiB tmpfs (0755: kplugd refuses one others can write), with
    # a corrupt ledger in it.
    vm.run("mkdir -p /var/kplug && mount -t tmpfs -o size=64k,mode=0755 tmpfs /var/kplug && "
           "printf '{\"modules\": [oops' > /var/kplug/state.json")
    start_kplugd(vm, "--state-dir", "/var/kplug")
    line = next((l for l in kplugd_log(vm).splitlines() if "state.json is corrupt" in l), "")
    check("starting with an empty ledger" in line, f"a corrupt state file: kplugd starts clean and says so: {line[13:]}")

    # A module whose init fails.
    vm.qmp("chardev-add", id="ser0", backend={"type": "ringbuf", "data": {"size": 4096}})  # null never "opens"
    vm.plug("usb-serial", "s1", chardev="ser0")
    line = vm.wait_until(lambda: next((l for l in kplugd_log(vm).splitlines() if "failed to load fail_init" in l),
                                      None), "the failed load", timeout=60)
    check("No such device (ENODEV)" in line, f"the failure is logged with its errno: {line[13:]}")
    time.sleep(3)
    check(vm.dmesg().count("fail_init: init runs") == 1, "one attempt, no retry loop (3 s later, still one init)")
    check("fail_init" not in vm.loaded_modules(), "the kernel did not keep it")
    check("fail_init" not in vm.run("kplug loaded") and "fail_init" not in vm.run("cat /var/kplug/state.json"),
          "and it is not in kplugd's ledger")
    check(status(vm)["counters"]["loads_failed"] == 1, "kplug status counts one failed load")

    # A module file that is missing, and one that is corrupt.
    hello = vm.run("modinfo -n usb_hello").strip()
    vm.run(f"mv {hello} /tmp/usb_hello.ko")
    vm.plug("usb-ccid", "c1")
    line = vm.wait_until(lambda: next((l for l in kplugd_log(vm).splitlines() if "failed to load usb_hello" in l),
                                      None), "the missing file's failure", timeout=60)
    check("(ENOENT)" in line, f"a missing module file: {line[13:]}")
    slow = vm.run("modinfo -n slow_init").strip()
    vm.run(f"printf 'this is not an ELF file' > {slow}")
    vm.plug("usb-net", "net1")
    line = vm.wait_until(lambda: next((l for l in kplugd_log(vm).splitlines() if "failed to load slow_init" in l),
                                      None), "the corrupt file's failure", timeout=60)
    check(re.search(r"\(E[A-Z]+\)", line), f"a corrupt module file: {line[13:]}")
    check(vm.run("pidof kplugd").strip(), "kplugd keeps running through all of them")

    # A full disk when the ledger is saved: it stays in memory, and is saved once there is room.
    vm.run("dd if=/dev/zero of=/var/kplug/fill bs=1k count=128 2>/dev/null; true")
    vm.plug("usb-kbd", "kbd1")
    vm.wait_until(lambda: "usbhid" in vm.loaded_modules(), "usbhid for the keyboard", timeout=60)
    line = vm.wait_until(lambda: next((l for l in kplugd_log(vm).splitlines() if "stays in memory only" in l), None),
                         "the failed save", timeout=20)
    check("No space left on device" in line, f"a full disk: {line[13:]}")
    check("usbhid" in vm.run("kplug loaded") and "usbhid" not in vm.run("cat /var/kplug/state.json"),
          "kplugd still knows it loaded usbhid; the file on disk is the last whole one")
    vm.run("rm /var/kplug/fill")
    vm.plug("usb-mouse", "m1")  # usbhid gains a device: the ledger changes, and is saved
    vm.wait_until(lambda: "usbhid" in vm.run("cat /var/kplug/state.json"), "the ledger to be saved", timeout=30)
    saved = json.loads(vm.run("cat /var/kplug/state.json"))
    check(not vm.run("ls /var/kplug/*.tmp 2>/dev/null; true").strip(),
          f"with room again the next change is saved (valid JSON, {len(json.dumps(saved))} bytes, no temporary file)")


def scenario_kill_burst(vm):
    """kill -9 in the middle of a burst of plugs, then a restart: every present device ends
    with its module loaded."""
    vm.run("mkdir -p /etc/modprobe.d && echo 'options slow_init seconds=4' > /etc/modprobe.d/slow.conf")
    start_kplugd(vm)
    for driver, dev_id in [("usb-net", "net1"), ("usb-kbd", "kbd1"), ("usb-ccid", "c1"), ("usb-mouse", "m1"),
                           ("usb-tablet", "t1")]:
        vm.plug(driver, dev_id)
    vm.wait_until(lambda: "slow_init: init starts" in vm.dmesg(), "slow_init's init to start", timeout=60)
    vm.run("kill -9 $(pidof kplugd)")
    missing = {"slow_init", "usbhid", "usb_hello"} - {m for m in vm.loaded_modules()
                                                      if "Live" in vm.run(f"cat /sys/module/{m}/initstate 2>/dev/null; true")}
    ok(f"killed kplugd with loads in flight (not live yet: {sorted(missing) or 'none'})")
    vm.run("while pidof kplugd >/dev/null; do sleep 0.2; done", timeout=60)
    json.loads(vm.run("cat /run/kplug/state.json 2>/dev/null || echo '{}'"))
    ok("the ledger on disk is whole JSON after kill -9")
    start_kplugd(vm)
    vm.wait_until(lambda: "slow_init: init done" in vm.dmesg(), "slow_init's init to end", timeout=60)
    vm.run("kplug settle --timeout 60", timeout=90)
    want = set()
    for key in present_modaliases(vm):
        want |= host_modprobe_r(vm, key)
    want -= builtin(vm)
    loaded = vm.loaded_modules()
    check({"slow_init", "usbhid", "usb_hello"} <= want, "the plugged devices need slow_init, usbhid and usb_hello")
    if not want <= loaded:
        raise VMError(f"present devices without their module after the restart: {sorted(want - loaded)}")
    ok(f"after the restart every present device has its module ({len(want)} modules)")


def scenario_restart(vm):
    start_kplugd(vm)
    vm.plug("usb-ccid", "c1")
    vm.wait_until(lambda: "usb_hello" in vm.loaded_modules(), "usb_hello to load", timeout=60)
    vm.run("kplug settle --timeout 30")
    vm.run("kill -9 $(pidof kplugd); sleep 0.5")
    state = vm.run("cat /run/kplug/state.json")
    check('"usb_hello"' in state, "the ledger on disk names usb_hello after kill -9")
    start_kplugd(vm)  # over the stale control socket
    check("restored the ledger" in kplugd_log(vm), "the new kplugd restored the ledger")
    loaded = vm.run("kplug loaded")
    check("usb_hello" in loaded, f"kplug loaded lists usb_hello again:\n{loaded.strip()}")
    vm.unplug("c1")
    vm.wait_until(lambda: "usb_hello" not in vm.loaded_modules(), "usb_hello to be unloaded after the restart",
                  timeout=30)
    ok("unplugging after a kill -9 and restart still unloads usb_hello")


def scenario_slow(vm):
    start_kplugd(vm)
    vm.plug("usb-net", "net1")  # kmods/slow_init: its init sleeps 20 s
    vm.wait_until(lambda: "slow_init: init starts" in vm.dmesg(), "slow_init's init to start", timeout=60)
    started = time.monotonic()
    vm.plug("usb-kbd", "kbd1")
    vm.wait_until(lambda: "usbhid" in vm.loaded_modules(), "usbhid while slow_init is in its init", timeout=15)
    took = time.monotonic() - started
    modules = vm.run("cat /proc/modules")
    check("slow_init" in modules and "Loading" in [l for l in modules.splitlines() if l.startswith("slow_init")][0],
          f"usbhid loaded {took:.1f} s after the keyboard, while slow_init was still in its init")
    status = vm.wait_until(lambda: next((s for s in [json.loads(vm.run("kplug status --json"))] if s["slow_loads"]), None),
                           "kplug status to show the slow load", timeout=20)
    check(status["slow_loads"][0]["module"] == "slow_init", f"kplug status shows the slow load: {status['slow_loads']}")
    check("loading slow_init for" in kplugd_log(vm) and "is slow" in kplugd_log(vm), "kplugd logged the slow load")
    vm.wait_until(lambda: "slow_init: init done" in vm.dmesg(), "slow_init's init to end", timeout=40)
    vm.run("kplug settle --timeout 30")
    check("slow_init" in vm.loaded_modules(), "slow_init is loaded in the end")


def scenario_modverbs(vm):
    """kplug lsmod/modinfo/insmod/rmmod against the kernel: what they list equals
    /proc/modules, the kplugd column follows the ledger (also from the state file once
    kplugd has stopped), and each refusal names its cause."""
    def kplug(command):
        out = vm.run(f"{command}; echo \"rc=$?\"", check=False)
        body, _, rc = out.rstrip().rpartition("rc=")
        return int(rc), body

    start_kplugd(vm)
    vm.plug("usb-kbd", "kbd1")
    vm.wait_until(lambda: "usbhid" in vm.loaded_modules(), "usbhid to load", timeout=60)
    vm.run("kplug settle --timeout 30")
    rc, out = kplug("kplug lsmod --json")
    listed = {m["module"]: m for m in json.loads(out)}
    proc = {line.split()[0]: line.split() for line in vm.run("cat /proc/modules").splitlines()}
    check(rc == 0 and set(listed) == set(proc), f"kplug lsmod lists exactly /proc/modules ({len(proc)} modules)")
    check(all(listed[m]["size"] == int(proc[m][1]) and listed[m]["refcount"] == int(proc[m][2]) for m in proc),
          "sizes and refcounts equal /proc/modules")
    check(sorted(listed["hid"]["used_by"]) == sorted(vm.run("ls /sys/module/hid/holders").split()),
          f"hid's users equal /sys/module/hid/holders ({listed['hid']['used_by']})")
    kbd = listed["usbhid"]["kplugd"]
    check(kbd.startswith("/devices/") and "/usb1/1-1/" in kbd, f"the kplugd column names the keyboard for usbhid: {kbd}")
    check(listed["hid"]["kplugd"] == "as a dependency of usbhid", "and says hid came in as usbhid's dependency")
    check(listed["usbcore"]["kplugd"] == "as a dependency of xhci_pci", "usbcore came with xhci_pci at coldplug")

    rc, out = kplug("kplug modinfo usbhid")
    check(rc == 0 and f"  {kbd}  usb:v0627p0001" in out and "(driver: usbhid)" in out,
          "kplug modinfo usbhid lists the plugged keyboard, bound to usbhid")

    rc, out = kplug("kplug rmmod hid")
    holders = " ".join(sorted(vm.run("ls /sys/module/hid/holders").split()))
    check(rc == 3 and "hid is in use by" in out and all(h in out for h in holders.split()),
          f"kplug rmmod hid is refused, naming its holders ({holders})")
    builtin = vm.run("for d in /sys/module/*; do [ -e $d/initstate ] || { basename $d; break; }; done").strip()
    rc, out = kplug(f"kplug rmmod {builtin}")
    check(rc == 3 and "built into the kernel" in out, f"kplug rmmod {builtin} (builtin): {out.strip()}")
    rc, out = kplug("kplug rmmod no_such_module")
    check(rc == 3 and "no_such_module is not loaded" in out, "kplug rmmod of an unknown module says it is not loaded")
    rc, out = kplug("kplug modinfo no_such_module")
    check(rc == 3 and "no module named or aliased 'no_such_module'" in out, "kplug modinfo of an unknown module")
    rc, out = kplug("kplug insmod /root/no_such.ko")
    check(rc == 3 and "no such module file" in out, "kplug insmod of a missing file")

    hello = "/root/kmods/insmod/hello.ko"
    rc, out = kplug(f"su -s /bin/sh nobody -c 'kplug insmod {hello}'")
    check(rc == 3 and "needs root (CAP_SYS_MODULE)" in out and "hello" not in vm.loaded_modules(),
          "kplug insmod as a user: refused, 'needs root (CAP_SYS_MODULE)'")
    rc, out = kplug(f"kplug insmod {hello} count=4 bogus=1")
    check(rc == 0 and "no parameter 'bogus'" in out and vm.run("cat /sys/module/hello/parameters/count").strip() == "4",
          "kplug insmod with a parameter hello does not declare: warned, loaded with the others")
    rc, out = kplug(f"kplug insmod {hello}")
    check(rc == 3 and "hello is already loaded" in out, "kplug insmod of a loaded module says so")
    rc, out = kplug("su -s /bin/sh nobody -c 'kplug rmmod hello'")
    check(rc == 3 and "needs root" in out and "hello" in vm.loaded_modules(), "kplug rmmod as a user: refused")
    rc, out = kplug("kplug rmmod hello")
    check(rc == 0 and "hello" not in vm.loaded_modules(), "kplug rmmod hello as root removes it")

    vm.run("kill $(pidof kplugd); sleep 1")
    rc, out = kplug("kplug lsmod")
    line = next((l for l in out.splitlines() if l.startswith("usbhid ")), "")
    check(rc == 0 and kbd in line, "with kplugd stopped, kplug lsmod still says (from its state file) "
          "that it loaded usbhid for the keyboard")


def scenario_installed(vm):
    """The installed layout with no flags at all, as the systemd unit starts it."""
    for path in ("/usr/sbin/kplugd", "/usr/bin/kplug", "/etc/kplug/config.yaml",
                 "/usr/lib/kplug/rules.d/00-autoload.yaml", "/usr/lib/systemd/system/kplugd.service"):
        vm.run(f"test -e {path}")
    ok("the VM holds kplug as installed: /usr/sbin/kplugd, /etc/kplug/config.yaml, /usr/lib/kplug/rules.d, the unit")
    vm.run("kplugd > /tmp/kplugd.log 2>&1 < /dev/null &")
    vm.wait_until(lambda: "coldplug complete" in kplugd_log(vm), "kplugd's coldplug to complete", timeout=120)
    start = next(l for l in kplugd_log(vm).splitlines() if "starting:" in l)
    check("config /etc/kplug/config.yaml;" in start and "modules from /lib/modules/" in start,
          f"kplugd with no flags reads /etc/kplug/config.yaml and the running kernel's modules: {start[13:110]}...")
    check("xhci_pci" in vm.loaded_modules(), "coldplug loaded xhci_pci")
    vm.plug("usb-ccid", "c1")
    vm.wait_until(lambda: "usb_hello" in vm.loaded_modules(), "usb_hello to load", timeout=60)
    check("rule 'usb-hello-demo'" in kplugd_log(vm),
          "the demo rule, copied from /usr/share/doc/kplug/examples into /etc/kplug/rules.d, applied")
    status = vm.run("kplug status")
    check("loads" in status or "loaded" in status, "kplug status reaches kplugd on the default socket /run/kplug/control.sock")
    vm.run("test -s /run/kplug/state.json")
    ok("the ledger is kept in /run/kplug/state.json (the unit's RuntimeDirectory)")
    vm.unplug("c1")
    vm.wait_until(lambda: "usb_hello" not in vm.loaded_modules(), "usb_hello to be unloaded", timeout=30)
    ok("unplugging unloads usb_hello after the shipped rule's 3 s grace")
    vm.run("kill -HUP $(pidof kplugd)")
    vm.wait_until(lambda: "reloaded:" in kplugd_log(vm), "the reload on SIGHUP (ExecReload)", timeout=20)
    ok("SIGHUP, what ExecReload sends, reloads the config and rules")


def scenario_index(vm):
    """DKMS-style: a module installed and indexed (depmod) while kplugd runs is found at
    the next plug; a modprobe.d blacklist added while it runs applies at the next plug."""
    ko = vm.run(f"ls /lib/modules/{vm.version}/extra/usb_hello.ko").strip()
    vm.run(f"mkdir -p /root/aside && mv {ko} /root/aside/ && depmod")
    start_kplugd(vm)
    vm.plug("usb-ccid", "c1")
    vm.wait_until(lambda: "usb:v08E6p4433" in kplugd_log(vm) and "no module matches" in kplugd_log(vm),
                  "kplugd's no-module line for the reader", timeout=60)
    check("usb_hello" not in vm.loaded_modules(), "without usb_hello in the index, the reader gets no module")
    vm.unplug("c1")
    # What DKMS does: the module goes into updates/, then depmod.
    vm.run(f"mkdir -p /lib/modules/{vm.version}/updates && cp /root/kmods/usb_hello/usb_hello.ko "
           f"/lib/modules/{vm.version}/updates/ && depmod")
    indexed = time.monotonic()
    vm.plug("usb-ccid", "c1")
    vm.wait_until(lambda: "usb_hello" in vm.loaded_modules(), "usb_hello to load after depmod", timeout=60)
    print(f"measured: depmod to usb_hello loaded on the next plug: {time.monotonic() - indexed:.1f} s "
          f"(plug and USB enumeration included)")
    log = kplugd_log(vm)
    check("module index or modprobe.d configuration" in log and "changed" in log,
          "kplugd noticed the new index and said so")
    ok("a module installed with depmod while kplugd runs loads at the next plug, no restart")
    vm.unplug("c1")
    vm.wait_until(lambda: "usb_hello" not in vm.loaded_modules(), "usb_hello to be unloaded", timeout=30)
    vm.run("mkdir -p /etc/modprobe.d && echo 'blacklist usb_hello' > /etc/modprobe.d/kplug-test.conf")
    vm.plug("usb-ccid", "c1")
    line = vm.wait_until(lambda: next((l for l in kplugd_log(vm).splitlines()
                                       if "usb_hello is blacklisted in modprobe.d" in l), None),
                         "the blacklisted line", timeout=60)
    time.sleep(2)
    check("usb_hello" not in vm.loaded_modules(), f"a blacklist added while kplugd runs applies at the next plug: {line}")


def scenario_doctor(vm):
    """kplug doctor names the reason of each device that lacks a driver: a module
    blacklisted in modprobe.d (usb-kbd: usbhid), a module whose file went after depmod
    (usb-storage: usb_storage), an init that fails (usb-serial: kmods/fail_init), a device
    no module of the VM matches (usb-mtp: MTP is done in user space); and the card reader is driven by usb_hello,
    loaded by kplugd for it. Text and JSON, exit 1; once the blacklist goes and the
    keyboard is announced again, it is no longer listed. First, with nothing broken, the
    VM is healthy: exit 0 and nothing NOT DRIVEN (ACPI nodes driven through their
    physical node, acpi_cpufreq's ENODEV on a virtual CPU not a problem)."""
    start_kplugd(vm)
    vm.run("kplug settle --timeout 60")
    out = vm.run("kplug doctor --json > /tmp/healthy.json; echo exit=$?", check=False)
    healthy = json.loads(vm.run("cat /tmp/healthy.json"))
    flagged = [f"{d['devpath']}: {d['reason']}" for d in healthy["devices"] if d["verdict"] in ("not_driven", "unknown")]
    print(f"healthy VM: doctor summary {healthy['summary']}")
    check(out.strip() == "exit=0" and not flagged,
          f"a healthy VM: kplug doctor exits 0 with nothing not driven or unknown ({out.strip()}): {flagged}")
    text = vm.run("kplug doctor", check=False)
    check("NOT DRIVEN" not in text and "CANNOT TELL" not in text, "and its text report has no NOT DRIVEN section")
    vm.run("mkdir -p /etc/modprobe.d && echo 'blacklist usbhid' > /etc/modprobe.d/kplug-doctor.conf")
    storage = vm.run(f"modinfo -n usb_storage").strip()
    vm.run(f"mkdir -p /root/aside && mv {storage} /root/aside/")
    for driver, dev_id in (("usb-ccid", "c1"), ("usb-kbd", "k1"), ("usb-storage", "s1"),
                           ("usb-serial", "u1"), ("usb-mtp", "m1")):
        props = {}
        if driver == "usb-storage":
            vm.qmp("blockdev-add", driver="null-co", **{"node-name": "stick"}, size=16 << 20)
            props = {"drive": "stick"}
        if driver == "usb-mtp":
            props = {"rootdir": "/tmp", "readonly": True}
        if driver == "usb-serial":
            vm.qmp("chardev-add", id="ser0", backend={"type": "ringbuf", "data": {"size": 4096}})
            props = {"chardev": "ser0"}
        vm.plug(driver, dev_id, **props)
    vm.wait_until(lambda: "usb_hello" in vm.loaded_modules(), "usb_hello to load", timeout=60)
    vm.wait_until(lambda: "fail_init" in kplugd_log(vm) and "usb_storage" in kplugd_log(vm),
                  "kplugd's lines for fail_init and usb_storage", timeout=60)
    vm.run("kplug settle --timeout 60")
    out = vm.run("kplug doctor --json > /tmp/doctor.json 2>/tmp/doctor.err; echo exit=$?; cat /tmp/doctor.err",
                 check=False)
    check(out.strip() == "exit=1", f"kplug doctor exits 1 with devices not driven, nothing on stderr ({out.strip()})")
    report = json.loads(vm.run("cat /tmp/doctor.json"))
    unbound = [d["devpath"] for d in report["devices"] if d["reason"] == "not_bound"]
    check(not unbound, f"no device is wrongly 'loaded but not bound' (input devices bind no driver): {unbound}")
    hubs = [d["text"] for d in report["devices"] if d["driver"] == "hub"]
    check(hubs and all("loaded by kplugd as a dependency of xhci_pci" in t for t in hubs),
          f"usbcore's hubs: kplugd loaded usbcore for xhci_pci: {hubs}")
    by_alias = {}
    for d in report["devices"]:
        if d.get("modalias"):
            by_alias.setdefault(d["modalias"][:14], d)
    want = {"usb:v08E6p4433": ("driven", "kplugd_this"), "usb:v0627p0001": ("not_driven", "blacklisted"),
            "usb:v46F4p0001": ("not_driven", "file_missing"), "usb:v0403p6001": ("not_driven", "load_failed"),
            "usb:v46F4p0004": ("no_module", "no_module")}
    for alias, (verdict, reason) in want.items():
        d = by_alias.get(alias)
        check(d is not None and d["verdict"] == verdict and d["reason"] == reason,
              f"{alias}: {verdict}/{reason}: " + (f"{d['reason']}: {d['text']}" if d else "not listed"))
    kbd = by_alias["usb:v0627p0001"]
    check("/etc/modprobe.d/kplug-doctor.conf:1" in kbd["text"], f"the blacklist's file and line: {kbd['text']}")
    serial = by_alias["usb:v0403p6001"]
    check("errno 19" in serial["text"] and any("fail_init" in l for l in serial["details"]),
          f"the failed init: errno and the kernel's line: {serial['text']} {serial['details'][-1:]}")
    text = vm.run("kplug doctor; echo exit=$?", check=False)
    print(text)
    # README.md shows this report: each line it shows (but `...`) is in the real one.
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    shown = readme.split("$ kplug doctor\n", 1)[1].split("```", 1)[0].splitlines()
    stamp = re.compile(r"last at [0-9-]+ [0-9:]+ UTC")
    real = {stamp.sub("last at T", line) for line in text.splitlines()}
    missing = [line for line in shown if line.strip() not in ("", "...") and stamp.sub("last at T", line) not in real]
    check(not missing, f"README.md's doctor report is real output: {missing}")
    check("NOT DRIVEN" in text and "kplug-doctor.conf:1" in text and "depmod" in text and "exit=1" in text,
          "the text report says the same, with what to do")
    # Fix one cause: the blacklist goes, the keyboard is replugged, usbhid loads.
    vm.run("rm /etc/modprobe.d/kplug-doctor.conf")
    vm.unplug("k1")
    vm.plug("usb-kbd", "k2")
    vm.wait_until(lambda: "usbhid" in vm.loaded_modules(), "usbhid to load once the blacklist is gone", timeout=60)
    vm.run("kplug settle --timeout 60")
    report = json.loads(vm.run("kplug doctor --json 2>/dev/null", check=False))
    kbd = [d for d in report["devices"] if str(d.get("modalias", "")).startswith("usb:v0627p0001")]
    check(kbd and all(d["verdict"] == "driven" for d in kbd), "after the fix the keyboard is driven, no longer listed")
    text = vm.run("kplug doctor 2>&1", check=False)
    not_driven = text.split("NOT DRIVEN")[1].split("\n\n")[0] if "NOT DRIVEN" in text else ""
    check("blacklisted" not in not_driven and "usb_storage" in not_driven,
          "the text report no longer lists the blacklist; the missing file is still there")
    vm.run(f"mv /root/aside/{os.path.basename(storage)} {storage}")


def interface_adds(lines):
    """The indexes of the lines that are the usb-net interface's add (slow_init's MODALIAS)."""
    out = []
    for i, line in enumerate(lines):
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        if event["action"] == "add" and event["properties"].get("MODALIAS", "").upper().startswith("USB:V0525PA4A2"):
            out.append(i)
    return out


def scenario_rebroadcast(vm):
    """kplugd --rebroadcast-groups 4 sends each handled kernel event to netlink group mask
    4, where libudev-zero listens: a listener there (kplug monitor --group 4) gets the
    usb-net interface's add only once slow_init, whose init sleeps 20 s, is Live in
    /proc/modules; a datagram forged onto the kernel's group is rejected by kplugd and
    never rebroadcast."""
    start_kplugd(vm, "--rebroadcast-groups", "4")
    # For each line heard on group 4: the line, then slow_init's line of /proc/modules.
    vm.run("(kplug monitor --group 4 --json | while read -r line; do echo \"$line\"; "
           "grep '^slow_init ' /proc/modules | sed 's/^/MODULES /'; echo END; done > /tmp/group4.log 2>&1 &)")
    time.sleep(1)
    vm.plug("usb-net", "net1")
    vm.wait_until(lambda: "slow_init: init starts" in vm.dmesg(), "slow_init's init to start", timeout=60)
    time.sleep(3)
    heard = vm.run("cat /tmp/group4.log", check=False).splitlines()
    check(not interface_adds(heard), f"while slow_init is in its init, group 4 has not heard the interface's add "
                                     f"({len(heard)} lines heard)")
    vm.run(f"forge_uevent multicast /devices/forged/evil0 {CCID_MODALIAS}")
    vm.wait_until(lambda: "slow_init: init done" in vm.dmesg(), "slow_init's init to end", timeout=60)
    vm.run("kplug settle --timeout 30")
    vm.wait_until(lambda: "slow_init" in vm.run("cat /tmp/group4.log", check=False),
                  "group 4 to hear the interface's add", timeout=30)
    lines = vm.run("cat /tmp/group4.log").splitlines()
    adds = interface_adds(lines)
    check(adds, f"group 4 heard the usb-net interface's add ({len(lines)} lines heard)")
    after = lines[adds[0] + 1] if adds and adds[0] + 1 < len(lines) else ""
    check(after.startswith("MODULES slow_init") and " Live " in after,
          f"when it was heard, slow_init was Live: {after!r}")
    check("/devices/forged/evil0" not in "\n".join(lines) and "forged" not in "\n".join(lines),
          "the forged datagram was never rebroadcast")
    check(any('"source":"kernel"' in l for l in lines) and not any('"source":"coldplug"' in l for l in lines),
          "only kernel events are rebroadcast, not kplugd's coldplug")


def scenario_replay(vm):
    """A recorded stream replays as it ran: in the VM, `kplug monitor --record` listens
    while kplugd (one loader thread, so the order of a replay is the order here) handles
    the devices the kernel re-announces (kplug trigger), then a card reader and a keyboard
    plugged and unplugged, with the unloads after their grace; on the host, `kplug replay`
    of that file against the VM's own module tree, rules and grace must make exactly
    kplugd's loads (with the dependencies each pulled in) and its unloads, these in the
    same order (kplugd's events stream, recorded in the VM)."""
    vm.run("(kplug monitor --json --record /tmp/vm.events > /dev/null 2> /tmp/record.err &)")
    time.sleep(1)
    vm.run(f"kplugd --no-coldplug --loader-threads 1 --unload-grace {GRACE} > /tmp/kplugd.log 2>&1 < /dev/null &")
    vm.wait_until(lambda: vm.run("kplug status > /dev/null 2>&1; echo $?", check=False).strip() == "0",
                  "kplugd to answer", timeout=60)
    vm.run("(kplug monitor --decisions --json > /tmp/kplugd.stream 2>&1 &)")
    time.sleep(1)
    vm.run("kplug trigger --settle --timeout 120")
    vm.plug("usb-ccid", "c1")
    vm.plug("usb-kbd", "k1")
    vm.wait_until(lambda: {"usb_hello", "usbhid"} <= vm.loaded_modules(), "usb_hello and usbhid", timeout=60)
    vm.run("kplug settle --timeout 60")
    # One at a time: the replay's clock is the recording's receive times, kplugd's is its own
    # handling, tens of ms later under TCG; two unloads due within that of each other
    # could swap places (see docs/record-format.md).
    vm.unplug("c1")
    vm.wait_until(lambda: "usb_hello" not in vm.loaded_modules(), "usb_hello's unload", timeout=60)
    vm.unplug("k1")
    vm.wait_until(lambda: "usbhid" not in vm.loaded_modules(), "usbhid's unload", timeout=60)
    vm.run("kplug settle --timeout 60")
    time.sleep(2)
    vm.run("pkill -INT -f 'kplug monitor --json --record' ; sleep 1; pkill -f 'kplug monitor --decisions'; true",
           check=False)
    recording = vm.run("cat /tmp/vm.events")
    stream = [json.loads(l) for l in vm.run("cat /tmp/kplugd.stream").splitlines() if l.startswith("{")]
    work = os.path.join(vm.build, "replay")
    os.makedirs(work, exist_ok=True)
    events = os.path.join(work, "vm.events")
    with open(events, "w") as f:
        f.write(recording if recording.endswith("\n") else recording + "\n")
    config = os.path.join(work, "config.yaml")
    with open(config, "w") as f:
        f.write(f"unload:\n  grace: {GRACE}\n")
    kplug = os.path.join(vm.bin, "kplug")
    tree = os.path.join(vm.stage, "lib", "modules", vm.version)
    started = time.monotonic()
    r = subprocess.run([kplug, "replay", events, "--json", "--config", config, "--modules-dir", tree,
                        "--modprobe-config", "/nonexistent",
                        "--rules", os.path.join(vm.stage, "usr", "lib", "kplug", "rules.d"),
                        "--rules", os.path.join(vm.stage, "etc", "kplug", "rules.d")],
                       capture_output=True, text=True, timeout=300)
    took = time.monotonic() - started
    check(r.returncode == 0, f"kplug replay runs on the host ({took:.1f} s): {r.stderr.strip()[-300:]}")
    replayed = [json.loads(l) for l in r.stdout.splitlines()]

    def done(messages):
        """What was inserted and removed, in order: each load's module and what it pulled in,
        each unload's module and the dependencies that went with it. A load that shared one
        in flight for another device (kplugd coalesces them; a replay's loads never overlap)
        reports `loaded` again: it inserted nothing, so it counts as already loaded."""
        out, live = [], set()
        for m in messages:
            if m["type"] == "loads":
                for o in m["outcomes"]:
                    status, pulled = o["status"], tuple(o.get("pulled_in", []))
                    if status == "loaded" and o["module"] in live:
                        status, pulled = "already_loaded", ()
                    if status == "loaded":
                        live |= {o["module"], *pulled}
                    if status in ("loaded", "already_loaded", "failed"):
                        out.append(("load", o["module"], status, pulled))
            elif m["type"] == "unload":
                removed = tuple(m.get("removed_dependencies", []))
                if m["status"] == "unloaded":
                    live -= {m["module"], *removed}
                out.append(("unload", m["module"], m["status"], removed))
        return out
    vm_done, replay_done = done(stream), done(replayed)
    print(f"kplugd in the VM: {len(vm_done)} loads and unloads; replay: {len(replay_done)}", flush=True)
    # Loads: the same steps (module, outcome, dependencies pulled in). Their order within
    # a burst follows how long each load took in the VM, which a recording cannot know.
    vm_loads = sorted(d for d in vm_done if d[0] == "load")
    replay_loads = sorted(d for d in replay_done if d[0] == "load")
    for step in sorted(set(vm_loads) ^ set(replay_loads)):
        print(f"  only in {'the VM' if step in vm_loads else 'the replay'}: {step}", flush=True)
    check(vm_loads and vm_loads == replay_loads,
          f"the replay makes exactly kplugd's {len(vm_loads)} loads, with the same dependencies pulled in")
    # Unloads: the same, in the same order (grace periods on the recorded times).
    vm_unloads = [d for d in vm_done if d[0] == "unload"]
    replay_unloads = [d for d in replay_done if d[0] == "unload"]
    check(vm_unloads and vm_unloads == replay_unloads,
          f"the replay unloads what kplugd unloaded, in order: {[d[1] for d in vm_unloads]} / "
          f"{[d[1] for d in replay_unloads]}")
    summary = replayed[-1]
    check(summary["type"] == "summary" and summary["events"] == len(recording.splitlines()) - 1,
          f"every recorded event was replayed ({summary['events']}, {summary['recorded_seconds']:.1f} s recorded)")


SCENARIOS = {
    "coldplug": scenario_coldplug,
    "plug": scenario_plug,
    "unplug": scenario_unplug,
    "replug": scenario_replug,
    "keyboard": scenario_keyboard,
    "embedded": scenario_embedded,
    "forged": scenario_forged,
    "overrun": scenario_overrun,
    "faults": scenario_faults,
    "kill_burst": scenario_kill_burst,
    "restart": scenario_restart,
    "slow": scenario_slow,
    "modverbs": scenario_modverbs,
    "installed": scenario_installed,
    "index": scenario_index,
    "doctor": scenario_doctor,
    "rebroadcast": scenario_rebroadcast,
    "replay": scenario_replay,
}


def main():
    if sys.argv[1:] == ["--build-initramfs"]:
        # ctest's vm.initramfs: built once for the scenarios that follow in the same run.
        VM().start_assets()
        return
    names = sys.argv[1:] or ["all"]
    if names == ["all"]:
        names = list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        sys.exit(f"unknown scenario(s) {unknown}; choose from {sorted(SCENARIOS)} or all")
    for name in names:
        started = time.monotonic()
        print(f"== scenario {name}", flush=True)
        with VM() as vm:
            SCENARIOS[name](vm)
        print(f"== scenario {name} passed in {time.monotonic() - started:.1f} s", flush=True)


if __name__ == "__main__":
    run_main(main)
