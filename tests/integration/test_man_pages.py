#!/usr/bin/env python3
"""The man pages say what --help says: every long flag each kplug verb's --help lists is in
that verb's entry of kplug(8), and every flag of kplugd --help is in kplugd(8). And the
journal is documented as the code writes it: every KPLUG_ACTION the code logs has a
MESSAGE_ID, and kplugd(8) and docs/service.md list every action (with its MESSAGE_ID)
and every KPLUG_ field."""
import os
import re
import shutil
import subprocess
import tempfile

from common import BIN, HERE, check, fail

MAN = os.path.join(HERE, "..", "..", "packaging", "man")
# An option line of CLI11's help: "  -F,--field TEXT  ..." or "  --json  ...".
FLAG = re.compile(r"^\s+(?:-\w,)?(--[a-z][a-z0-9-]*)", re.M)


def help_flags(*argv):
    r = subprocess.run([os.path.join(BIN, argv[0]), *argv[1:], "--help"], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{' '.join(argv)} --help exited {r.returncode}: {r.stderr.strip()}")
    # Only the options list: the footer's examples may use flags of other verbs.
    options = r.stdout.split("Options:", 1)[-1].split("\n\n", 1)[0] if "Options:" in r.stdout else r.stdout
    return set(FLAG.findall(options)) - {"--help", "--version"}


def verb_entries(text):
    """kplug(8)'s VERBS section: each entry from its '*verb*' line to the next one."""
    section = text.split("# VERBS", 1)[1].split("\n# ", 1)[0]
    entries, current = {}, None
    for line in section.splitlines():
        m = re.match(r"^\*([a-z]+(?: [a-z]+)?)\*", line)
        if m:
            current = m.group(1)
            entries[current] = ""
        if current:
            entries[current] += line + "\n"
    return entries


def main():
    kplug_man = open(os.path.join(MAN, "kplug.8.scd")).read()
    entries = verb_entries(kplug_man)
    r = subprocess.run([os.path.join(BIN, "kplug"), "--help"], capture_output=True, text=True)
    verbs = re.findall(r"^  ([a-z]+)\s", r.stdout.split("Subcommands:", 1)[1], re.M)
    check(len(verbs) >= 10, f"kplug --help lists {len(verbs)} verbs")
    missing = []
    for verb in verbs:
        names = [verb] if verb != "rules" else ["rules check"]
        argv = ["kplug", verb] if verb != "rules" else ["kplug", "rules", "check"]
        entry = "".join(entries.get(n, "") for n in names)
        if not entry:
            missing.append(f"kplug(8) has no entry for '{names[0]}'")
            continue
        for flag in sorted(help_flags(*argv)):
            if f"*{flag}*" not in entry:
                missing.append(f"kplug(8) '{names[0]}' lacks {flag}")
    kplugd_man = open(os.path.join(MAN, "kplugd.8.scd")).read()
    for flag in sorted(help_flags("kplugd")):
        if f"*{flag}*" not in kplugd_man:
            missing.append(f"kplugd(8) lacks {flag}")
    # The journal: actions with their MESSAGE_IDs (base/logging.cpp), actions and fields used.
    src = os.path.join(HERE, "..", "..", "src")
    code = ""
    for folder, _, files in os.walk(src):
        for f in files:
            if f.endswith((".cpp", ".hpp")):
                code += open(os.path.join(folder, f)).read()
    ids = dict(re.findall(r'\{"([a-z_]+)", "([0-9a-f]{32})"\}', open(os.path.join(src, "base", "logging.cpp")).read()))
    # Logged by name, and the load report's (plan/load_report.cpp: "load_failed", "load", ...).
    report = open(os.path.join(src, "plan", "load_report.cpp")).read().split("std::string action =", 1)[1].split(";", 1)[0]
    used = set(re.findall(r'"KPLUG_ACTION", "([a-z_]+)"', code)) | set(re.findall(r'"([a-z_]+)"', report))
    fields = set(re.findall(r'"(KPLUG_[A-Z_]+)"', code))
    check(len(ids) >= 15, f"{len(ids)} MESSAGE_IDs in base/logging.cpp")
    readme = open(os.path.join(HERE, "..", "..", "docs", "service.md")).read()  # the journal tables
    for action in sorted(used - set(ids)):
        missing.append(f"KPLUG_ACTION={action} is logged but has no MESSAGE_ID")
    for action, mid in sorted(ids.items()):
        if not re.search(rf"\b{action}\b", kplugd_man.split("KPLUG_ACTION", 1)[1].split("|  MODULE", 1)[0]):
            missing.append(f"kplugd(8) does not list KPLUG_ACTION {action}")
        if f"| `{action}` | `{mid}` |" not in readme:
            missing.append(f"docs/service.md's journal table lacks `{action}` with its MESSAGE_ID {mid}")
    for field in sorted(fields):
        if field not in kplugd_man:
            missing.append(f"kplugd(8) does not describe the field {field}")
        if f"| `{field}` |" not in readme:
            missing.append(f"docs/service.md's field table lacks {field}")
    # The catalog: one entry per MESSAGE_ID, each saying what to do, and journalctl reads it.
    catalog_file = os.path.join(HERE, "..", "..", "packaging", "systemd", "kplug.catalog")
    catalog = dict(re.findall(r"^-- ([0-9a-f]{32})\n(.*?)(?=^-- |\Z)", open(catalog_file).read(), re.M | re.S))
    for action, mid in sorted(ids.items()):
        if mid not in catalog:
            missing.append(f"kplug.catalog has no entry for {action} ({mid})")
        elif not re.search(r"^Subject: .+", catalog[mid], re.M) or len(catalog[mid].split("\n\n", 1)[-1]) < 80:
            missing.append(f"kplug.catalog's entry for {action} lacks a Subject or an explanation")
    for mid in sorted(set(catalog) - set(ids.values())):
        missing.append(f"kplug.catalog has an entry {mid} that no action uses")
    root = tempfile.mkdtemp(prefix="kplug-catalog-")
    os.makedirs(os.path.join(root, "usr/lib/systemd/catalog"))
    shutil.copy(catalog_file, os.path.join(root, "usr/lib/systemd/catalog"))
    subprocess.run(["journalctl", f"--root={root}", "--update-catalog"], check=True)
    listed = subprocess.run(["journalctl", f"--root={root}", "--list-catalog"], capture_output=True, text=True).stdout
    check(len(re.findall(r"^[0-9a-f]{32} kplug: ", listed, re.M)) == len(catalog) == len(ids),
          f"journalctl --update-catalog reads kplug.catalog: {len(catalog)} entries, one per MESSAGE_ID")
    shutil.rmtree(root)
    for m in missing:
        print(f"missing: {m}")
    check(not missing, f"every --help flag and every journal action and field is documented ({len(missing)} missing)")


if __name__ == "__main__":
    main()
