#!/usr/bin/env python3
"""Rebroadcast on the host, in a private network namespace (as the spoofing suite runs):
kplugd --rebroadcast-groups 4 sends each handled kernel event to group mask 4, where
`kplug monitor --group 4` (as libudev-zero would) hears it; a datagram forged onto the
kernel's group by root is rejected by kplugd and never rebroadcast; a non-root process
cannot send to group 4 at all (the kernel refuses), and the listener hears nothing of it;
group 1 in the mask is refused at start."""
import json
import os
import subprocess
import time

from common import BIN, check, kplugd, require_environment, write_uevent

FORGED = "/devices/forged/evil0"
MODALIAS = "virtio:d00000005v00001AF4"
LO = "/devices/virtual/mem/null"  # not a net device: its events reach every namespace


def main():
    require_environment()
    socket = f"/tmp/kplug-rebroadcast-{os.getpid()}.sock"
    d = kplugd("--dry-run", "--no-coldplug", "--rebroadcast-groups", "4", "--control-socket", socket,
               prefix=["unshare", "--net", "--", "sh", "-c", 'echo "netns $$"; exec "$0" "$@"'])
    heard_file = f"/tmp/kplug-group4-{os.getpid()}.json"
    listener = None
    try:
        ns_pid = d.wait_for(lambda l: l.startswith("netns "), what="the namespace's shell pid").split()[1]
        d.wait_for(lambda l: "rebroadcasting handled kernel events to netlink groups 0x4" in l,
                   what="the rebroadcast line")
        enter = ["nsenter", f"--net=/proc/{ns_pid}/ns/net", "--"]
        forge = os.path.join(BIN, "tests", "forge_uevent")
        with open(heard_file, "w") as out:
            listener = subprocess.Popen([*enter, os.path.join(BIN, "kplug"), "monitor", "--group", "4", "--json"],
                                        stdout=out, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        r = subprocess.run([*enter, forge, "multicast", FORGED, MODALIAS], capture_output=True, text=True)
        check(r.returncode == 0, f"root forges onto the kernel's group: {r.stderr.strip()}")
        r = subprocess.run([*enter, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", forge,
                            "groups:4", FORGED, MODALIAS], capture_output=True, text=True)
        check(r.returncode == 3 and "Operation not permitted" in r.stderr,
              f"a non-root process cannot send to group 4: {r.stderr.strip()}")
        write_uevent(LO, "change")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and LO not in open(heard_file).read():
            time.sleep(0.1)
        time.sleep(0.5)
        heard = [json.loads(l) for l in open(heard_file) if l.startswith("{")]
        check(any(h["devpath"] == LO and h["action"] == "change" for h in heard),
              f"the listener on group 4 heard the real event once kplugd handled it ({len(heard)} heard)")
        check(not any(h["devpath"] == FORGED for h in heard), "nothing forged was rebroadcast")
        check(all(h["source"] == "kernel" for h in heard), "what it heard is kernel events, as the kernel sent them")
    finally:
        if listener:
            listener.terminate()
            listener.wait(timeout=10)
        code = d.stop()
        if os.path.exists(heard_file):
            os.unlink(heard_file)
    check(code == 0, "kplugd stopped cleanly")
    r = subprocess.run([os.path.join(BIN, "kplugd"), "--rebroadcast-groups", "5", "--dry-run"], capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 2 and "group 1 is the kernel's" in r.stderr, f"a mask with group 1 is refused: {r.stderr.strip()}")


if __name__ == "__main__":
    main()
