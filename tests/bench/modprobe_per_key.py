#!/usr/bin/env python3
"""`modprobe -R` as a hotplug helper runs it: one process per key (what mdev and the
kernel's old /sbin/hotplug path cost). Prints microseconds per key in bench_resolve's form.

usage: modprobe_per_key.py MODULES_DIR KEYS_FILE [COUNT]
"""
import os
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    modules_dir, keys_file = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    with open(keys_file) as f:
        keys = [line.strip() for line in f if line.strip()]
    step = max(1, len(keys) // count)
    keys = keys[::step][:count]
    version = os.path.basename(modules_dir)
    root = os.path.dirname(os.path.dirname(os.path.dirname(modules_dir)))
    start = time.monotonic()
    for key in keys:
        subprocess.run(["modprobe", "-C", "/nonexistent", "-d", root, "-S", version, "-R", key],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    took = time.monotonic() - start
    print(f"modprobe -R, one process per key   {took / len(keys) * 1e6:8.3f} us/key  ({len(keys)} keys)")


if __name__ == "__main__":
    main()
