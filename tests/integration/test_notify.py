#!/usr/bin/env python3
"""sd_notify without systemd: kplugd is started with NOTIFY_SOCKET pointing at a datagram
socket of this test (kplugd opens libsystemd for it), and must send READY=1 (once coldplug's boot-critical part is
done) with a STATUS= line, STATUS=coldplug complete once all of it is, WATCHDOG=1 when WATCHDOG_USEC asks for it, and
RELOADING=1 then READY=1 around a reload; `kplug settle --critical` and `kplug settle` both answer."""
import subprocess
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
        control = control_socket_path()
        d = Process([os.path.join(BIN, "kplugd"), "--dry-run", "--modules-dir", MODULES_DIR,
                     "--control-socket", control], env=env)
        try:
            messages = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any("READY=1" in m for m in messages):
                messages.append(s.recv(4096).decode())
            ready = next(m for m in messages if "READY=1" in m)
            check("STATUS=" in ready and ("coldplug" in ready or "boot-critical" in ready),
                  f"READY=1 comes with a STATUS line: {ready.splitlines()[1][:80]}")
            check("libsystemd.so" in open(f"/proc/{d.proc.pid}/maps").read(),
                  "asked for notifications, kplugd opened libsystemd")
            # kplugd logs the line before it sends READY=1; our reader thread may lag a moment.
            d.wait_for(lambda l: "boot-critical part done" in l, timeout=5, what="the boot-critical line")
            check(True, "and only once the boot-critical part of coldplug is done")
            d.wait_for(lambda l: "coldplug complete" in l, timeout=20, what="the coldplug-complete line")
            later = []
            while sum("WATCHDOG=1" in m for m in later) < 3:
                later.append(s.recv(4096).decode())
            check("coldplug complete" in ready or any("STATUS=coldplug complete" in m for m in later),
                  "once every load is done, STATUS= says the coldplug is complete")
            check(sum("WATCHDOG=1" in m for m in later) == 3, "WATCHDOG=1 keeps coming when WATCHDOG_USEC is set")
            for flags in (["--critical"], []):
                r = subprocess.run([os.path.join(BIN, "kplug"), "settle", "--timeout", "20", "--socket",
                                    control] + flags, capture_output=True, text=True, timeout=30)
                check(r.returncode == 0, f"kplug settle {' '.join(flags)}: exit {r.returncode} {r.stderr.strip()}")
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
