#!/usr/bin/env python3
"""`kplug monitor` sees the kernel event that `echo change > /sys/class/net/lo/uevent`
emits, as JSON lines and as text blocks, and filters by subsystem. `--record` as an
attacker meets it: root recording into a directory another user can write never writes
through a link or a file planted there, and `--max-size` bounds the file."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

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

    check_record_attacks(kplug)

    h = Process([kplug, "monitor", "--help"])
    h.proc.wait(timeout=10)
    h.stop()
    check(any("--json" in l for l in h.output()) and h.proc.returncode == 0, "monitor --help documents --json")


def as_nobody(*argv):
    """ARGV run as an unprivileged user (uid and gid 65534), as the attacker runs it."""
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv],
                          capture_output=True, text=True, check=True)


def record(kplug, *args):
    return subprocess.run([kplug, "monitor", "--json", "--count", "1", "--coldplug", *args],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def check_record_attacks(kplug):
    top = tempfile.mkdtemp(prefix="kplug-record-")
    os.chmod(top, 0o755)  # the attacker can reach the shared directory inside
    try:
        shared = os.path.join(top, "shared")  # like /tmp: anyone may create files here
        os.mkdir(shared)
        os.chmod(shared, 0o1777)
        victim = os.path.join(top, "victim")
        with open(victim, "w") as f:
            f.write("precious\n")
        target = os.path.join(shared, "boot.events")

        as_nobody("ln", "-s", victim, target)
        r = record(kplug, "--record", target)
        check(r.returncode != 0 and "exists already" in r.stderr,
              f"a link planted where root records is refused: {r.stderr.strip()}")
        r = record(kplug, "--record", target, "--replace")
        check(r.returncode != 0 and "not a regular file" in r.stderr,
              f"--replace does not replace a planted link either: {r.stderr.strip()}")
        check(open(victim).read() == "precious\n", "the file the link points to is untouched")
        os.unlink(target)

        as_nobody("sh", "-c", f"echo mine > {target}")
        r = record(kplug, "--record", target, "--replace")
        check(r.returncode != 0 and "belongs to uid 65534" in r.stderr,
              f"--replace leaves another user's file alone: {r.stderr.strip()}")
        os.unlink(target)

        as_nobody("mkfifo", target)
        r = record(kplug, "--record", target)
        check(r.returncode != 0 and "exists already" in r.stderr, "a FIFO planted there neither blocks nor is used")
        os.unlink(target)

        mine = os.path.join(top, "mine.events")
        r = record(kplug, "--record", mine)
        check(r.returncode == 0 and os.path.getsize(mine) > 0, "a new file is recorded")
        r = record(kplug, "--record", mine, "--replace")
        check(r.returncode == 0 and os.path.getsize(mine) > 0, "--replace replaces a file of the caller's")

        bounded = os.path.join(top, "bounded.events")
        r = subprocess.run([kplug, "monitor", "--json", "--coldplug", "--record", bounded, "--max-size", "4K"],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        size = os.path.getsize(bounded)
        check(r.returncode == 0 and "reached --max-size 4096 bytes" in r.stderr and 0 < size <= 4096,
              f"--max-size 4K ends the recording at {size} bytes (every present device would take more)")
        with open(bounded) as f:
            lines = f.read().splitlines()
        check(all(json.loads(l) for l in lines), f"the bounded recording is whole lines ({len(lines)})")
        r = subprocess.run([kplug, "monitor", "--max-size", "4K"], capture_output=True, text=True, timeout=10)
        check(r.returncode == 2 and "go with --record" in r.stderr, "--max-size without --record is a usage error")
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
