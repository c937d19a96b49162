#!/usr/bin/env python3
"""Attacks on kplugd by a local user, run the way an attacker runs them: over the real
control socket, as an unprivileged uid (setpriv), against a kplugd started with
systemd's default of 1,024 descriptors. During and after each attack kplugd must be
alive, answer `status` (root has reserved sessions), still decide a real uevent written
to sysfs, and keep its RSS and descriptor count within the stated bounds. The figures
are printed as `measure:` lines (docs/RELIABILITY.md, "Local users").
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BIN, Process, check, control_socket_path, fail, kplugd, require_environment  # noqa: E402

KPLUG = os.path.join(BIN, "kplug")
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
LO = "/sys/class/net/lo/uevent"
MAX_SESSIONS, ROOT_RESERVE = 64, 8
# What kplugd may hold at most beyond its idle figures.
FD_BOUND = MAX_SESSIONS + ROOT_RESERVE + 8
RSS_BOUND_KB = 24 * 1024  # 64 sessions x 256 KiB of unread output is 16 MiB, plus slack


def asan_build():
    """True when kplugd is built with AddressSanitizer (scripts/check's sanitizer stage):
    gcc links libasan.so, clang links the runtime in; both leave its entry point behind."""
    with open(os.path.join(BIN, "kplugd"), "rb") as f:
        return b"__asan_init" in f.read()


if BIN and asan_build():
    # ASan pads every allocation, shadows it and keeps freed memory in quarantine: the
    # same attacks cost about four times the memory. The main build's run of this test
    # holds kplugd to the real bound; this one looks for memory errors.
    os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=16"
    RSS_BOUND_KB *= 4


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def status(sock, as_nobody=False, timeout=10):
    prefix = NOBODY if as_nobody else []
    start = time.monotonic()
    r = subprocess.run([*prefix, KPLUG, "status", "--json", "--socket", sock], capture_output=True, text=True,
                       timeout=timeout + 5)
    took = time.monotonic() - start
    return r, took


# An `events` subscriber: prints "subscribed", then every message of the stream.
SUBSCRIBER = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b'{"request":"events"}\\n')
f = s.makefile()
f.readline()
print("subscribed", flush=True)
for line in f:
    print(line.strip(), flush=True)
"""


class Kplugd:
    def __init__(self, rules_dir, config):
        self.sock = control_socket_path()
        self.proc = kplugd("--dry-run", "--no-coldplug", "--rules-dir", rules_dir, "--config", config,
                           "--control-socket", self.sock, prefix=["prlimit", "--nofile=1024:1024", "--"])
        self.proc.wait_for(lambda l: "kplugd 0." in l and "starting" in l, what="start")
        deadline = time.monotonic() + 10
        while not os.path.exists(self.sock) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.pid = self.proc.proc.pid
        self.probes = 0

    def decides(self, what):
        """A real uevent written to sysfs now is decided (the probe rule logs it)."""
        before = sum("rule 'probe': saw" in l for l in self.proc.output())
        start = time.monotonic()
        with open(LO, "w") as f:
            f.write("change")
        deadline = start + 10
        while time.monotonic() < deadline:
            if sum("rule 'probe': saw" in l for l in self.proc.output()) > before:
                return time.monotonic() - start
            time.sleep(0.02)
        self.proc.dump()
        fail(f"kplugd did not decide a real uevent {what}")

    def alive(self):
        return self.proc.proc.poll() is None


def attacker(tmp, mode, sock, n=1, hold=0):
    script = os.path.join(tmp, "attacker.py")
    return Process(["prlimit", "--nofile=4096:4096", "--", *NOBODY, sys.executable, script, mode, sock, str(n),
                    str(hold)])


def results(p):
    out = {}
    for line in p.output():
        if line.startswith("{"):
            out.update(json.loads(line))
    return out


def check_serving(k, what, baseline_rss, baseline_fds):
    check(k.alive(), f"{what}: kplugd is alive")
    r, took = status(k.sock)
    check(r.returncode == 0 and json.loads(r.stdout)["ok"], f"{what}: root's `kplug status` answers ({took:.2f} s)")
    took = k.decides(what)
    check(True, f"{what}: a real uevent written to sysfs is decided ({took * 1000:.0f} ms)")
    rss, n = rss_kb(k.pid), fds(k.pid)
    print(f"measure: {what}: RSS {rss / 1024:.1f} MiB (idle {baseline_rss / 1024:.1f}), descriptors {n} "
          f"(idle {baseline_fds})")
    check(rss - baseline_rss <= RSS_BOUND_KB, f"{what}: RSS grew by {(rss - baseline_rss) / 1024:.1f} MiB "
          f"(bound {RSS_BOUND_KB // 1024} MiB)")
    check(n <= baseline_fds + FD_BOUND, f"{what}: {n} descriptors (bound {baseline_fds + FD_BOUND})")


def main():
    require_environment()
    tmp = tempfile.mkdtemp(prefix="kplug-users-")
    os.chmod(tmp, 0o755)
    shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "attacker.py"), tmp)
    os.chmod(os.path.join(tmp, "attacker.py"), 0o644)
    rules = os.path.join(tmp, "rules")
    os.mkdir(rules)
    with open(os.path.join(rules, "10-probe.yaml"), "w") as f:
        f.write("- name: probe\n  match: {action: change, subsystem: net}\n  log: \"saw {SEQNUM}\"\n")
        # Every add runs a command (dry run: "would run"): a rescan would run it again.
        f.write("- name: every-add\n  match: {action: add}\n  run: [/bin/true, \"{DEVPATH}\"]\n")
        # A command with a secret in its argv, from a rules dir only root can read.
        f.write("- name: secret-run\n  match: {action: change, subsystem: net}\n  run: [/bin/true, \"token=s3cret\"]\n")
    config = os.path.join(tmp, "config.yaml")
    with open(config, "w") as f:
        f.write("control:\n  idle_timeout: 3s\n")
    k = Kplugd(rules, config)
    try:
        time.sleep(0.5)
        k.decides("at start")
        base_rss, base_fds = rss_kb(k.pid), fds(k.pid)
        print(f"measure: idle: RSS {base_rss / 1024:.1f} MiB, descriptors {base_fds}")
        cloexec = []
        for fd in os.listdir(f"/proc/{k.pid}/fd"):
            with open(f"/proc/{k.pid}/fdinfo/{fd}") as f:
                flags = int(next(l for l in f if l.startswith("flags:")).split()[1], 8)
            if int(fd) > 2 and not flags & 0o2000000:
                cloexec.append(fd)
        check(not cloexec, f"every descriptor kplugd holds is close-on-exec (not: {cloexec})")

        # 1. Lines that used to abort kplugd.
        a = attacker(tmp, "lines", k.sock)
        a.proc.wait(timeout=60)
        replies = [json.loads(l) for l in a.output() if l.startswith('{"sent"')]
        check(len(replies) == 11 and all(r["reply"] and json.loads(r["reply"])["ok"] is False for r in replies),
              "each hostile request line gets an error line")
        check(results(a).get("status_after") is True, "the same connection still answers status afterwards")
        check_serving(k, "after hostile lines", base_rss, base_fds)

        # 2. Over-long lines, then subscribers that half-close during a burst of real events.
        a = attacker(tmp, "long", k.sock, 50)
        a.proc.wait(timeout=60)
        r = results(a)
        check(r.get("error_replies") == 50 and r.get("closed") == 50,
              f"50 over-long lines: one error line each, then closed ({r})")
        a = attacker(tmp, "halfclose", k.sock, 30, 3)
        a.wait_for(lambda l: '"ready"' in l, what="the half-closing subscribers")
        for _ in range(2000):
            with open(LO, "w") as f:
                f.write("change")
        a.proc.wait(timeout=60)
        check(results(a).get("halfclosed", 0) >= 30, "30 subscribers half-closed during 2,000 real events")
        check_serving(k, "after long lines and half-closed subscribers", base_rss, base_fds)

        # 3. A connection flood past the descriptor limit.
        a = attacker(tmp, "flood", k.sock, 1100, 6)
        a.wait_for(lambda l: '"ready"' in l, timeout=60, what="the flood")
        print(f"measure: flood: {results(a)}")
        check_serving(k, "during a flood of 1,100 connections", base_rss, base_fds)
        r, took = status(k.sock, as_nobody=True)
        check(r.returncode == 0 or "busy" in r.stderr,
              f"a non-root client meanwhile is served or told 'busy' at once ({took:.2f} s; {r.stderr.strip()})")
        a.proc.wait(timeout=60)
        r = results(a)
        print(f"measure: flood: {r}")
        check(r.get("busy", 0) >= 1000, f"connections past the limit were answered 'busy' ({r.get('busy')})")
        check(r.get("idle_closed", 0) >= MAX_SESSIONS - 1, "the held sessions were closed after the idle time")
        time.sleep(0.5)
        r, _ = status(k.sock, as_nobody=True)
        check(r.returncode == 0, "after the flood, a non-root client is served again")
        check_serving(k, "after the flood", base_rss, base_fds)

        # 4a. Sessions holding most of a line without its newline.
        a = attacker(tmp, "partial", k.sock, 900, 2)
        a.wait_for(lambda l: '"ready"' in l, timeout=60, what="the partial lines")
        check_serving(k, "during 900 connections holding 61 KB each", base_rss, base_fds)
        a.proc.wait(timeout=60)
        print(f"measure: partial lines: {results(a)}")
        # 4b. Subscribers that never read, while 2,000 real events stream.
        a = attacker(tmp, "subscribers", k.sock, 200, 8)
        a.wait_for(lambda l: '"ready"' in l, timeout=60, what="the subscribers")
        peak = 0
        for i in range(2000):
            with open(LO, "w") as f:
                f.write("change")
            if i % 200 == 0:
                peak = max(peak, rss_kb(k.pid))
        peak = max(peak, rss_kb(k.pid))
        print(f"measure: subscribers that never read, 2,000 events: peak RSS {peak / 1024:.1f} MiB")
        check_serving(k, "during 200 subscribers that never read", base_rss, base_fds)
        a.proc.wait(timeout=60)
        print(f"measure: subscribers: {results(a)}")
        st = json.loads(status(k.sock)[0].stdout)
        print(f"measure: counters: lagged {st['counters'].get('subscribers_lagged')}, refused "
              f"{st['counters'].get('sessions_refused')}, timed out {st['counters'].get('sessions_timed_out')}, "
              f"lines too long {st['counters'].get('lines_too_long')}")
        check(st["counters"].get("subscribers_lagged", 0) >= 1, "subscribers that fell behind were dropped")
        time.sleep(3.5)
        check_serving(k, "after every attack", base_rss, base_fds)
        check(fds(k.pid) <= base_fds + 2, f"descriptors back to idle once the clients left ({fds(k.pid)})")

        # SEQNUM gaps at will: devices in a user's own network namespace take numbers whose
        # events never reach kplugd. Counted, never a rescan.
        before = json.loads(status(k.sock)[0].stdout)["counters"]
        commands_before = sum("rule 'every-add': would run" in l for l in k.proc.output())
        r = subprocess.run([*NOBODY, "unshare", "-rn", "sh", "-c",
                            "for i in $(seq 50); do ip link add br$i type bridge || exit 1; done"],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, f"uid 65534 made 50 bridges in its own network namespace {r.stderr.strip()}")
        k.decides("after the gap")
        time.sleep(1)  # a rescan would follow a gap within 200 ms
        after = json.loads(status(k.sock)[0].stdout)["counters"]
        gap = after["missed_events"] - before["missed_events"]
        commands = sum("rule 'every-add': would run" in l for l in k.proc.output()) - commands_before
        print(f"measure: 50 bridges in a user's netns: SEQNUM gap {gap}, rescans {after['rescans'] - before['rescans']}, "
              f"rule commands {commands}")
        check(gap >= 50 and after["rescans"] == before["rescans"],
              f"the gap ({gap} numbers) is counted and brings no rescan")
        check(commands == 0, f"and no rule command ({commands})")

        # 6b. The events stream: a user who is not root sees which rule runs a command, never its
        # argv (rule files may be root's only, an argv may hold a secret); root sees it all.
        os.chmod(rules, 0o700)
        peers = {who: Process([*prefix, sys.executable, "-c", SUBSCRIBER, k.sock])
                 for who, prefix in (("nobody", NOBODY), ("root", []))}
        for p in peers.values():
            p.wait_for(lambda l: l == "subscribed", what="the subscription")
        k.decides("with two subscribers")
        seen = {}
        for who, p in peers.items():
            line = p.wait_for(lambda l: '"secret-run"' in l, what="the decision with the rule's command")
            seen[who] = json.loads(line)["run"]
            p.stop()
        check(seen["nobody"] == [{"rule": "secret-run"}] and "s3cret" not in json.dumps(seen["nobody"]),
              f"a non-root subscriber gets the rule's name without its argv: {seen['nobody']}")
        check(seen["root"] == [{"rule": "secret-run", "argv": ["/bin/true", "token=s3cret"]}],
              f"root's subscription gets the argv: {seen['root']}")
        check_serving(k, "after the two subscribers", base_rss, base_fds)

        # 7. A FIFO among the rules: SIGHUP must not stall the loop.
        os.mkfifo(os.path.join(rules, "60-x.yaml"))
        os.kill(k.pid, signal.SIGHUP)
        k.proc.wait_for(lambda l: "60-x.yaml: cannot read the rule file: not a regular file: it is a FIFO" in l,
                        what="the FIFO diagnostic")
        r, took = status(k.sock)
        check(r.returncode == 0 and took < 2, f"a FIFO in the rules dir: reload refused, status answers ({took:.2f} s)")
        os.unlink(os.path.join(rules, "60-x.yaml"))
        os.symlink("/dev/zero", os.path.join(rules, "60-x.yaml"))
        start = time.monotonic()
        r = subprocess.run([KPLUG, "rules", "check", rules], capture_output=True, text=True, timeout=30)
        took = time.monotonic() - start
        check(r.returncode != 0 and "character device" in r.stdout + r.stderr and took < 2,
              f"kplug rules check refuses a link to /dev/zero at once ({took:.2f} s)")
        os.unlink(os.path.join(rules, "60-x.yaml"))
    finally:
        start = time.monotonic()
        rc = k.proc.stop()
        print(f"measure: SIGTERM to exit: {time.monotonic() - start:.2f} s")
    check(rc == 0, "kplugd exits 0 on SIGTERM after all of it")
    try:
        metrics_directory(tmp, rules)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def metrics_directory(tmp, rules):
    """8. The metrics file in a directory another user owns (node_exporter's is the prometheus
    user's): that user plants a FIFO as the temporary file and a link as the file itself."""
    shared = os.path.join(tmp, "textfile")
    os.mkdir(shared, 0o755)
    os.chown(shared, 65534, 65534)
    victim = os.path.join(tmp, "victim")
    with open(victim, "w") as f:
        f.write("root's\n")
    metrics = os.path.join(shared, "kplug.prom")

    def plant():
        for name in ("kplug.prom.tmp", "kplug.prom"):
            subprocess.run([*NOBODY, "rm", "-f", os.path.join(shared, name)], check=True)
        subprocess.run([*NOBODY, "mkfifo", metrics + ".tmp"], check=True)
        subprocess.run([*NOBODY, "ln", "-s", victim, metrics], check=True)

    # Without metrics_dir_shared the directory is refused: a warning, a count, never a wait.
    plant()
    config = os.path.join(tmp, "metrics-strict.yaml")
    with open(config, "w") as f:
        f.write(f"metrics_file: {metrics}\n")
    start = time.monotonic()
    k = Kplugd(rules, config)
    try:
        k.proc.wait_for(lambda l: "cannot write the metrics file" in l and "belongs to uid 65534" in l
                        and "metrics_dir_shared: true" in l,
                        what="the refused metrics directory")
        k.decides("with a refused metrics directory")
        r = subprocess.run([KPLUG, "status", "--socket", k.sock], capture_output=True, text=True, timeout=15)
        check(r.returncode == 0 and "write(s) refused" in r.stdout,
              f"a refused metrics write is counted in kplug status ({time.monotonic() - start:.2f} s after start)")
        check(os.path.islink(metrics) and stat_fifo(metrics + ".tmp") and open(victim).read() == "root's\n",
              "nothing in the directory written or removed, nothing written through the link")
    finally:
        start = time.monotonic()
        rc = k.proc.stop()
    check(rc == 0 and time.monotonic() - start < 5, f"and it stops at once ({time.monotonic() - start:.2f} s)")

    # With metrics_dir_shared the planted FIFO is removed, never opened; the link is replaced.
    plant()
    config = os.path.join(tmp, "metrics-shared.yaml")
    with open(config, "w") as f:
        f.write(f"metrics_file: {metrics}\nmetrics_dir_shared: true\n")
    k = Kplugd(rules, config)
    try:
        deadline = time.monotonic() + 10
        while (os.path.islink(metrics) or not os.path.exists(metrics)) and time.monotonic() < deadline:
            time.sleep(0.1)
        check(os.path.isfile(metrics) and not os.path.islink(metrics) and "kplug_up 1" in open(metrics).read(),
              "in a shared directory the metrics file is written past a planted FIFO, replacing a planted link")
        check(open(victim).read() == "root's\n", "the link's target is untouched")
        subprocess.run([*NOBODY, "mkfifo", metrics + ".tmp"], check=True)
        k.decides("with a FIFO planted again while it runs")
    finally:
        start = time.monotonic()
        rc = k.proc.stop()
        took = time.monotonic() - start
    check(rc == 0 and took < 5 and not os.path.exists(metrics + ".tmp"),
          f"the last write at stop removes the FIFO instead of waiting on it ({took:.2f} s)")
    check(open(victim).read() == "root's\n", "nothing outside kplugd's own file was written")


def stat_fifo(path):
    import stat
    return stat.S_ISFIFO(os.lstat(path).st_mode)


if __name__ == "__main__":
    main()
