#!/usr/bin/env python3
"""kplug follows the conventions of its neighbours (udevadm, kmod, systemctl): a mistyped
verb, nested verb or flag gets "kplug: ... did you mean ...?" and exit 2; `kplug trigger`
run by a user whose writes are refused says why and exits 3; a devpath is taken with or
without /sys; `.yml` rule files are read like `.yaml`; `rules check` with nothing to check
says so and exits 3 (could not); colour only on a terminal, and never with NO_COLOR."""
import os
import pty
import select
import signal
import subprocess
import tempfile
import time

from common import BIN, MODULES_DIR, check, fail

KPLUG = os.path.join(BIN, "kplug")


def run(*argv, **kw):
    return subprocess.run([KPLUG, *argv], capture_output=True, text=True, **kw)


def typo(argv, want):
    r = run(*argv)
    first = r.stderr.splitlines()[0] if r.stderr else ""
    check(r.returncode == 2 and first == want, f"kplug {' '.join(argv)} → exit {r.returncode}: {first}")


def kplugd_on_terminal(env):
    """kplugd's start-up line when its stderr is a terminal, with ENV."""
    master, slave = pty.openpty()
    with tempfile.TemporaryDirectory() as state:
        p = subprocess.Popen([os.path.join(BIN, "kplugd"), "--dry-run", "--no-coldplug", "--modules-dir", MODULES_DIR,
                              "--state-dir", state, "--control-socket", os.path.join(state, "sock"), "--log-level", "info"],
                             stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
        os.close(slave)
        out, deadline = b"", time.monotonic() + 20
        while b"starting" not in out and time.monotonic() < deadline:
            if select.select([master], [], [], 0.5)[0]:
                try:
                    out += os.read(master, 4096)
                except OSError:
                    break
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)
        os.close(master)
    if b"starting" not in out:
        fail(f"kplugd did not log its start on a terminal: {out!r}")
    return out


def main():
    typo(["moniter"], "kplug: unknown verb 'moniter'; did you mean 'monitor'?")
    typo(["monitor", "--jsn"], "kplug monitor: unknown option '--jsn'; did you mean '--json'?")
    typo(["rules", "chek"], "kplug: unknown verb 'rules chek'; did you mean 'rules check'?")
    typo(["rules", "check", "--confg", "x"], "kplug rules check: unknown option '--confg'; did you mean '--config'?")
    typo(["--log-level", "debug", "lsmdo"], "kplug: unknown verb 'lsmdo'; did you mean 'lsmod'?")

    # trigger as a user: every write refused, the reason said, exit 3 (could not).
    r = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                        KPLUG, "trigger", "--subsystem", "net"], capture_output=True, text=True)
    check(r.returncode == 3 and "refused: Permission denied (run as root)" in r.stderr,
          f"kplug trigger as uid 65534 exits {r.returncode}: {r.stderr.strip().splitlines()[-1]}")

    # A devpath with and without /sys.
    a = run("test", "--modules-dir", MODULES_DIR, "--devpath", "/devices/virtual/net/lo")
    b = run("test", "--modules-dir", MODULES_DIR, "--devpath", "/sys/devices/virtual/net/lo")
    check(a.returncode == 0 and a.stdout == b.stdout and "DEVPATH=/devices/virtual/net/lo" in b.stdout,
          "kplug test --devpath takes /sys/devices/virtual/net/lo and /devices/virtual/net/lo alike")

    with tempfile.TemporaryDirectory() as d:
        r = run("rules", "check", d)
        said = (r.stdout + r.stderr).strip()
        check(r.returncode == 3 and "no rule files to check" in said, f"rules check on an empty directory exits 3: {said}")
        with open(os.path.join(d, "10-lo.yml"), "w") as f:
            f.write("- name: lo-from-yml\n  match:\n    subsystem: net\n  log: \"lo {ACTION}\"\n")
        r = run("rules", "check", d)
        check(r.returncode == 0 and "1 rule(s) in 1 file(s)" in r.stdout, f"a .yml file is read: {r.stdout.strip()}")
        r = run("test", "--modules-dir", MODULES_DIR, "--rules", d, "--devpath", "/sys/devices/virtual/net/lo")
        check("MATCH    lo-from-yml" in r.stdout, "kplug test applies the rule from the .yml file")

    # Colour: on a terminal by default, never with NO_COLOR.
    coloured = kplugd_on_terminal(dict(os.environ, TERM="xterm"))
    check(b"\x1b[" in coloured, "kplugd colours its levels on a terminal")
    plain = kplugd_on_terminal(dict(os.environ, TERM="xterm", NO_COLOR="1"))
    check(b"\x1b[" not in plain, "NO_COLOR=1 turns the colour off")
    # Levels read as the words --log-level takes.
    with tempfile.TemporaryDirectory() as state:
        p = subprocess.run([os.path.join(BIN, "kplugd"), "--dry-run", "--exit-after-coldplug",
                            "--modules-dir", MODULES_DIR, "--state-dir", state, "--control-socket",
                            os.path.join(state, "sock"), "--log-level", "info", "--metrics-file", "/tmp/kplug-cli.prom"],
                           capture_output=True, text=True, timeout=30)
        levels = {line.split()[1] for line in p.stderr.splitlines() if len(line.split()) > 1}
        check({"info", "warn"} <= levels and not levels & {"warning", "critical", "information"},
              f"kplugd's stderr levels are the words --log-level takes: {sorted(levels)}")


if __name__ == "__main__":
    main()
