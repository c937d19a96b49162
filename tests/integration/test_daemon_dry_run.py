#!/usr/bin/env python3
"""kplugd --dry-run on the host's real netlink socket: writing `add` to the uevent file of
a present device makes it log the `would load` decision modprobe -R predicts; coldplug
covers every present device with a MODALIAS."""
import os
import time
import shutil
import re
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import BIN, MODULES_DIR, Process, control_socket_path, builtin_modules, check, fail, kplugd, modprobe_resolve, require_environment, write_uevent  # noqa


def present_devices():
    """(devpath, modalias, loadable modules) for every present device whose uevent carries a
    MODALIAS (what the kernel sends; a `modalias` file alone, as on /sys/devices/system/cpu,
    is no device)."""
    builtin = builtin_modules()
    out = []
    # os.walk does not follow links: /sys is full of loops.
    for d, _, files in sorted(os.walk("/sys/devices")):
        if "uevent" not in files:
            continue
        try:
            props = dict(l.split("=", 1) for l in open(os.path.join(d, "uevent")).read().splitlines() if "=" in l)
        except OSError:
            continue
        modalias = props.get("MODALIAS", "")
        if modalias:
            out.append((d[len("/sys"):], modalias, modprobe_resolve(modalias) - builtin))
    return out


def thread_stacks(pid):
    """The loader threads' stacks in /proc/PID/maps: 8 MiB less a guard page, read-write,
    right above the 4 KiB no-access guard (ASan's own large mappings have no such guard)."""
    rows = []
    for line in open(f"/proc/{pid}/maps"):
        lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
        rows.append((lo, hi, line.split()[1]))
    return [r for prev, r in zip(rows, rows[1:])
            if r[1] - r[0] == (8 << 20) - 4096 and r[2].startswith("rw")
            and prev[1] == r[0] and prev[1] - prev[0] == 4096 and prev[2].startswith("---")]


