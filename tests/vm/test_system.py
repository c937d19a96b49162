#!/usr/bin/env python3
"""kplugd on a real Debian 12 system: systemd as PID 1, Debian's udev and kernel, kplug's
.deb installed with dpkg as a user installs it (tests/vm/systemvm.py builds the image).
One VM, three boots:

  0. udevd is the only loader (kplug not installed): the baseline boot; then
     `dpkg -i kplug.deb`, whose postinst enables and starts kplugd.
  a. kplugd beside udevd's loader: kplugd.service active and ready at boot; a usb-ccid
     plug loads usb_hello, the journal has the decision with KPLUG_ACTION, MODULE,
     DEVPATH and MODALIAS; the unplug is handled as the README says; `systemctl reload`,
     `systemctl restart`, `kill -9` (systemd restarts it) with `kplug status` answering
     for root and for a user; the watchdog is pinged; the sandbox denies nothing.
     Then udevd's loader is masked as the README says.
  b. kplugd as the only loader: the boot reaches multi-user, /data (a USB disk whose
     driver is not in the initramfs, in /etc/fstab) is mounted, /proc/modules after boot
     equals case a's, a plug loads usb_hello and the unplug unloads it, both in the
     journal with their fields.

Boot figures (systemd's own monotonic timestamps) are printed as `measure:` lines.
"""
import argparse
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kplugvm import VMError, check, ok, run_main  # noqa: E402
from systemvm import SystemVM  # noqa: E402

CCID = "usb:v08E6p4433"


def monotonic_s(vm, unit, prop="ActiveEnterTimestampMonotonic"):
    v = vm.run(f"systemctl show -P {prop} {unit}").strip()
    return int(v) / 1e6 if v.isdigit() else 0.0


def boot_figures(vm, label):
    analyze = vm.run("systemd-analyze", check=False).strip().splitlines()
    multi_user = monotonic_s(vm, "multi-user.target")
    print(f"measure: {label}: {analyze[0] if analyze else '?'}", flush=True)
    figures = {"multi_user_s": multi_user}
    if vm.run("systemctl is-active kplugd", check=False).strip() == "active":
        figures["kplugd_ready_s"] = monotonic_s(vm, "kplugd.service")
        figures["sysinit_s"] = monotonic_s(vm, "sysinit.target")
        print(f"measure: {label}: kplugd ready {figures['kplugd_ready_s']:.2f} s after the kernel started, "
              f"sysinit.target {figures['sysinit_s']:.2f} s, multi-user.target {multi_user:.2f} s", flush=True)
    else:
        print(f"measure: {label}: multi-user.target {multi_user:.2f} s after the kernel started", flush=True)
    return figures


def journal(vm, *match):
    out = vm.run(f"journalctl -b -o json --no-pager {' '.join(match)}", check=False)
    entries = []
    for line in out.splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            pass
    return entries


def wait_journal(vm, what, predicate, timeout=60):
    return vm.wait_until(lambda: next((e for e in journal(vm, "-u", "kplugd") if predicate(e)), None), what,
                         timeout=timeout, interval=1)


def has_fields(entry, *names):
    return all(entry.get(n) for n in names)


def status_as(vm, user=None):
    prefix = "setpriv --reuid=tester --regid=tester --init-groups " if user else ""
    return vm.run(f"{prefix}kplug status", check=False)


def sandbox_denials(vm):
    return [e.get("MESSAGE", "") for e in journal(vm, "-u", "kplugd")
            if re.search(r"Permission denied|Operation not permitted", str(e.get("MESSAGE", "")))]


def started_once(vm, label):
    """kplugd started at boot on the first try: no failed start, no restart."""
    restarts = vm.run("systemctl show -P NRestarts kplugd").strip()
    failures = vm.run("journalctl -b --no-pager -o cat -u kplugd | grep -E 'Failed|failed at step' || true").strip()
    if restarts != "0" or failures:
        raise VMError(f"{label}: kplugd did not start cleanly at boot (NRestarts={restarts}):\n{failures}")
    ok(f"{label}: kplugd started at boot on the first try (NRestarts=0, no failed start)")


