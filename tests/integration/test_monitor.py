#!/usr/bin/env python3
"""`kplug monitor` sees the kernel event that `echo change > /sys/class/net/lo/uevent`
emits, as JSON lines and as text blocks, and filters by subsystem."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BIN, Process, check, require_environment  # noqa: E402


def poke_lo():
    with open("/sys/class/net/lo/uevent", "w") as f:
        f.write("change")


def main():
    require_environment()
    kplug = os.path.join(BIN, "kplug")

    m = Process([kplug, "monitor", "--json", "--subsystem", "net", "--count", "1"])
    line = m.wait_for(lambda l: l.startswith("{"), what="a JSON event", poke=poke_lo)
    check(m.proc.wait(timeout=10) == 0, "--count 1 exits 0 after one event")
    m.stop()
    ev = json.loads(line)
    check(ev["action"] == "change", "action is change")
    check(ev["devpath"] == "/devices/virtual/net/lo", "devpath is lo's")
    check(ev["subsystem"] == "net", "subsystem is net")
    check(isinstance(ev["seqnum"], int) and ev["seqnum"] > 0, "seqnum is a number")
    props = ev["properties"]
    check(props.get("INTERFACE") == "lo" and props.get("ACTION") == "change", "all properties are there")
    check(props.get("SEQNUM") == str(ev["seqnum"]), "SEQNUM property matches")
    check(list(props)[0] == "ACTION", "properties keep the kernel's order")
    check(all(not l.startswith("{") or json.loads(l) for l in m.output()), "every output line is JSON")

    t = Process([kplug, "monitor", "--subsystem", "net", "--count", "1"])
    t.wait_for(lambda l: l == "INTERFACE=lo", what="a text block", poke=poke_lo)
    t.proc.wait(timeout=10)
    t.stop()
    out = t.output()
    header = [l for l in out if l.startswith("KERNEL[")]
    check(len(header) == 1 and "change" in header[0] and header[0].endswith("/devices/virtual/net/lo (net)"),
          "the text block starts with KERNEL[time] ACTION DEVPATH (SUBSYSTEM)")
    check("ACTION=change" in out and "SUBSYSTEM=net" in out, "the text block lists the properties")

    # A filter for another subsystem shows nothing for lo.
    f = Process([kplug, "monitor", "--json", "--subsystem", "no-such-subsystem"])
    for _ in range(3):
        poke_lo()
    import time
    time.sleep(1.0)
    f.stop()
    check(not any(l.startswith("{") for l in f.output()), "--subsystem filters other subsystems out")

    h = Process([kplug, "monitor", "--help"])
    h.proc.wait(timeout=10)
    h.stop()
    check(any("--json" in l for l in h.output()) and h.proc.returncode == 0, "monitor --help documents --json")


if __name__ == "__main__":
    main()