def main():
    require_environment()
    devices = present_devices()
    loadable = [d for d in devices if d[2]]
    if not loadable:
        fail("no present device has a MODALIAS that resolves to a loadable module in the Debian tree")
    devpath, modalias, modules = loadable[0]
    print(f"device under test: {devpath} MODALIAS={modalias} -> {sorted(modules)}")

    # Hotplug: one `add` written to sysfs, one decision logged.
    d = kplugd("--dry-run", "--no-coldplug")
    try:
        d.wait_for(lambda l: "starting" in l, what="the start-up line")
        line = d.wait_for(lambda l: l.endswith(")") and f"add {devpath} (" in l and "would load" in l,
                          what=f"a would-load line for {devpath}", poke=lambda: write_uevent(devpath))
        for m in modules:
            check(f"would load {m} (dry run)" in line, f"the decision names {m}")
        check(f"MODALIAS={modalias}" in line or "MODALIAS=" + modalias[:93] in line, "the decision names the MODALIAS")
        check("coldplug add" not in line, "--no-coldplug: the decision came from the kernel event")
        check("libsystemd" not in open(f"/proc/{d.proc.pid}/maps").read(),
              "not run by systemd (no NOTIFY_SOCKET, logging to stderr), kplugd does not map libsystemd")
        # Idle, kplugd keeps one fresh loader thread (the others stop 2 s after the last
        # work, their stacks unmapped); the next event is loaded as before.
        threads = lambda: int(re.search(r"Threads:\s+(\d+)", open(f"/proc/{d.proc.pid}/status").read()).group(1))  # noqa: E731
        deadline = time.monotonic() + 20
        while threads() > 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        check(threads() == 2, f"idle, kplugd is two threads: the loop and one waiting loader (threads: {threads()})")
        stacks = thread_stacks(d.proc.pid)
        check(len(stacks) == 1, f"and one loader thread's stack is mapped ({len(stacks)} of 8 MiB)")
        again = d.wait_for(lambda l: l.endswith(")") and f"add {devpath} (" in l and "would load" in l
                           and l != line, what=f"a second would-load line for {devpath}",
                           poke=lambda: write_uevent(devpath))
        check(again is not None, "the next event is decided and loaded again")
    finally:
        code = d.stop()
    check(code == 0, f"kplugd stops cleanly on SIGTERM (exit {code})")
    check(any("kplugd stopped: received" in l for l in d.output()), "kplugd logs its counters when it stops")

    # A blacklist added to modprobe.d while kplugd runs counts from the next event on, with
    # no restart and no SIGHUP (the loader's context notices the change).
    conf = tempfile.mkdtemp(prefix="kplug-modprobe-")
    d = kplugd("--dry-run", "--no-coldplug", "--modprobe-config", conf)
    try:
        d.wait_for(lambda l: "starting" in l, what="the start-up line")
        d.wait_for(lambda l: f"add {devpath} (" in l and "would load" in l, what="a would-load line before",
                   poke=lambda: write_uevent(devpath))
        start = time.monotonic()
        with open(os.path.join(conf, "local.conf"), "w") as f:
            f.writelines(f"blacklist {m}\n" for m in modules)
        line = d.wait_for(lambda l: f"add {devpath} (" in l and "blacklisted in modprobe.d" in l,
                          what="the module blacklisted after the change", poke=lambda: write_uevent(devpath))
        print(f"measure: a new modprobe.d blacklist applied after {time.monotonic() - start:.2f} s")
        check(all(f"{m} is blacklisted in modprobe.d, not loading" in line for m in modules),
              "a blacklist added while kplugd runs applies to the next event")
    finally:
        d.stop()
        shutil.rmtree(conf, ignore_errors=True)

    # depmod while kplugd runs: a module that was not in the index (as before a DKMS
    # build) is found at the next event once the index is rebuilt.
    # Beside the tree (the same file system), so that hard links make the copy cheap.
    tree = tempfile.mkdtemp(prefix="kplug-tree-", dir=os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.dirname(MODULES_DIR)))))
    version = os.path.basename(MODULES_DIR)
    copy = os.path.join(tree, "lib", "modules", version)
    os.makedirs(os.path.dirname(copy))
    subprocess.run(["cp", "-al", MODULES_DIR, copy], check=True)
    module = sorted(modules)[0]
    ko = subprocess.run(["find", copy, "-name", f"{module}.ko*"], capture_output=True, text=True).stdout.split()
    check(len(ko) == 1, f"{module}'s file is in the tree copy")
    hidden = os.path.join(tree, os.path.basename(ko[0]))
    os.rename(ko[0], hidden)
    subprocess.run(["depmod", "-b", tree, version], check=True)
    d = Process([os.path.join(BIN, "kplugd"), "--modules-dir", copy, "--control-socket", control_socket_path(),
                 "--dry-run", "--no-coldplug"])
    try:
        d.wait_for(lambda l: "starting" in l, what="the start-up line")
        d.wait_for(lambda l: f"add {devpath} (" in l and (module not in l or "no module" in l),
                   what=f"a decision without {module}", poke=lambda: write_uevent(devpath))
        os.rename(hidden, ko[0])
        subprocess.run(["depmod", "-b", tree, version], check=True)
        start = time.monotonic()
        d.wait_for(lambda l: f"add {devpath} (" in l and f"would load {module} (dry run)" in l,
                   what=f"{module} found after depmod", poke=lambda: write_uevent(devpath))
        print(f"measure: a module added by depmod found after {time.monotonic() - start:.2f} s")
        check(any("module index or modprobe.d configuration" in l and "changed" in l for l in d.output()),
              "the index change is logged")
        check(True, f"after depmod, {module} is found with no restart")
    finally:
        d.stop()
        shutil.rmtree(tree, ignore_errors=True)

    # Coldplug: every present device's loadable modules are decided, then kplugd exits.
    c = kplugd("--dry-run", "--exit-after-coldplug")
    code = c.proc.wait(timeout=60)
    c.stop()
    out = c.output()
    check(code == 0, f"--exit-after-coldplug exits 0 (got {code})")
    check(any("coldplug complete" in l for l in out), "coldplug reports completion")
    for devpath, modalias, modules in loadable:
        lines = [l for l in out if f"coldplug add {devpath} (" in l]
        if len(lines) != 1:
            c.dump()
            fail(f"expected one coldplug decision for {devpath}, found {len(lines)}")
        for m in modules:
            if f"would load {m} (dry run)" not in lines[0]:
                c.dump()
                fail(f"coldplug of {devpath} does not say 'would load {m}'")
    check(True, f"coldplug decided all {len(loadable)} devices with loadable modules")

    # Overrun: a stopped kplugd with a tiny buffer misses a burst; it must say so, rescan
    # sysfs, decide every present device again without repeating what its rules did for
    # it (a `run:` on every add), and go on. Debug level shows the rescan's decisions.
    rules = tempfile.mkdtemp(prefix="kplug-rules-")
    shutil.copy(os.path.join(REPO, "rules", "00-autoload.yaml"), rules)
    with open(os.path.join(rules, "50-every-add.yaml"), "w") as f:
        f.write("- name: every-add\n  match: {action: add, env: {MODALIAS: '?*'}}\n"
                "  run: [/bin/true, '{DEVPATH}']\n  log: 'hello {DEVPATH}'\n")
    o = kplugd("--dry-run", "--receive-buffer", "4K", "--log-level", "debug", "--rules-dir", rules)
    try:
        o.wait_for(lambda l: "coldplug complete" in l, what="the coldplug", timeout=60)
        os.kill(o.proc.pid, signal.SIGSTOP)
        for _ in range(300):
            write_uevent("/devices/virtual/net/lo", "change")
        os.kill(o.proc.pid, signal.SIGCONT)
        o.wait_for(lambda l: "overrun" in l, what="the overrun report")
        # It rescans sysfs, and decides exactly what a clean coldplug decides.
        rescan_line = o.wait_for(lambda l: "rescan complete" in l, what="the rescan after the overrun", timeout=60)
        # It keeps working afterwards.
        o.wait_for(lambda l: f"add {devpath} (" in l and "would load" in l and "coldplug add" not in l,
                   what="a decision after the overrun", poke=lambda: write_uevent(devpath))
    finally:
        o.stop()
        shutil.rmtree(rules, ignore_errors=True)
    summary = [l for l in o.output() if "kplugd stopped:" in l]
    check(summary and re.search(r"overruns [1-9]", summary[0]) is not None and "rescans 1," in summary[0],
          f"the overrun is counted, and one rescan ran: {summary[0].split('stopped: ')[1] if summary else '(no summary)'}")
    check("(receive buffer overrun)" in rescan_line, f"the rescan's line says why: {rescan_line}")
    check(re.search(r": \d+ present device\(s\) decided again, 0 not seen before, 0 gone; would load ", rescan_line)
          and "rule actions not repeated for" in rescan_line,
          "the rescan is told in one summary line: nothing was new, the rules' actions not repeated")
    check(not any(" info " in l and "rescan add" in l for l in o.output()),
          "the rescan's per-device decisions are at debug level only")

    def per_device(lines, source, what):
        counts = {}
        for l in lines:
            m = re.search(rf"\b{source} add (\S+) \(\S*\): rule 'every-add': {what}", l)
            if m:
                counts[m.group(1)] = counts.get(m.group(1), 0) + 1
        return counts
    for what in ("would run", "hello"):
        cold, again = per_device(o.output(), "coldplug", what), per_device(o.output(), "rescan", what)
        check(cold and set(cold.values()) == {1} and not again,
              f"the rule's {what.split()[-1]} action: once for each of {len(cold)} devices at coldplug, "
              f"{sum(again.values())} times in the rescan")

    def would_load(lines, source="coldplug"):
        """(device, module) for every `would load` in SOURCE's decisions."""
        pairs = set()
        for l in lines:
            m = re.search(rf"\b{source} add (\S+) ", l)
            if m:
                pairs |= {(m.group(1), module) for module in re.findall(r"would load (\S+) \(dry run\)", l)}
        return pairs
    clean, rescanned = would_load(out), would_load(o.output(), "rescan")
    if clean != rescanned:
        fail(f"after the rescan: missing {sorted(clean - rescanned)}, extra {sorted(rescanned - clean)}")
    check(len(clean) > 0, f"the rescan decided the same {len(clean)} (device, module) loads as a clean coldplug")

    # Start-up failures are clear and have the documented exit code.
    bad = Process([os.path.join(BIN, "kplugd"), "--dry-run", "--modules-dir", "/nonexistent/9.9"])
    check(bad.proc.wait(timeout=10) == 3, "a missing modules tree stops start-up with exit code 3")
    bad.stop()
    check(any("does not exist" in l for l in bad.output()), "and says the directory does not exist")

    # An unreadable config stops start-up and names the file and the cause -- never a
    # silent fall back to defaults. Root reads anything, so the unreadable case drops
    # CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH with setpriv.
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "config.yaml")
        with open(config, "w") as f:
            f.write("log_level: info\n")
        os.chmod(config, 0)
        cases = [
            ("a config that is a directory", [], tmp, "it is a directory"),
            ("an unreadable config", ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"],
             config, "Permission denied"),
            ("a missing config named with --config", [], os.path.join(tmp, "none.yaml"), "No such file"),
        ]
        for what, wrapper, path, cause in cases:
            p = Process(wrapper + [os.path.join(BIN, "kplugd"), "--dry-run", "--config", path])
            code = p.proc.wait(timeout=10)
            p.stop()
            said = [l for l in p.output() if "cannot read the config file" in l]
            check(code == 3 and said and path in said[0] and cause in said[0],
                  f"{what}: exit {code}, {said[0].split('error', 1)[-1].strip() if said else '(nothing said)'}")


if __name__ == "__main__":
    main()
