#!/usr/bin/env python3
"""Concrete lookup keys generated from a modules tree, for comparing kplug's resolver
with `modprobe -R` and for benchmarks.

usage: alias_keys.py MODULES_DIR [COUNT]   (prints keys, one per line)

Every Nth pattern of modules.alias is turned into a string it matches (`*` becomes
text, `?` a character, `[...]` its first member), then come keys that match builtin
modules, keys that match several modules, and keys that match nothing.
"""
import os
import re
import sys


def concretize(pattern: str, fill: str = "") -> str:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append(fill)
        elif c == "?":
            out.append("0")
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                out.append(c)
            else:
                members = pattern[i + 1:end]
                if members.startswith("!") or members.startswith("^"):
                    out.append("~")  # a character outside the usual hex/alnum classes
                else:
                    out.append(members[0])
                i = end
        else:
            out.append(c)
        i += 1
    return "".join(out)


def aliases(modules_dir: str):
    with open(os.path.join(modules_dir, "modules.alias"), encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "alias":
                yield parts[1], parts[2]


def builtin_aliases(modules_dir: str):
    path = os.path.join(modules_dir, "modules.builtin.modinfo")
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        entries = f.read().split(b"\0")
    out = []
    for e in entries:
        m = re.match(rb"^([^.]+)\.alias=(.+)$", e)
        if m:
            out.append(m.group(2).decode(errors="replace"))
    return out


def keys(modules_dir: str, count: int):
    patterns = [p for p, _ in aliases(modules_dir)]
    step = max(1, len(patterns) // count)
    chosen = [concretize(p) for p in patterns[::step]][:count]
    # A second filling for '*' exercises patterns whose wildcard must swallow text.
    chosen += [concretize(p, "X1") for p in patterns[step // 2::step * 4]][: count // 4]
    chosen += [concretize(a) for a in builtin_aliases(modules_dir)[::7]][:20]
    # cpu feature keys match many modules at once.
    chosen += [concretize(p) for p in patterns if p.startswith("cpu:type:x86")][:10]
    chosen += ["nothing:matches:this", "usb:v0000p0000d0000dc00dsc00dp00ic00isc00ip00in00",
               "pci:vFFFFFFFFdFFFFFFFFsvFFFFFFFFsdFFFFFFFFbcFFscFFiFF"]
    seen, unique = set(), []
    for k in chosen:
        if k and k not in seen and "\t" not in k and " " not in k:
            seen.add(k)
            unique.append(k)
    return unique


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    for k in keys(sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 400):
        print(k)
