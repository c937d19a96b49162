#!/usr/bin/env python3
"""Checks that binaries are hardened as Debian's hardening-check would (with readelf, from
binutils): PIE, full RELRO (GNU_RELRO and BIND_NOW), the stack protector (__stack_chk_fail)
and _FORTIFY_SOURCE (a __*_chk function) in use. -fcf-protection is reported, not required:
the CET note survives linking only when every object linked in has it, and Debian 12's C
runtime start files do not.

usage: check_hardening.py BINARY...   exit 0 when every binary passes, 1 otherwise"""
import re
import subprocess
import sys


def readelf(*args):
    r = subprocess.run(["readelf", "-W", *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"check_hardening: readelf {' '.join(args)} failed: {r.stderr.strip()}")
    return r.stdout


def check(path):
    header, dynamic = readelf("-h", path), readelf("-d", path)
    segments, symbols, notes = readelf("-l", path), readelf("--dyn-syms", path), readelf("-n", path)
    results = {
        "PIE": "DYN (" in header and re.search(r"FLAGS_1.*\bPIE\b", dynamic) is not None,
        "RELRO": "GNU_RELRO" in segments,
        "BIND_NOW": re.search(r"\(FLAGS\).*\bBIND_NOW\b|\(FLAGS_1\).*\bNOW\b", dynamic) is not None,
        "stack protector": "__stack_chk_fail" in symbols,
        "FORTIFY": re.search(r"\b__\w+_chk\b", symbols) is not None,
    }
    cet = re.search(r"x86 feature: (.*)", notes)
    failed = [k for k, v in results.items() if not v]
    for k, v in results.items():
        print(f"{path}: {k}: {'yes' if v else 'NO'}")
    print(f"{path}: CET (-fcf-protection) marking: {cet.group(1) if cet else 'none (an object linked in lacks it)'}")
    return not failed


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    ok = all([check(p) for p in sys.argv[1:]])
    print("check_hardening: all hardened" if ok else "check_hardening: FAILED: a binary above lacks a protection")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
