#!/usr/bin/env python3
"""`kplug match` names exactly the modules `modprobe -R` names, key by key, over a few
hundred keys generated from the Debian tree's modules.alias (wildcards, character
classes, builtin modules, keys matching several modules, keys matching none), also on a
copy of the tree that holds only the index files."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (BIN, MODULES_DIR, TOOLS, builtin_modules, check, fail, modprobe_resolve,
                    require_environment)  # noqa: E402

sys.path.insert(0, TOOLS)
from alias_keys import keys as alias_keys  # noqa: E402


def kplug_match(modules_dir, keys):
    """kplug match's answers; exit 1 (like modprobe -R) when a key matches nothing."""
    r = subprocess.run([os.path.join(BIN, "kplug"), "match", "--modules-dir", modules_dir,
                        "--modprobe-config", "/nonexistent", "--batch"],
                       input="\n".join(keys) + "\n", capture_output=True, text=True)
    if r.returncode not in (0, 1):
        fail(f"kplug match exited {r.returncode}: {r.stderr}")
    check(r.stderr == "", "kplug match writes nothing to stderr")
    lines = r.stdout.split("\n")
    check(lines[-1] == "", "output ends with a newline")
    lines = lines[:-1]
    check(len(lines) == len(keys), f"one output line per key ({len(lines)} for {len(keys)})")
    result = {}
    for key, line in zip(keys, lines):
        if not line.startswith(key + "\t"):
            fail(f"line {line!r} does not start with the key {key!r} and a TAB")
        names = line[len(key) + 1:]
        if names and (names != names.strip() or "  " in names):
            fail(f"names for {key!r} are not single-space separated: {names!r}")
        result[key] = names.split(" ") if names else []
    none = any(not v for v in result.values())
    check(r.returncode == (1 if none else 0), f"kplug match exits {r.returncode}: 1 exactly when a key matches nothing")
    return result


def main():
    require_environment()
    keys = alias_keys(MODULES_DIR, 400)
    check(len(keys) >= 300, f"{len(keys)} keys generated from modules.alias")
    expected = {k: modprobe_resolve(k) for k in keys}
    got = kplug_match(MODULES_DIR, keys)
    mismatches = [(k, sorted(expected[k]), got[k]) for k in keys if set(got[k]) != expected[k]]
    for k, e, g in mismatches[:20]:
        print(f"MISMATCH {k}: modprobe {e}, kplug {g}", file=sys.stderr)
    check(not mismatches, f"all {len(keys)} keys resolve to modprobe's set")
    check(all(len(v) == len(set(v)) for v in got.values()), "no module is listed twice for a key")

    # The coverage the comparison must include, so the test cannot pass on easy keys alone.
    builtin = builtin_modules()
    check(sum(1 for v in got.values() if v) >= 300, "at least 300 keys match a module through a wildcard pattern")
    check(sum(1 for v in got.values() if not v) >= 3, "keys that match nothing are covered")
    check(sum(1 for v in got.values() if len(v) > 1) >= 3, "keys that match several modules are covered")
    check(any(set(v) & builtin for v in got.values()), "keys that match builtin modules are covered")

    # A tree of nothing but the index files resolves the same.
    with tempfile.TemporaryDirectory() as tmp:
        only = os.path.join(tmp, os.path.basename(MODULES_DIR))
        os.mkdir(only)
        for name in os.listdir(MODULES_DIR):
            if name.startswith("modules."):
                shutil.copy(os.path.join(MODULES_DIR, name), only)
        check(not any(n.endswith(".ko") or n.endswith(".ko.xz") for _, _, fs in os.walk(only) for n in fs),
              "the index-only tree has no module files")
        check(kplug_match(only, keys) == got, "an index-only tree gives the same answers")

    r = subprocess.run([os.path.join(BIN, "kplug"), "match", "--modules-dir", "/nonexistent/1.0"],
                       capture_output=True, text=True)
    check(r.returncode == 2, "no keys and no --batch is a usage error (exit 2)")
    r = subprocess.run([os.path.join(BIN, "kplug"), "match", "--modules-dir", "/nonexistent/1.0", "x"],
                       capture_output=True, text=True)
    check(r.returncode == 3 and "does not exist" in r.stderr and r.stdout == "",
          "a missing modules directory is a clear error on stderr (exit 3: could not)")


if __name__ == "__main__":
    main()
