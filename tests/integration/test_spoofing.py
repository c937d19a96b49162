#!/usr/bin/env python3
"""Forged uevents are not acted on. Inside a private network namespace (so nothing else
on the machine sees the forgeries), a root process sends every forged shape -- well
formed, truncated, too long, without a final NUL, with a bad header, too many keys, a huge
value, a DEVPATH that climbs out of /sys -- by multicast to group 1, by unicast to kplugd's
port, and with a forged non-zero uid in its credentials. kplugd --dry-run must decide
nothing for any of them and count each in `kplug status` by reason and by shape, while
the real kernel events interleaved with them are every one handled. A non-root process
cannot send at all."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BIN, check, fail, kplugd, require_environment, write_uevent  # noqa: E402

FORGED_DEVPATH = "/devices/forged/evil0"
FORGED_MODALIAS = "virtio:d00000005v00001AF4"  # virtio_balloon, if anyone believed it
# What kplugd's parser calls each shape the forger sends.
SHAPES = {
    "well_formed": "well_formed",
    "truncated": "truncated",
    "too_long": "too_long",
    "no_nul": "not_nul_terminated",
    "bad_header": "bad_header",
    "too_many_keys": "too_many_keys",
    "huge_value": "value_too_long",
    "climbing_devpath": "bad_devpath",
}
# A device that is in no network namespace: its events reach every namespace.
REAL_DEVPATH = "/devices/virtual/mem/null"


def main():
    require_environment()
    if subprocess.run(["unshare", "--net", "true"]).returncode != 0:
        fail("cannot create a network namespace with unshare --net (needs root)")
    socket = f"/tmp/kplug-spoof-{os.getpid()}.sock"
    # kplugd and the forger must share one namespace: run both under a shell in it.
    d = kplugd("--dry-run", "--no-coldplug", "--log-level", "debug", "--control-socket", socket,
               prefix=["unshare", "--net", "--", "sh", "-c", 'echo "netns $$"; exec "$0" "$@"'])
    sent = {}
    real = 0
    try:
        ns_line = d.wait_for(lambda l: l.startswith("netns "), what="the namespace's shell pid")
        ns_pid = ns_line.split()[1]
        start = d.wait_for(lambda l: "starting" in l, what="the start-up line")
        port = re.search(r"netlink port (\d+)", start).group(1)
        enter = ["nsenter", f"--net=/proc/{ns_pid}/ns/net", "--"]
        forge = os.path.join(BIN, "tests", "forge_uevent")

        def send(*args):
            r = subprocess.run([*enter, forge, *args, FORGED_DEVPATH, FORGED_MODALIAS], capture_output=True, text=True)
            if r.returncode != 0:
                fail(f"forge_uevent {' '.join(args)} failed: {r.stderr.strip()}")

        # Every shape three ways, each followed by a real kernel event.
        for shape in SHAPES:
            for how, args, reason in [("multicast", ["multicast"], "not_kernel_port"),
                                      ("unicast", [f"unicast:{port}"], "not_group_1"),
                                      ("multicast, uid 65534", ["--uid", "65534", "multicast"], "not_root")]:
                send("--shape", shape, *args)
                sent[reason] = sent.get(reason, 0) + 1
                write_uevent(REAL_DEVPATH, "change")
                real += 1
        print(f"sent {sum(sent.values())} forgeries ({len(SHAPES)} shapes x 3 senders), "
              f"interleaved with {real} real events")

        # A process that is not root cannot send to the uevent socket at all.
        r = subprocess.run([*enter, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", forge,
                            "multicast", FORGED_DEVPATH, FORGED_MODALIAS], capture_output=True, text=True)
        check(r.returncode == 3 and "Operation not permitted" in r.stderr,
              f"a non-root sender is refused by the kernel: {r.stderr.strip()}")

        def counted():
            st = json.loads(subprocess.run([os.path.join(BIN, "kplug"), "status", "--json", "--socket", socket],
                                           capture_output=True, text=True, check=True).stdout)
            return st if st["counters"]["rejected"] >= sum(sent.values()) else None

        status = None
        for _ in range(100):
            status = counted()
            if status:
                break
            subprocess.run(["sleep", "0.1"])
        if not status:
            d.dump()
            fail("kplug status never counted every forgery")
        text = subprocess.run([os.path.join(BIN, "kplug"), "status", "--socket", socket],
                              capture_output=True, text=True, check=True).stdout
        print(text, end="")
    finally:
        code = d.stop()
    out = d.output()
    check(code == 0, "kplugd keeps running through the forgeries and stops cleanly")
    c = status["counters"]
    check(c["rejected_by_reason"] == sent,
          f"kplug status counts each forgery by sender: {c['rejected_by_reason']}")
    check(c["forged_by_shape"] == {kind: 3 for kind in SHAPES.values()},
          f"and by what it held, each shape 3 times: {c['forged_by_shape']}")
    check("forged:  " in text and "rejected 24 (" in text, "the text form shows both")
    check(not any(FORGED_DEVPATH in l and "would" in l for l in out) and
          not any("/etc" in l and "would" in l for l in out),
          "no decision was taken for any forgery (nothing would load, unload or run)")
    seen = sum(1 for l in out if f"change {REAL_DEVPATH} (" in l)
    check(seen == real, f"every real event between them was handled: {seen} of {real}")
    check(c["missed_events"] == 0 and c["overruns"] == 0, "nothing was missed or overrun")
    well = [l for l in out if "a well-formed forgery claiming add /devices/forged/evil0" in l]
    check(len(well) == 3, f"the log says what a plausible forgery claimed: {well[0][well[0].index('rejected'):]}")


if __name__ == "__main__":
    main()
