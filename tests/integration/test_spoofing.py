#!/usr/bin/env python3
"""Forged uevents are not acted on. Inside a private network namespace (so nothing else
on the machine sees the forgeries), a root process multicasts a well-formed uevent to
group 1 and unicasts one to kplugd's port; kplugd --dry-run must reject and count both and
decide nothing for them, while a real kernel event in the same namespace is still acted on."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BIN, check, fail, kplugd, require_environment, write_uevent  # noqa: E402

FORGED_DEVPATH = "/devices/forged/evil0"
FORGED_MODALIAS = "virtio:d00000005v00001AF4"  # virtio_balloon, if anyone believed it


def main():
    require_environment()
    if subprocess.run(["unshare", "--net", "true"]).returncode != 0:
        fail("cannot create a network namespace with unshare --net (needs root)")
    # kplugd and the forger must share one namespace: run both under a shell in it.
    d = kplugd("--dry-run", "--no-coldplug", "--log-level", "debug",
               prefix=["unshare", "--net", "--", "sh", "-c", 'echo "netns $$"; exec "$0" "$@"'])
    try:
        ns_line = d.wait_for(lambda l: l.startswith("netns "), what="the namespace's shell pid")
        ns_pid = ns_line.split()[1]
        start = d.wait_for(lambda l: "starting" in l, what="the start-up line")
        port = re.search(r"netlink port (\d+)", start).group(1)
        enter = ["nsenter", f"--net=/proc/{ns_pid}/ns/net", "--", os.path.join(BIN, "tests", "forge_uevent")]
        subprocess.run([*enter, "multicast", FORGED_DEVPATH, FORGED_MODALIAS], check=True)
        subprocess.run([*enter, f"unicast:{port}", FORGED_DEVPATH, FORGED_MODALIAS], check=True)
        d.wait_for(lambda l: "(not_kernel_port)" in l, what="the multicast forgery's rejection")
        d.wait_for(lambda l: "(not_group_1)" in l, what="the unicast forgery's rejection")

        # Positive control: a real kernel event reaches the namespace and is acted on, so the
        # rejections above are the sender check at work, not a deaf socket.
        dev = "/devices/pci0000:00/0000:00:01.0/virtio0"
        if os.path.exists(f"/sys{dev}/uevent"):
            d.wait_for(lambda l: f"add {dev} (" in l and "would load" in l, what="a decision for a real event",
                       poke=lambda: write_uevent(dev))
        else:
            d.wait_for(lambda l: "change /devices/virtual/net/lo" in l or "nothing to do" in l,
                       what="a real kernel event", poke=lambda: open("/sys/class/net/lo/uevent", "w").write("change"))
    finally:
        code = d.stop()
    out = d.output()
    check(code == 0, "kplugd keeps running through forgeries and stops cleanly")
    check(not any(FORGED_DEVPATH in l and "would load" in l for l in out), "no decision was taken for a forgery")
    summary = [l for l in out if "kplugd stopped:" in l]
    check(len(summary) == 1, "kplugd logged its counters")
    check(re.search(r"rejected 2 \((.*)\)", summary[0]) is not None
          and "not_group_1 1" in summary[0] and "not_kernel_port 1" in summary[0],
          f"both forgeries are counted by reason: {summary[0].split('stopped: ')[1]}")


if __name__ == "__main__":
    main()