def plug_cycle(vm, label, expect_unload):
    vm.plug("usb-ccid", "c1")
    vm.wait_until(lambda: "usb_hello" in vm.loaded_modules(), "usb_hello in /proc/modules", timeout=90)
    ok(f"{label}: plugging the usb-ccid reader loads usb_hello")
    entry = wait_journal(vm, "kplugd's journal entry for the reader",
                         lambda e: e.get("MODULE") == "usb_hello" and str(e.get("MODALIAS", "")).startswith(CCID)
                         and e.get("KPLUG_ACTION") in ("load", "already_loaded"))
    check(has_fields(entry, "KPLUG_ACTION", "MODULE", "DEVPATH", "MODALIAS"),
          f"{label}: the journal entry has KPLUG_ACTION={entry.get('KPLUG_ACTION')} MODULE={entry.get('MODULE')} "
          f"DEVPATH={entry.get('DEVPATH')} MODALIAS={entry.get('MODALIAS')}")
    vm.unplug("c1")
    if expect_unload:
        vm.wait_until(lambda: "usb_hello" not in vm.loaded_modules(), "usb_hello to be unloaded", timeout=60)
        unload = wait_journal(vm, "the unload entry",
                              lambda e: e.get("MODULE") == "usb_hello" and e.get("KPLUG_ACTION") == "unload")
        check(has_fields(unload, "KPLUG_ACTION", "MODULE"),
              f"{label}: unplugging unloads usb_hello, in the journal: {unload.get('MESSAGE')}")
        explained = vm.run("journalctl -x -u kplugd --no-pager MESSAGE_ID=6f2a9984f2e048f99b414072d6483f39", check=False)
        check("Subject: kplugd unloaded module usb_hello" in explained and "grace period ended" in explained,
              f"{label}: journalctl -x explains the unload from kplug's catalog")
    return entry


