#!/usr/bin/env python3
"""The tutorial is tested: every command that docs/tutorial.md ("Play with Linux") and the
kmods/*/README.md files tell the reader to type in the VM is run there, in order, in one
shell per stretch of commands (so `cd`, `exec 3< FILE` and `&` jobs carry on as they
would for the reader), and

- the output the README shows must appear in the real output, line by line in order
  (dmesg and kplugd timestamps are ignored, and every number matches any number, so
  sizes, pids and timings may differ; `...` marks lines left out);
- a command must succeed unless its shown output is an error ("error", or kplug's own
  "kplug VERB: ..." line for a `kplug VERB` command);
- every `<!-- check: ... -->` comment between the blocks is verified against the kernel
  itself (/proc/modules, /sys/module, /sys/devices, dmesg, kplugd's ledger);
- each README leaves the VM with the modules it found loaded.

What the reader types in ```console blocks: `$ CMD` lines run in the VM's shell;
`(qemu) CMD` lines go to QEMU's monitor (device_add, device_del). ```sh blocks are for the
host; their `make` lines are what tests/vm/kplugvm.py runs to build the modules.

usage: test_docs.py            run and check every README
       test_docs.py --print [FILE...]   run and print the real outputs, README-style
"""
import os
import re
import shlex
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kplugvm import TOP, VM, VMError, run_main  # noqa: E402

# In the order docs/tutorial.md walks through them.
TUTORIAL = ["docs/tutorial.md"] + [f"kmods/{d}/README.md" for d in
                            ("insmod", "modinfo", "lsmod", "rmmod", "hotplug", "usb_hello")]
CHECK = re.compile(r"<!--\s*check:\s*(.*?)\s*-->", re.S)


# ---------------------------------------------------------------- reading the READMEs

def sessions(path):
    """The steps of PATH: ("sh", cmd, expected), ("qemu", cmd, expected), ("check", words)."""
    with open(os.path.join(TOP, path)) as f:
        text = f.read()
    steps, in_block, fence = [], False, None
    for line in text.splitlines():
        if line.startswith("```"):
            if in_block:
                in_block = False
            else:
                fence = line[3:].strip()
                in_block = True
            continue
        if in_block:
            if fence != "console":
                continue
            if line.startswith("$ "):
                steps.append(("sh", line[2:], []))
            elif line.startswith("(qemu) "):
                steps.append(("qemu", line[7:], []))
            elif steps and steps[-1][0] in ("sh", "qemu"):
                steps[-1][2].append(line)
        else:
            for m in CHECK.finditer(line):
                steps.append(("check", m.group(1).split(), []))
    return steps


# ---------------------------------------------------------------- checks, compiled to shell

def check_shell(words):
    """A shell snippet for one check; it prints what it saw when the check fails."""
    kind, args = words[0], words[1:]
    q = shlex.quote
    if kind == "loaded":
        return " && ".join(f"grep -q '^{m} ' /proc/modules" for m in args), f"loaded: {' '.join(args)}"
    if kind == "not-loaded":
        return " && ".join(f"! grep -q '^{m} ' /proc/modules" for m in args), f"not loaded: {' '.join(args)}"
    if kind == "refcount":
        m, n = args
        return (f"[ \"$(awk '$1==\"{m}\"{{print $3}}' /proc/modules)\" = {n} ]",
                f"{m}'s refcount in /proc/modules is {n}")
    if kind == "holders":
        m, holders = args[0], " ".join(sorted(args[1:]))
        return (f"[ \"$(ls /sys/module/{m}/holders | sort | tr '\\n' ' ' | sed 's/ $//')\" = {q(holders)} ]",
                f"/sys/module/{m}/holders is {holders or 'empty'}")
    if kind == "param":
        m, p, v = args[0], args[1], " ".join(args[2:])
        return f"[ \"$(cat /sys/module/{m}/parameters/{p})\" = {q(v)} ]", f"/sys/module/{m}/parameters/{p} is {v}"
    if kind == "exists":
        return " && ".join(f"[ -e {q(p)} ]" for p in args), f"exists: {' '.join(args)}"
    if kind == "missing":
        return " && ".join(f"[ ! -e {q(p)} ]" for p in args), f"missing: {' '.join(args)}"
    if kind == "dmesg":
        text = " ".join(args)
        return f"dmesg | grep -qF -- {q(text)}", f"dmesg says {text!r}"
    if kind == "kplugd-loaded":
        m, dev = args
        return (f"kplug loaded --json | grep -q '\"{m}\":{{[^}}]*\"devices\":\\[[^]]*\"{dev}\"'",
                f"kplugd's ledger: it loaded {m} for {dev}")
    if kind == "kplugd-log":
        text = " ".join(args)
        return f"grep -qF -- {q(text)} /tmp/kplugd.log", f"kplugd's log says {text!r}"
    raise VMError(f"unknown check '{kind}'")


# ---------------------------------------------------------------- running them

NUMBER = re.compile(r"\d+")
TIMESTAMP = re.compile(r"^(\[\s*\d+\.\d+\]|\d\d:\d\d:\d\d\.\d+)\s*")


def normal(line):
    return " ".join(TIMESTAMP.sub("", line).split())


