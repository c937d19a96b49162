#!/usr/bin/env python3
"""sd_notify without systemd: kplugd is started with NOTIFY_SOCKET pointing at a datagram
socket of this test (kplugd opens libsystemd for it), and must send READY=1 (after coldplug) with a STATUS= line,
WATCHDOG=1 when WATCHDOG_USEC asks for it, and RELOADING=1 then READY=1 around a reload."""
import os
import signal
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BIN, MODULES_DIR, Process, check, control_socket_path, require_environment  # noqa: E402


def main():
    require_environment()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "notify.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        s.settimeout(20)
        env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="400000")
        d = Process([os.path.join(BIN, "kplugd"), "--dry-run", "--modules-dir", MODULES_DIR,
                     "--control-socket", control_socket_path()], env=env)
        try:
            messages = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any("READY=1" in m for m in messages):
                messages.append(s.recv(4096).decode())
            ready = next(m for m in messages if "READY=1" in m)
            check("STATUS=" in ready and "coldplug" in ready, f"READY=1 comes with a STATUS line: {ready.splitlines()[1][:80]}")
            check("libsystemd.so" in open(f"/proc/{d.proc.pid}/maps").read(),
                  "asked for notifications, kplugd opened libsystemd")
            # kplugd logs the line before it sends READY=1; our reader thread may lag a moment.
            d.wait_for(lambda l: "coldplug complete" in l, timeout=5, what="the coldplug-complete line")
            check(True, "and only once coldplug is complete")
            watchdog = [s.recv(4096).decode() for _ in range(3)]
            check(all("WATCHDOG=1" in m for m in watchdog), "WATCHDOG=1 keeps coming when WATCHDOG_USEC is set")
            os.kill(d.proc.pid, signal.SIGHUP)
            after = []
            while not any("READY=1" in m for m in after):
                after.append(s.recv(4096).decode())
            check(any("RELOADING=1" in m and "MONOTONIC_USEC=" in m for m in after), "a reload says RELOADING=1 first")
        finally:
            d.stop()
            s.close()


if __name__ == "__main__":
    main()
