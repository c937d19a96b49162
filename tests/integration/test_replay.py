#!/usr/bin/env python3
"""Record and replay on the host, over the real netlink socket: `kplug monitor --record
--coldplug` writes a header and every present device, then a real uevent; `kplug replay`
runs the file through kplugd's flow against the Debian tree and agrees with `kplug test`
on what would load; the summary and the JSON lines add up; `--against` with the same
rules finds nothing and exits 0, with a rule blacklisting a module it names that event
and exits 1; `kplug test --event` explains each event of a short file and sends a long
one to replay; a bad file is refused with its line."""
import json
import os
import subprocess
import tempfile
import time

from common import BIN, MODULES_DIR, check, fail, require_environment, write_uevent

KPLUG = os.path.join(BIN, "kplug")
TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RULES = os.path.join(TOP, "rules")


def run(*argv, timeout=120):
    return subprocess.run([KPLUG, *argv], capture_output=True, text=True, timeout=timeout)


def main():
    require_environment()
    tmp = tempfile.mkdtemp(prefix="kplug-replay-")
    stream = os.path.join(tmp, "host.events")
    # Record: the present devices, then one real uevent from the kernel.
    rec = subprocess.Popen([KPLUG, "monitor", "--json", "--record", stream, "--coldplug"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if os.path.exists(stream) and sum(1 for _ in open(stream)) > 10:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    write_uevent("/devices/virtual/net/lo", "change")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and '"source":"kernel"' not in open(stream).read():
        time.sleep(0.1)
    rec.terminate()
    _, err = rec.communicate(timeout=10)
    lines = [json.loads(l) for l in open(stream)]
    check("kplug_record" in lines[0] and lines[0]["kernel"] == os.uname().release,
          f"the header names the format and the kernel: {lines[0]}")
    cold = [l for l in lines[1:] if l["source"] == "coldplug"]
    live = [l for l in lines[1:] if l["source"] == "kernel" and l["devpath"] == "/devices/virtual/net/lo"]
    check(len(cold) > 10 and live, f"{len(cold)} coldplug events, then the real change of lo ({len(live)})")
    check(f"recorded {len(lines) - 1} event(s) to {stream}" in err, f"SIGTERM ends the recording, counted: {err.strip()}")

    # Replay: the same decisions as kplug test, summed up.
    r = run("replay", stream, "--modules-dir", MODULES_DIR, "--rules", RULES, "--json")
    check(r.returncode == 0, f"replay runs: {r.stderr.strip()[-300:]}")
    out = [json.loads(l) for l in r.stdout.splitlines()]
    summary = out[-1]
    decisions = [m for m in out if m["type"] == "decision"]
    check(summary["type"] == "summary" and summary["events"] == len(lines) - 1 == len(decisions),
          f"a decision for each of the {len(lines) - 1} events, and the summary: {summary['events']}")
    loaded = {m["module"] for m in summary["loaded"]}
    with_module = [c for c in cold if "MODALIAS" in c["properties"]]
    agree = 0
    for c in with_module[:40]:
        one = os.path.join(tmp, "one.event")
        with open(one, "w") as f:
            f.write(json.dumps(c) + "\n")
        t = run("test", "--modules-dir", MODULES_DIR, "--rules", RULES, "--event", one)
        for ln in t.stdout.splitlines():
            if ln.startswith("  would load "):
                module = ln.split()[2].rstrip(":")
                if module not in loaded:
                    fail(f"kplug test would load {module} for {c['devpath']}, replay did not: {sorted(loaded)}")
                agree += 1
    check(agree > 0, f"every module kplug test would load for the recorded devices is in replay's loads ({agree})")
    text = run("replay", stream, "--modules-dir", MODULES_DIR, "--rules", RULES, "--summary")
    check(f"replayed {len(lines) - 1} event(s)" in text.stdout and "would load:" in text.stdout,
          "the text summary: " + text.stdout.strip().splitlines()[0])

    # A replay loads nothing and says so: its loads read "would load", with no load time,
    # and the replayed kplugd's own log lines ("loaded X in 0.0 ms") are not printed.
    full = run("replay", stream, "--modules-dir", MODULES_DIR, "--rules", RULES, "--log-level", "info")
    said = full.stdout + full.stderr
    check(" would load (" in full.stdout and " loaded (" not in said and "loaded " not in full.stderr
          and " ms" not in full.stdout.split("\nreplayed ")[0],
          "a replay's report says 'would load' with no load time, and no log line says 'loaded'")

    # Preview a change: the same rules differ nowhere; a blacklist differs where it bites.
    same = run("replay", stream, "--modules-dir", MODULES_DIR, "--rules", RULES, "--against", RULES)
    check(same.returncode == 0 and f"0 of {len(lines) - 1} event(s) differ" in same.stdout,
          f"--against the same rules: nothing differs, exit 0 ({same.stdout.strip().splitlines()[-1]})")
    if loaded:
        victim = sorted(loaded)[0]
        new_rules = os.path.join(tmp, "new-rules")
        os.mkdir(new_rules)
        for name in os.listdir(RULES):
            if name.endswith(".yaml"):
                with open(os.path.join(RULES, name)) as src, open(os.path.join(new_rules, name), "w") as dst:
                    dst.write(src.read())
        with open(os.path.join(new_rules, "99-no.yaml"), "w") as f:
            f.write(f"- name: no-{victim}\n  match: {{}}\n  blacklist: [{victim}]\n")
        diff = run("replay", stream, "--modules-dir", MODULES_DIR, "--rules", RULES, "--against", new_rules)
        check(diff.returncode == 1 and f"{victim} is blacklisted" in diff.stdout and "before (--rules):" in diff.stdout,
              f"--against a rule blacklisting {victim}: the events it changes, both outcomes, exit 1 "
              f"({diff.stdout.strip().splitlines()[-1]})")

    # kplug test --event with several events; a long stream goes to replay.
    few = os.path.join(tmp, "few.events")
    with open(few, "w") as f:
        f.write("".join(json.dumps(l) + "\n" for l in lines[:4]))
    t = run("test", "--modules-dir", MODULES_DIR, "--rules", RULES, "--event", few)
    check(t.returncode == 0 and "=== event 3 of 3" in t.stdout, "kplug test --event explains each event of a short file")
    many = os.path.join(tmp, "many.events")
    with open(many, "w") as f:
        f.write("".join(json.dumps(cold[i % len(cold)]) + "\n" for i in range(150)))
    t = run("test", "--modules-dir", MODULES_DIR, "--rules", RULES, "--event", many)
    check(t.returncode == 3 and "kplug replay" in t.stderr, f"a long stream points to replay: {t.stderr.strip()}")

    # A bad line: refused, with its number.
    bad = os.path.join(tmp, "bad.events")
    with open(bad, "w") as f:
        f.write(json.dumps(lines[0]) + "\n" + json.dumps(cold[0]) + "\n{broken\n")
    b = run("replay", bad, "--modules-dir", MODULES_DIR, "--rules", RULES)
    check(b.returncode == 3 and f"{bad}: line 3: not a JSON object" in b.stderr, f"a bad line: {b.stderr.strip()}")


if __name__ == "__main__":
    main()