def doctor_healthy(vm, label):
    """`kplug doctor --json` on the booted system with nothing broken: exit 0, nothing not
    driven, nothing unknown, the JSON summary counting exactly the device list."""
    out = vm.run("kplug doctor --json; echo \"exit=$?\"", timeout=120, check=False)
    body, _, code = out.rpartition("exit=")
    report = json.loads(body)
    summary = report["summary"]
    counted = {}
    for dev in report["devices"]:
        counted[dev["verdict"]] = counted.get(dev["verdict"], 0) + 1
    lacking = [(d["devpath"], d.get("reason")) for d in report["devices"] if d["verdict"] in ("not_driven", "unknown")]
    check(code.strip() == "0" and not lacking and all(summary.get(k, 0) == n for k, n in counted.items()),
          f"{label}: kplug doctor exits {code.strip()}, summary {json.dumps(summary)}"
          f"{'; not driven or unknown: ' + str(lacking[:4]) if lacking else ''}")
    return summary


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="write the boot figures (and the module counts) to this JSON file "
                                  "(scripts/bench: BUILD/bench/system-boot.json)")
    args = ap.parse_args()
    figures = {}
    # The fstab disk on USB: xhci_pci, usb_storage and sd_mod, none in the initramfs, the
    # last two for devices that appear only once the one before is loaded, after kplugd's READY.
    with SystemVM(data_disk="usb") as vm:
        # ---- 0: udevd alone, then the package is installed as a user installs it
        check(vm.state in ("running", "degraded"), f"the system booted with systemd: {vm.state}")
        failed = vm.run("systemctl --failed --no-legend --plain", check=False).strip()
        check(vm.state == "running", f"no unit failed on the plain system ({failed or 'none'})")
        figures["udevd"] = boot_figures(vm, "udevd alone")
        udevd_modules = vm.loaded_modules()
        check("usb_storage" in udevd_modules and "usb_storage" not in vm.initrd_modules and
              vm.run("findmnt -n -o SOURCE /data", check=False).strip(),
              "udevd loaded usb_storage (not in the initramfs) and /data is mounted")
        vm.run("dpkg -i /root/kplug.deb", timeout=120)
        check(vm.run("systemctl is-active kplugd", check=False).strip() == "active",
              "dpkg -i: the postinst enabled and started kplugd.service")
        check(vm.run("systemctl is-enabled kplugd", check=False).strip() == "enabled", "kplugd.service is enabled")
        # Debian's semantics under a running systemd: an administrator's disable survives
        # an upgrade (the same package with a higher version), enabling again works.
        vm.run("dpkg-deb -R /root/kplug.deb /tmp/up && sed -i 's/^Version: .*/Version: 99.0.0/' /tmp/up/DEBIAN/control"
               " && dpkg-deb -b /tmp/up /root/kplug-up.deb >/dev/null && rm -rf /tmp/up")
        vm.run("systemctl disable kplugd")
        vm.run("dpkg -i /root/kplug-up.deb", timeout=120)
        check(vm.run("systemctl is-enabled kplugd", check=False).strip() == "disabled" and
              "99.0.0" in vm.run("dpkg-query -W -f='${Version}' kplug"),
              "systemctl disable, then an upgrade to 99.0.0: kplugd.service stays disabled")
        vm.run("systemctl enable --now kplugd")
        # The demo modules' rule, from the examples the package ships (not a shipped rule).
        check("usb-hello-demo" not in vm.run("cat /usr/lib/kplug/rules.d/*.yaml"), "no demo rule among the shipped rules")
        vm.run("cp /usr/share/doc/kplug/examples/50-kplug-demo.yaml /etc/kplug/rules.d/ && systemctl reload kplugd")
        # The journal explains kplug's messages (the catalog, compiled by systemd's trigger).
        explained = vm.run("journalctl --list-catalog | grep -c ' kplug: '", check=False).strip()
        check(explained == "18", f"journalctl knows kplug's catalog: {explained} entries")

        # ---- a: beside udevd's loader
        vm.reboot()
        check(vm.state == "running", f"case a: the boot reached multi-user, nothing failed ({vm.state})")
        started_once(vm, "case a")
        figures["beside"] = boot_figures(vm, "case a, kplugd beside udevd's loader")
        show = vm.run("systemctl show -p ActiveState -p SubState -p Type -p After -p Requires -p Before kplugd")
        check("ActiveState=active" in show and "SubState=running" in show and "Type=notify" in show,
              "case a: kplugd.service is active and ready (Type=notify)")
        after = re.search(r"^After=(.*)$", show, re.M).group(1).split()
        requires = re.search(r"^Requires=(.*)$", show, re.M).group(1).split()
        late = [u for u in after + requires if u in ("basic.target", "local-fs.target", "sysinit.target",
                                                      "systemd-tmpfiles-setup.service") or
                (u.endswith(".mount") and u != "-.mount")]
        check(re.search(r"^Before=.*sysinit\.target", show, re.M) and not late,
              f"case a: ordered before sysinit.target; After={' '.join(after)}; Requires={' '.join(requires) or '-'}")
        check(figures["beside"]["kplugd_ready_s"] <= figures["beside"]["sysinit_s"],
              "case a: kplugd was ready before sysinit.target")
        # kplugd was READY once its boot-critical loads were done; the rest may still load.
        check(vm.run("kplug settle --timeout 120; echo $?", timeout=150).strip() == "0",
              "case a: kplug settle: the whole coldplug done")
        beside_modules = vm.loaded_modules()
        figures["doctor_beside"] = doctor_healthy(vm, "case a")
        ready = wait_journal(vm, "the coldplug line", lambda e: "coldplug complete" in str(e.get("MESSAGE", "")))
        ok(f"case a: {ready['MESSAGE'][:160]}")
        plug_cycle(vm, "case a", expect_unload=False)
        time.sleep(5)  # past the demo rule's 3 s grace
        # kplugd's unloads of usb_hello, scheduled or done (by their journal fields: a rule's
        # own message about the removal, such as the demo rule's, is no unload).
        unloads = [e for e in journal(vm, "-u", "kplugd") if str(e.get("KPLUG_ACTION", "")).startswith("unload")
                   and e.get("MODULE") == "usb_hello"]
        loaded_by = "kplugd" if any(e.get("KPLUG_ACTION") == "load" and e.get("MODULE") == "usb_hello"
                                   for e in journal(vm, "-u", "kplugd")) else "udevd"
        if loaded_by == "kplugd":
            vm.wait_until(lambda: "usb_hello" not in vm.loaded_modules(), "usb_hello to be unloaded", timeout=30)
            ok("case a: kplugd loaded usb_hello first, so it unloaded it after the unplug")
        else:
            check("usb_hello" in vm.loaded_modules() and not unloads,
                  "case a: udevd loaded usb_hello first; kplugd never unloads what it did not load")

        # reload, restart, kill -9, the watchdog, a user's `kplug status`
        vm.run("systemctl reload kplugd")
        wait_journal(vm, "the reload line", lambda e: "reloaded" in str(e.get("MESSAGE", "")).lower()
                     and "rule" in str(e.get("MESSAGE", "")))
        ok("systemctl reload: the rules were reloaded")
        vm.run("systemctl restart kplugd", timeout=60)
        check(vm.run("systemctl is-active kplugd", check=False).strip() == "active", "systemctl restart: active again")
        pid = vm.run("systemctl show -P MainPID kplugd").strip()
        vm.run(f"kill -9 {pid}")
        vm.wait_until(lambda: vm.run("systemctl show -P MainPID kplugd").strip() not in ("0", pid) and
                      vm.run("systemctl is-active kplugd", check=False).strip() == "active",
                      "systemd to restart kplugd after kill -9", timeout=30)
        restarts = vm.run("systemctl show -P NRestarts kplugd").strip()
        check(restarts == "1", f"kill -9: systemd restarted kplugd (NRestarts={restarts})")
        root_status, user_status = status_as(vm), status_as(vm, "tester")
        check("kplugd" in root_status and "events:" in root_status, "kplug status answers root after the restart")
        check("events:" in user_status, f"kplug status answers a non-root user: {user_status.splitlines()[0]}")
        usec = vm.run("systemctl show -P WatchdogUSec kplugd").strip()
        first = vm.run("systemctl show -P WatchdogTimestampMonotonic kplugd").strip()
        time.sleep(17)  # kplugd pings every half period: 15 s
        last = vm.run("systemctl show -P WatchdogTimestampMonotonic kplugd").strip()
        check(usec == "30s" and first.isdigit() and last.isdigit() and int(last) > int(first) > 0,
              f"the watchdog ({usec}) is pinged: last ping at {int(last or 0) / 1e6:.1f} s, "
              f"{(int(last or 0) - int(first or 0)) / 1e6:.1f} s after the one before")
        denials = sandbox_denials(vm)
        check(not denials, f"case a: the sandbox denied nothing ({denials[:3]})")

        # As the README says: udevd no longer loads modules.
        vm.run("ln -s /dev/null /etc/udev/rules.d/80-drivers.rules")

        # ---- b: kplugd is the only loader
        vm.reboot()
        check(vm.state == "running", f"case b: the boot reached multi-user, nothing failed ({vm.state})")
        started_once(vm, "case b")
        figures["alone"] = boot_figures(vm, "case b, kplugd the only loader")
        check(vm.run("findmnt -n -o SOURCE /data", check=False).strip() == "/dev/sda",
              "case b: /data (a USB disk, its drivers not in the initramfs) is mounted from /etc/fstab")
        timeouts = vm.run("journalctl -b --no-pager -o cat | grep -c 'timed out' || true", check=False).strip()
        check(timeouts == "0", f"case b: no job timed out ({timeouts})")
        check(vm.run("kplug settle --timeout 120; echo $?", timeout=150).strip() == "0",
              "case b: kplug settle: the whole coldplug done")
        alone_modules = vm.loaded_modules()
        figures["doctor_alone"] = doctor_healthy(vm, "case b")
        print(f"measure: modules after boot: udevd alone {len(udevd_modules)}, case a {len(beside_modules)}, "
              f"case b {len(alone_modules)}", flush=True)
        if alone_modules != beside_modules:
            raise VMError(f"case b's module set differs from case a's: lacks {sorted(beside_modules - alone_modules)}, "
                          f"has beyond it {sorted(alone_modules - beside_modules)}")
        ok(f"case b: /proc/modules after boot equals case a's ({len(alone_modules)} modules)")
        plug_cycle(vm, "case b", expect_unload=True)
        denials = sandbox_denials(vm)
        check(not denials, f"case b: the sandbox denied nothing ({denials[:3]})")
        figures["modules"] = {"udevd": len(udevd_modules), "beside": len(beside_modules), "alone": len(alone_modules)}
        print("measure: journal of case b's plug and unplug:", flush=True)
        print(vm.run("journalctl -b -u kplugd --no-pager -o short-monotonic | "
                     "grep -E 'starting|coldplug:|usb_storage|sd_mod|usb_hello|coldplug complete|Started'", check=False),
              flush=True)

    u, b = figures["udevd"]["multi_user_s"], figures["alone"]["multi_user_s"]
    print(f"measure: time to multi-user.target: udevd the only loader {u:.2f} s, kplugd the only loader {b:.2f} s "
          f"({b / u:.2f}x)", flush=True)
    print("measure: " + json.dumps(figures), flush=True)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(figures, f, indent=1)


if __name__ == "__main__":
    run_main(main)
