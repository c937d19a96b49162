#!/usr/bin/env python3
"""The host examples in README.md and docs/usage.md are real: every ``` block that starts
with `$ kplug rules check docs/examples/...` or `$ kplug test ... --event docs/examples/...`
is run from the repository's top (with the Debian tree as --modules-dir where the block
names none or names $M; blocks that need the VM's tree with the demo modules are run
against the Debian tree and only their rule lines are compared), and every line the
block shows, other than `...`, must appear in the real output in the same order. The
example inputs they use must all be in docs/examples/."""
import os
import re
import shlex
import subprocess

from common import BIN, MODULES_DIR, check, fail

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOCS = ["README.md", "docs/usage.md"]


def blocks(path):
    found, body = [], None
    for line in open(os.path.join(TOP, path)).read().split("\n"):
        if line.startswith("```"):
            if body is None:
                body = [] if line == "```" else ["(not a plain block)"]
            else:
                found.append(body)
                body = None
        elif body is not None:
            body.append(line)
    for lines in found:
        if not lines:
            continue
        command = lines[0]
        rest = lines[1:]
        while command.endswith("\\") and rest:  # a command continued on the next line
            command = command[:-1] + rest.pop(0).strip()
        if re.match(r"\$ kplug (rules check|test) .*docs/examples/", command):
            yield command[2:], rest


def in_order(shown, real):
    at = 0
    for line in shown:
        if line.strip() == "...":
            continue
        try:
            at = real.index(line, at) + 1
        except ValueError:
            return line
    return None


def main():
    ran = 0
    for doc in DOCS:
        for command, shown in blocks(doc):
            argv = shlex.split(command)
            for arg in argv:
                if arg.startswith("docs/examples/") and not os.path.exists(os.path.join(TOP, arg)):
                    fail(f"{doc}: `{command}` uses {arg}, which is not in the repository")
            vm_tree = "$M" in argv
            argv = [os.path.join(BIN, "kplug")] + [MODULES_DIR if a == "$M" else a for a in argv[1:]]
            if argv[1] == "test" and "--modules-dir" not in argv:
                argv += ["--modules-dir", MODULES_DIR]
            r = subprocess.run(argv, capture_output=True, text=True, cwd=TOP)
            real = (r.stdout + r.stderr).split("\n")
            if vm_tree:  # the demo modules are not in Debian's tree: compare the rules part
                shown = [l for l in shown if not l.startswith(("modules:", "  would load", "on removal:"))]
            missing = in_order(shown, real)
            if missing is not None:
                fail(f"{doc}: `{command}` does not print, in this order, the line:\n  {missing}\n"
                     f"real output:\n{r.stdout}{r.stderr}")
            ran += 1
            check(True, f"{doc}: `{command}` prints what the page shows")
    check(ran >= 3, f"{ran} documented example commands ran")


if __name__ == "__main__":
    main()
