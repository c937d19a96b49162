#!/usr/bin/env python3
"""The control socket with a real kplugd --dry-run: status, settle, loaded, reload (root
only: a non-root peer is refused), the events stream behind `kplug monitor --decisions`,
and the socket path itself (in use: refuse to start; stale: replace)."""
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BIN, Process, check, control_socket_path, fail, kplugd, require_environment, write_uevent  # noqa: E402

KPLUG = os.path.join(BIN, "kplug")
DEV = "/devices/pci0000:00/0000:00:01.0/virtio0"


def kplug(sock, *argv, as_nobody=False):
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if as_nobody else []
    return subprocess.run([*prefix, KPLUG, *argv, "--socket", sock], capture_output=True, text=True, timeout=60)


def main():
    require_environment()
    sock = control_socket_path()
    d = kplugd("--dry-run", "--control-socket", sock)
    try:
        d.wait_for(lambda l: "coldplug complete" in l, what="coldplug")
        r = kplug(sock, "settle", "--timeout", "20")
        check(r.returncode == 0, f"kplug settle returns once kplugd is idle ({r.stderr.strip()})")
        status = json.loads(kplug(sock, "status", "--json").stdout)
        check(status["ready"] and status["counters"]["coldplug_events"] > 0, "status --json: ready, coldplug counted")
        for key in ("uptime_s", "in_flight", "cache_hits", "cache_misses", "pending_unloads", "counters"):
            check(key in status, f"status has {key}")
        for key in ("events_received", "rejected_by_reason", "overruns", "loads_ok", "loads_failed", "unloads"):
            check(key in status["counters"], f"status counters have {key}")
        text = kplug(sock, "status").stdout
        check(text.startswith("kplugd ") and "loads:" in text, "kplug status prints a summary for people")
        nobody = kplug(sock, "status", "--json", as_nobody=True)
        check(nobody.returncode == 0, "anyone may read the status")

        loaded = json.loads(kplug(sock, "loaded", "--json").stdout)
        check(len(loaded) > 0 and all(e["devices"] for e in loaded.values()),
              f"loaded --json lists {len(loaded)} modules (dry run: would-be loads), each with its devices")

        r = kplug(sock, "reload")
        check(r.returncode == 0 and "done" in r.stdout, "root may reload")
        r = kplug(sock, "reload", as_nobody=True)
        check(r.returncode == 3 and "needs root (you are uid 65534)" in r.stderr, "a non-root peer may not reload")

        m = Process([KPLUG, "monitor", "--decisions", "--json", "--count", "2", "--socket", sock])
        line = m.wait_for(lambda l: l.startswith("{") and DEV in l, what="a decision on the events stream",
                          poke=lambda: write_uevent(DEV))
        m.stop()
        msg = json.loads(line)
        check(msg["type"] in ("decision", "loads"), f"the stream carries decisions and outcomes: {msg['type']}")

        # Raw protocol: bad lines get an error, the connection stays usable.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock)
        f = s.makefile("rw")
        f.write("not json\n{\"request\":\"frobnicate\"}\n{\"request\":\"status\"}\n")
        f.flush()
        answers = [json.loads(f.readline()) for _ in range(3)]
        s.close()
        check(answers[0]["ok"] is False and "JSON" in answers[0]["error"], "a line that is not JSON is answered")
        check("unknown request 'frobnicate'" in answers[1]["error"], "an unknown request is named")
        check(answers[2]["ok"] is True, "and the next request still works")

        r = subprocess.run([KPLUG, "trigger", "--subsystem", "net", "--settle", "--timeout", "30", "--socket", sock],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0 and "kplugd handled all" in r.stderr,
              f"kplug trigger --settle waits for exactly its own events: {r.stderr.strip().splitlines()[-1]}")
        r = subprocess.run([KPLUG, "trigger", "--dry-run", "--subsystem", "net"], capture_output=True, text=True)
        check(r.returncode == 0 and "/devices/virtual/net/lo" in r.stdout, "kplug trigger --dry-run lists the devices")

        second = kplugd("--dry-run", "--no-coldplug", "--control-socket", sock)
        code = second.proc.wait(timeout=20)
        second.stop()
        check(code == 3 and any("is in use" in l for l in second.output()),
              "a second kplugd on the same socket refuses to start")
    finally:
        d.stop()
    check(not os.path.exists(sock), "kplugd removes its socket when it stops")

    # A stale socket file (left by a kplugd that was killed) is replaced.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(sock)
    stale.close()
    d = kplugd("--dry-run", "--no-coldplug", "--control-socket", sock)
    try:
        d.wait_for(lambda l: "starting" in l, what="start-up over a stale socket")
        check(kplug(sock, "settle", "--timeout", "10").returncode == 0, "a stale socket file is replaced")
    finally:
        d.stop()
    r = subprocess.run([KPLUG, "status", "--socket", "/tmp/no-such-kplug.sock"], capture_output=True, text=True)
    check(r.returncode == 3 and "is kplugd running?" in r.stderr, "no daemon: a clear error, exit 3")
    settle_before_kplugd()
    fake_server_replies()