def shows_failure(command, expected):
    """True when the output the README shows for COMMAND is an error: a line saying
    "error" (insmod: ERROR: ...), or kplug's own error line, which starts with the verb
    that says it ("kplug insmod: ..." for `[sudo] kplug insmod ...`)."""
    words = [w for w in command.split() if w != "sudo"]
    prefix = f"kplug {words[1]}: " if len(words) > 1 and words[0] == "kplug" else None
    return any("error" in e.lower() or (prefix and e.startswith(prefix)) for e in expected)


def pattern(expected):
    return re.compile(NUMBER.sub(r"\\d+", re.escape(normal(expected)).replace(r"\ ", " ")))


def missing_lines(expected, actual):
    """The expected lines (a subsequence, numbers as wildcards) not found in ACTUAL."""
    lines = [normal(a) for a in actual.splitlines()]
    i = 0
    for e in expected:
        if not e.strip() or e.strip() == "...":
            continue
        p = pattern(e)
        while i < len(lines) and not p.fullmatch(lines[i]):
            i += 1
        if i == len(lines):
            return e
        i += 1
    return None


class Reader:
    """Types a README's commands into the VM and checks what comes back."""

    def __init__(self, vm, printing):
        self.vm = vm
        self.printing = printing
        self.cwd = "/root"
        self.commands = 0
        self.checks = 0

    def run_chunk(self, steps, where):
        script = [f"cd {shlex.quote(self.cwd)}"]
        for i, (kind, what, _) in enumerate(steps):
            script.append(f"printf '\\n@@STEP {i}\\n'")
            if kind == "sh":
                script += [what, f"printf '\\n@@RC %d\\n' $?"]
            else:
                snippet, _ = check_shell(what)
                script.append(f"if {snippet}; then printf '\\n@@RC 0\\n'; else printf '\\n@@RC 1\\n'; fi")
        script.append("printf '\\n@@CWD %s\\n' \"$(pwd)\"")
        out = self.vm.run("\n".join(script), timeout=300, check=False)
        parts = re.split(r"\n?@@STEP (\d+)\n", out)
        results = {}
        for idx, body in zip(parts[1::2], parts[2::2]):
            m = re.search(r"\n?@@RC (\d+)\n", body)
            results[int(idx)] = (body[:m.start()] if m else body, int(m.group(1)) if m else None)
        if m := re.search(r"@@CWD (\S+)", out):
            self.cwd = m.group(1)
        for i, (kind, what, expected) in enumerate(steps):
            output, rc = results.get(i, ("", None))
            if rc is None:
                raise VMError(f"{where}: the shell stopped before `{what}`:\n{out[-2000:]}")
            if kind == "check":
                self.checks += 1
                label = check_shell(what)[1]
                if self.printing:
                    print(f"<!-- check: {' '.join(what)} --> {'ok' if rc == 0 else 'FAILED'}")
                elif rc != 0:
                    raise VMError(f"{where}: check failed: {label}")
                else:
                    print(f"ok   {where}: {label}", flush=True)
                continue
            self.commands += 1
            if self.printing:
                print(f"$ {what}\n{output.rstrip()}" + ("" if rc == 0 else f"\n[exit {rc}]"))
                continue
            if rc != 0 and not shows_failure(what, expected):
                raise VMError(f"{where}: `{what}` exited {rc}:\n{output}")
            if (line := missing_lines(expected, output)) is not None:
                raise VMError(f"{where}: `{what}` did not print the line the README shows:\n  {line}\n"
                              f"it printed:\n{output}")
            print(f"ok   {where}: $ {what}", flush=True)

    def qemu(self, command, expected, where):
        self.commands += 1
        words = command.split()
        if words[0] == "device_del":
            self.vm.unplug(words[1])
            time.sleep(0.5)
            out = ""
        else:
            out = self.vm.qmp("human-monitor-command", **{"command-line": command}) or ""
            if words[0] == "device_add":
                time.sleep(2)  # USB enumeration; the reader waits as long before the next command
        if self.printing:
            print(f"(qemu) {command}\n{out.rstrip()}")
        elif (line := missing_lines(expected, out)) is not None:
            raise VMError(f"{where}: (qemu) {command} did not print {line!r}:\n{out}")
        else:
            print(f"ok   {where}: (qemu) {command}", flush=True)

    def read(self, path):
        steps = sessions(path)
        if not self.printing and (not any(s[0] != "check" for s in steps) or not any(s[0] == "check" for s in steps)):
            raise VMError(f"{path} has no tutorial session (```console commands) or no <!-- check: --> comment")
        self.cwd = "/root"
        before = self.vm.loaded_modules()
        chunk = []
        for step in steps:
            if step[0] == "qemu":
                if chunk:
                    self.run_chunk(chunk, path)
                    chunk = []
                self.qemu(step[1], step[2], path)
            else:
                chunk.append(step)
        if chunk:
            self.run_chunk(chunk, path)
        after = self.vm.loaded_modules()
        if before != after and not self.printing:
            raise VMError(f"{path} leaves the VM with other modules loaded: "
                          f"added {sorted(after - before)}, removed {sorted(before - after)}")


def main():
    printing = "--print" in sys.argv
    files = [a for a in sys.argv[1:] if not a.startswith("--")] or TUTORIAL
    with VM() as vm:
        vm.start_kplugd(grace="2s")  # as scripts/demo --shell starts it
        reader = Reader(vm, printing)
        for path in files:
            print(f"---- {path}", flush=True)
            reader.read(path)
        if not printing:
            print(f"PASS: {len(files)} READMEs, {reader.commands} commands and {reader.checks} checks in the VM")


if __name__ == "__main__":
    run_main(main)
