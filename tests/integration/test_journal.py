#!/usr/bin/env python3
"""kplugd's journal logging, received by a fake journald: a datagram socket at
/run/systemd/journal/socket in a private mount namespace (a tmpfs over /run, so the host
is untouched). The decision for an `add` written to sysfs arrives as one entry with
KPLUG_ACTION, MODULE, DEVPATH, SUBSYSTEM, MODALIAS, SEQNUM, KPLUG_DURATION_MS and the
MESSAGE_ID of its kind; `--log-target auto` picks the journal exactly when JOURNAL_STREAM
names kplugd's stderr, as systemd sets it."""
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BIN, MODULES_DIR, check, control_socket_path, fail, require_environment, write_uevent  # noqa
from test_daemon_dry_run import present_devices  # noqa

SOCKET = "/run/systemd/journal/socket"


def parse_entry(data):
    """The fields of one native-protocol datagram: KEY=VALUE lines, or KEY, a 64-bit
    little-endian length and the bytes, for values with newlines."""
    fields, i = [], 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            key, _, value = line.partition(b"=")
            i = nl + 1
        else:
            key, (size,) = line, struct.unpack_from("<Q", data, nl + 1)
            value = data[nl + 9:nl + 9 + size]
            i = nl + 9 + size + 1
        fields.append((key.decode(), value.decode(errors="replace")))
    return fields


class FakeJournal:
    def __init__(self):
        os.makedirs(os.path.dirname(SOCKET), exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(SOCKET)
        self.entries = []

    def wait_for(self, predicate, what, timeout=20, poke=None):
        deadline = time.monotonic() + timeout
        self.sock.settimeout(0.5)
        while time.monotonic() < deadline:
            for e in self.entries:
                if predicate(e):
                    return e
            if poke:
                poke()
            try:
                self.entries.append(parse_entry(self.sock.recv(1 << 20)))
            except socket.timeout:
                pass
        fail(f"no journal entry with {what} within {timeout} s; got {len(self.entries)} entries")


    def drain(self):
        self.sock.settimeout(0.5)
        try:
            while True:
                self.entries.append(parse_entry(self.sock.recv(1 << 20)))
        except socket.timeout:
            pass


def values(entry, key):
    return [v for k, v in entry if k == key]


def start(*args, stderr=subprocess.DEVNULL, env=None):
    return subprocess.Popen([os.path.join(BIN, "kplugd"), "--modules-dir", MODULES_DIR, "--dry-run",
                             "--no-coldplug", "--control-socket", control_socket_path(),
                             "--state-dir", tempfile.mkdtemp(), *args],
                            stdout=subprocess.DEVNULL, stderr=stderr, env=env)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=20)


def main():
    require_environment()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run"], check=True)
    devpath, modalias, modules = next(d for d in present_devices() if d[2])
    journal = FakeJournal()

    d = start("--log-target", "journal")
    journal.wait_for(lambda e: ("SYSLOG_IDENTIFIER", "kplugd") in e and any("starting" in v for v in values(e, "MESSAGE")),
                     "kplugd's start-up line")
    entry = journal.wait_for(lambda e: ("KPLUG_ACTION", "would_load") in e and ("DEVPATH", devpath) in e,
                             f"KPLUG_ACTION=would_load for {devpath}", poke=lambda: write_uevent(devpath))
    check(stop(d) == 0, "kplugd --log-target journal stops cleanly")
    fields = dict(entry)
    check(set(values(entry, "MODULE")) == set(modules), f"MODULE= names each module: {values(entry, 'MODULE')}")
    check(fields.get("MODALIAS") == modalias and fields.get("SUBSYSTEM"), f"MODALIAS={modalias}, SUBSYSTEM={fields.get('SUBSYSTEM')}")
    check(fields.get("SEQNUM", "").isdigit() and int(fields["SEQNUM"]) > 0, f"SEQNUM={fields.get('SEQNUM')}")
    check("KPLUG_DURATION_MS" in fields, f"KPLUG_DURATION_MS={fields.get('KPLUG_DURATION_MS')}")
    check(fields.get("PRIORITY") == "6" and "would load" in fields.get("MESSAGE", ""),
          f"PRIORITY=6 (info), MESSAGE={fields.get('MESSAGE', '')[:60]}...")
    check(len(fields.get("MESSAGE_ID", "")) == 32, f"MESSAGE_ID={fields.get('MESSAGE_ID')} (one per kind)")
    no_module = [e for e in journal.entries if ("KPLUG_ACTION", "no_module") in e]
    check(all(dict(e).get("MESSAGE_ID") != fields["MESSAGE_ID"] for e in no_module),
          "another kind of decision has another MESSAGE_ID")

    # auto: the journal when JOURNAL_STREAM names stderr's device and inode, else stderr.
    with tempfile.TemporaryFile() as err:
        st = os.fstat(err.fileno())
        before = len(journal.entries)
        a = start("--log-target", "auto", stderr=err, env=dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}"))
        journal.wait_for(lambda e: journal.entries.index(e) >= before and ("SYSLOG_IDENTIFIER", "kplugd") in e,
                         "an entry from kplugd started with JOURNAL_STREAM = its stderr")
        stop(a)
        err.seek(0)
        check(err.read() == b"", "--log-target auto with JOURNAL_STREAM matching stderr: journal, nothing on stderr")
    journal.drain()  # the first one's last lines
    with tempfile.TemporaryFile() as err:
        before = len(journal.entries)
        b = start("--log-target", "auto", stderr=err, env=dict(os.environ, JOURNAL_STREAM="1:1"))
        time.sleep(1.5)
        stop(b)
        journal.drain()
        err.seek(0)
        text = err.read().decode()
        check("starting" in text and len(journal.entries) == before,
              "--log-target auto with another JOURNAL_STREAM (stderr redirected): stderr, no journal entry")


if __name__ == "__main__":
    if os.environ.get("KPLUG_PRIVATE_MOUNTS") != "1":
        # A private mount namespace, so the tmpfs over /run (and the fake journald) stays ours.
        os.environ["KPLUG_PRIVATE_MOUNTS"] = "1"
        os.execvp("unshare", ["unshare", "--mount", "--propagation", "private", sys.executable, *sys.argv])
    main()