def settle_before_kplugd():
    """`kplugd & kplug settle` (docs/embedded.md): settle waits for kplugd to come up within
    its timeout, whether the socket is missing or stale (a kplugd killed with -9)."""
    for stale in (False, True):
        sock = control_socket_path()
        if stale:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(sock)
            s.close()
        waiter = subprocess.Popen([KPLUG, "settle", "--timeout", "20", "--socket", sock], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        check(waiter.poll() is None, f"kplug settle waits while kplugd is not up ({'stale socket' if stale else 'no socket'})")
        d = kplugd("--dry-run", "--control-socket", sock)
        try:
            _, err = waiter.communicate(timeout=30)
            check(waiter.returncode == 0, f"and returns 0 once kplugd came up and settled ({err.strip()})")
        finally:
            d.stop()
    started = time.monotonic()
    r = subprocess.run([KPLUG, "settle", "--timeout", "1", "--socket", "/tmp/no-such-kplug.sock"], capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 3 and "is kplugd running?" in r.stderr and time.monotonic() - started >= 1,
          f"no kplugd within the timeout: exit 3 after it, with a clear error ({r.stderr.strip()})")


def fake_server_replies():
    """A server that answers every request with something kplugd would never send: each
    verb reports an error and exits 3; none aborts (kplug loaded used to, rc 134)."""
    bad = [b'{"ok":false}', b'{"ok":true}', b'[]', b'{"ok":true,"loaded":{"m":{"devices":7}}}',
           b'{"ok":true,"counters":{"loads_ok":"many"}}', b'{"ok":true,"version":1}', b'not json',
           b'{"ok":true,"stream":"events"}\n{"type":"decision","seqnum":"x"}']
    path = control_socket_path()
    for reply in bad:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(8)

        def serve(server=server, reply=reply):
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                conn.recv(65536)
                conn.sendall(reply + b"\n")
                conn.close()

        import threading
        threading.Thread(target=serve, daemon=True).start()
        for verb in (["status"], ["loaded"], ["settle", "--timeout", "2"], ["reload"],
                     ["monitor", "--decisions", "--count", "1"]):
            r = subprocess.run([KPLUG, *verb, "--socket", path], capture_output=True, text=True, timeout=30)
            if r.returncode != 3 or not r.stderr.strip():
                fail(f"kplug {verb[0]} on the reply {reply!r}: exit {r.returncode}, stderr {r.stderr.strip()!r}")
        server.close()
        os.unlink(path)
    check(True, f"{len(bad)} replies kplugd never sends: status, loaded, settle, reload and monitor each say so "
                "and exit 3")


if __name__ == "__main__":
    main()
