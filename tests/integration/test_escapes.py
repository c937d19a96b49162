#!/usr/bin/env python3
"""A recording is shared input and a device names itself: terminal escapes (ESC, BEL, a
CSI sequence, an OSC 52 clipboard write) in a recording's header and events, in a rule's
command filled from the event, and in a real uevent's values never reach stdout or
stderr raw, through `kplug test`, `kplug replay` (its summary and --against), `kplug
monitor`'s text mode, `kplug info` and `kplug doctor` (a network device whose name and alias
carry them, made in a private network namespace): each is shown escaped as \\xNN."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BIN, MODULES_DIR, Process, check, require_environment  # noqa: E402

KPLUG = os.path.join(BIN, "kplug")
HOSTILE = "\x1b]52;c;aGk=\x07\x1b[2J\x1b[31mred\x07bell"
RAW = ("\x1b", "\x07")


def clean(what, r):
    out = r.stdout + r.stderr
    check(not any(c in out for c in RAW) and "\\x1b" in out,
          f"{what}: no ESC or BEL reaches the terminal, they are shown as \\x1b and \\x07 (exit {r.returncode})")


def event(seqnum, action, t, devpath="/devices/pci0000:00/usb1/1-1/1-1:1.0"):
    props = {"ACTION": action, "DEVPATH": devpath, "SUBSYSTEM": "usb", "HID_NAME": HOSTILE,
             "MODALIAS": "usb:v0627p0001d0000dc00dsc00dp00ic03isc01ip01in00" + HOSTILE, "SEQNUM": str(seqnum)}
    return {"action": action, "devpath": devpath, "subsystem": "usb", "seqnum": seqnum, "timestamp": t,
            "source": "kernel", "properties": props}


def main():
    require_environment()
    with tempfile.TemporaryDirectory() as tmp:
        rec = os.path.join(tmp, "shared.events")
        with open(rec, "w") as f:
            f.write(json.dumps({"kplug_record": 1, "kernel": "6.1.0-57-amd64" + HOSTILE, "hostname": HOSTILE,
                                "started": 0}) + "\n")
            f.write(json.dumps(event(1, "add", 0.0)) + "\n")
            f.write(json.dumps(event(2, "remove", 0.5)) + "\n")
        rules = os.path.join(tmp, "run.yaml")
        with open(rules, "w") as f:
            f.write("- name: notify\n  match: {subsystem: usb}\n  run: [/usr/bin/logger, \"{HID_NAME}\"]\n")
        other = os.path.join(tmp, "other.yaml")
        with open(other, "w") as f:
            f.write("- name: quiet\n  match: {subsystem: usb}\n  ignore: true\n")

        r = subprocess.run([KPLUG, "test", "--rules", rules, "--modules-dir", MODULES_DIR, "--event", rec],
                           capture_output=True, text=True)
        clean("kplug test (the properties, the MODALIAS, the command's argv)", r)
        r = subprocess.run([KPLUG, "replay", rec, "--rules", rules, "--modules-dir", MODULES_DIR],
                           capture_output=True, text=True)
        clean("kplug replay (the header's kernel, the decisions, the summary's commands)", r)
        r = subprocess.run([KPLUG, "replay", rec, "--rules", rules, "--against", other, "--modules-dir", MODULES_DIR],
                           capture_output=True, text=True)
        check(r.returncode == 1, "replay --against finds the events whose outcome differs")
        clean("kplug replay --against (the event lines, both outcomes)", r)

        # A DEVPATH with control bytes is refused; the message that says so is escaped too.
        bad = os.path.join(tmp, "bad.events")
        with open(bad, "w") as f:
            f.write(json.dumps(event(1, "add", 0.0, devpath="/devices/x" + HOSTILE)) + "\n")
        for verb in (["test", "--event", bad], ["replay", bad]):
            r = subprocess.run([KPLUG, *verb, "--rules", rules, "--modules-dir", MODULES_DIR],
                               capture_output=True, text=True)
            check(r.returncode != 0 and "is not a path under /sys" in r.stderr, f"kplug {verb[0]} refuses it")
            clean(f"kplug {verb[0]}'s refusal", r)

        # A datagram whose values carry escapes, as a loader rebroadcasts what a device set:
        # monitor --group 4 takes root's datagrams on that group (forge_uevent is root here).
        forge = os.path.join(BIN, "tests", "forge_uevent")
        m = Process([KPLUG, "monitor", "--group", "4", "--count", "1"])

        def send():
            subprocess.run([forge, "groups:4", "/devices/virtual/misc/escapes", HOSTILE, "misc"], check=True,
                           capture_output=True)

        m.wait_for(lambda l: l.startswith("MODALIAS="), what="the datagram on group 4", poke=send)
        m.proc.wait(timeout=10)
        m.stop()
        out = "\n".join(m.output())
        check(not any(c in out for c in RAW) and "MODALIAS=\\x1b]52;c;aGk=\\x07" in out,
              "kplug monitor's text mode shows a value a device set escaped")

        devices_with_escapes()


# In a private network and mount namespace with its own /sys: a bridge named with escapes
# (the kernel allows any byte but '/', ':' and white space in an interface name) and one
# whose alias (a sysfs attribute any CAP_NET_ADMIN holder sets) carries them.
NAMESPACE_SCRIPT = r"""
set -e
mount -t sysfs sysfs /sys
ip link add name "$HOSTILE_NAME" type bridge
ip link add name kplugesc0 type bridge
ip link set dev kplugesc0 alias "$HOSTILE"
for args in "info /sys/class/net/$HOSTILE_NAME" "info --attribute-walk /sys/class/net/kplugesc0" \
            "doctor --modules-dir $MODULES_DIR /sys/class/net/$HOSTILE_NAME" \
            "doctor --modules-dir $MODULES_DIR /sys/class/net/kplugesc0" "doctor --modules-dir $MODULES_DIR"; do
  echo "=== kplug $args"
  "$KPLUG" $args 2>&1 || echo "exit $?"
done
"""


def devices_with_escapes():
    env = dict(os.environ, HOSTILE=HOSTILE, HOSTILE_NAME="\x1b]52;c;aGk=\x07", KPLUG=KPLUG, MODULES_DIR=MODULES_DIR)
    r = subprocess.run(["unshare", "--net", "--mount", "sh", "-c", NAMESPACE_SCRIPT], env=env,
                       capture_output=True, text=True, timeout=120)
    out = r.stdout + r.stderr
    check("=== kplug doctor --modules-dir" in out and "kplugesc0" in out,
          f"kplug info and doctor ran on the namespace's devices (exit {r.returncode})")
    for part in out.split("=== ")[1:]:
        what = part.split("\n", 1)[0].replace(HOSTILE, "HOSTILE").replace("\x1b]52;c;aGk=\x07", "NAME")
        body = part.split("\n", 1)[1] if "\n" in part else ""
        check(not any(c in body for c in RAW), f"{what}: no ESC or BEL reaches the terminal")


if __name__ == "__main__":
    main()
