#!/usr/bin/env python3
"""kplug doctor, kplug info and the metrics, on the host (the VM scenario vm.doctor has
the real failures): with a dry-run kplugd, `kplug doctor` reads every present device,
reports kplugd's dry run, gives JSON with
the same facts whose summary counts exactly the listed verdicts; a missing fact (no
module index, a kernel that cannot load modules) makes the devices it concerns
"unknown" and exit 3, never a finding; without kplugd it says so; a rule's blacklist and a rule or
config key turning autoload off are named with their file (and line); a named device is
taken with or without /sys. `kplug info --attribute-walk` blocks pasted into a rule file make `kplug
test` match the device. `kplug status --format prometheus` and kplugd's --metrics-file
pass `promtool check metrics` (promtool from Debian's prometheus package, unpacked into
the build tree, never installed) and the file follows the counters."""
import json
import os
import re
import subprocess
import tempfile
import time

from common import BIN, MODULES_DIR, check, control_socket_path, fail, kplugd, require_environment, write_uevent

KPLUG = os.path.join(BIN, "kplug")


def run(*argv):
    return subprocess.run([KPLUG, *argv], capture_output=True, text=True, timeout=120)


def promtool():
    """BIN/tools/promtool, taken from Debian's prometheus package once."""
    dest = os.path.join(BIN, "tools", "promtool")
    if os.path.exists(dest):
        return dest
    work = tempfile.mkdtemp(prefix="kplug-promtool-")
    os.chmod(work, 0o777)  # apt-get download drops privileges to _apt
    r = subprocess.run(["apt-get", "download", "-q", "prometheus"], cwd=work, capture_output=True, text=True)
    if r.returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "download", "-q", "prometheus"], cwd=work, check=True)
    deb = [f for f in os.listdir(work) if f.endswith(".deb")][0]
    subprocess.run(["dpkg-deb", "-x", os.path.join(work, deb), os.path.join(work, "root")], check=True)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    os.replace(os.path.join(work, "root", "usr", "bin", "promtool"), dest)
    return dest


def check_metrics(text, what):
    r = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True, text=True)
    problems = (r.stdout + r.stderr).strip()
    check(r.returncode == 0 and not problems, f"promtool check metrics passes {what}" + (f": {problems}" if problems else ""))


def bound_device_with_parent():
    """A present device with a driver bound whose parent is a device too (pnp, platform)."""
    for top, dirs, files in os.walk("/sys/devices"):
        if top.count("/") > 6:
            dirs[:] = []
            continue
        if "driver" in dirs + files and "uevent" in files and os.path.exists(os.path.join(top, "..", "uevent")):
            return top[len("/sys"):]
    fail("no device with a bound driver and a parent device on this host")


def recorded_add(devpath, subsystem):
    """The kernel's own add event for DEVPATH, recorded by kplug monitor as a user would."""
    with tempfile.TemporaryDirectory() as tmp:
        rec = os.path.join(tmp, "add.events")
        mon = subprocess.Popen([KPLUG, "monitor", "--subsystem", subsystem, "--count", "1", "--record", rec],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while mon.poll() is None and time.monotonic() < deadline:
            if os.path.exists(rec):
                write_uevent(devpath, "add")
            time.sleep(0.3)
        if mon.poll() is None:
            mon.kill()
            fail(f"no add event recorded for {devpath}")
        lines = open(rec).read().splitlines()
    event = json.loads(lines[-1])
    # As the kernel sends it when the device appears: before a driver binds.
    event["properties"] = {k: v for k, v in event["properties"].items() if k != "DRIVER"}
    return json.dumps(event) + "\n"


def check_info_pasted():
    """kplug info's blocks, pasted as printed, are valid rules, each one matches a real add
    event of its device (recorded, without DRIVER), and none pairs action: add with driver:."""
    for devpath, subsystem in (("/devices/virtual/net/lo", "net"), (bound_device_with_parent(), None)):
        r = run("info", "--attribute-walk", "/sys" + devpath)
        blocks = [b for b in r.stdout.split("\n\n") if "- name:" in b]
        names = re.findall(r"^- name: (.*)$", r.stdout, re.M)
        check(r.returncode == 0 and blocks and len(names) == len(set(names)) and "attr:" in r.stdout
              and not re.search(r"^\s+driver:", r.stdout, re.M) and not re.search(r"env:\n(?!\s{6})", r.stdout),
              f"kplug info -a {devpath}: {len(blocks)} block(s), distinct names, attributes, no driver: key, no "
              f"empty env:")
        with tempfile.TemporaryDirectory() as rules:
            with open(os.path.join(rules, "60-pasted.yaml"), "w") as f:
                f.write(r.stdout)
            c = run("rules", "check", rules)
            check(c.returncode == 0, f"pasted whole, every block is a valid rule: {c.stdout.strip()} {c.stderr.strip()}")
            # The device's own block, without attributes (a recorded event carries none).
            own = run("info", devpath).stdout
            check(own.count("- name:") == 1 and "attr:" not in own, f"kplug info {devpath}: one block, no attr:")
            with open(os.path.join(rules, "60-pasted.yaml"), "w") as f:
                f.write(own)
            subsystem = subsystem or os.path.basename(os.readlink(f"/sys{devpath}/subsystem"))
            event = os.path.join(rules, "..", f"kplug-add-{os.getpid()}.events")
            with open(event, "w") as f:
                f.write(recorded_add(devpath, subsystem))
            t = run("test", "--modules-dir", MODULES_DIR, "--rules", rules, "--event", event)
            os.unlink(event)
            name = names[0].strip('"')
            check(f"MATCH    {name}" in t.stdout and "DRIVER=" not in t.stdout,
                  f"the device's block matches its real add event, recorded without DRIVER ({devpath})")
            t = run("test", "--modules-dir", MODULES_DIR, "--rules", rules, "--devpath", devpath)
            check(f"MATCH    {name}" in t.stdout and "DRIVER=" not in t.stdout,
                  "and kplug test --devpath reads the device as its add event, without DRIVER")


def check_device_names():
    """A device named as udevadm takes it: by sysname, /sys path through a class link,
    device node; the same answer as its devpath, in info, test --devpath and doctor; a
    name nothing has is said with exit 3; info piped into rules check - is a valid rule."""
    by_path = run("info", "/devices/virtual/net/lo").stdout
    for name in ("lo", "/sys/class/net/lo", "/sys/devices/virtual/net/lo"):
        check(run("info", name).stdout == by_path, f"kplug info {name} is kplug info /devices/virtual/net/lo")
    node = run("info", "/dev/null")
    check(node.returncode == 0 and "# device /devices/virtual/mem/null" in node.stdout,
          "kplug info /dev/null reads the device behind the node (/devices/virtual/mem/null)")
    t = run("test", "--modules-dir", MODULES_DIR, "--devpath", "lo")
    check(t.returncode == 0 and "DEVPATH=/devices/virtual/net/lo" in t.stdout, "kplug test --devpath lo")
    d = run("doctor", "--socket", "/nonexistent.sock", "--modules-dir", MODULES_DIR, "--json", "lo")
    check(d.returncode == 0 and [x["devpath"] for x in json.loads(d.stdout)["devices"]] == ["/devices/virtual/net/lo"],
          "kplug doctor lo looks at /devices/virtual/net/lo")
    nope = run("info", "no-such-device-name")
    check(nope.returncode == 3 and nope.stderr.startswith("kplug info: no device called 'no-such-device-name'"),
          f"a name no device has: exit 3, {nope.stderr.strip()}")
    piped = subprocess.run([os.path.join(BIN, "kplug"), "rules", "check", "-"], input=by_path,
                           capture_output=True, text=True)
    check(piped.returncode == 0 and "1 rule(s) in 1 file(s), no problems" in piped.stdout,
          f"kplug info lo | kplug rules check -: {piped.stdout.strip()}")
    bad = subprocess.run([os.path.join(BIN, "kplug"), "rules", "check", "-"], input="- name: x\n  lod: [a]\n",
                         capture_output=True, text=True)
    check(bad.returncode == 1 and bad.stdout.startswith("<stdin>:2:3: "),
          f"a problem on standard input is reported as <stdin>:LINE:COLUMN: {bad.stdout.splitlines()[0]}")


def check_summary(report):
    """The JSON summary counts exactly what the device list says, verdict by verdict."""
    s = report["summary"]
    verdicts = ("driven", "not_driven", "no_module", "nothing_to_autoload", "unknown")
    listed = {v: sum(1 for x in report["devices"] if x["verdict"] == v) for v in verdicts}
    check(s["devices"] == len(report["devices"]) > 10 and all(s[v] == listed[v] for v in verdicts)
          and sum(listed.values()) == len(report["devices"]),
          f"the summary counts exactly the devices' verdicts: {s}")


def main():
    require_environment()
    # Without kplugd.
    r = run("doctor", "--socket", "/nonexistent.sock", "--modules-dir", MODULES_DIR, "/sys/devices/virtual/net/lo")
    check("kplugd: not running" in r.stdout and "nothing to autoload" not in r.stderr,
          f"doctor without kplugd says so: {r.stdout.splitlines()[0]}")

    # Autoload off and a rule's blacklist: doctor names the rule's file and line, or the
    # config key's file. The device: one present here that a module matches.
    common = ["--socket", "/nonexistent.sock", "--modules-dir", MODULES_DIR, "--json"]
    present = json.loads(run("doctor", *common).stdout)["devices"]
    # This host's kernel cannot load modules: which are live is unknowable, so doctor says
    # "cannot tell" for them; elsewhere they are "kplugd is not running".
    waiting = "kplugd_not_running" if os.path.exists("/proc/modules") else "no_module_support"
    wanting = [x for x in present if x["reason"] == waiting and x["modules"]]
    if not wanting:
        fail("no present device that a module of the Debian tree matches: doctor's rule reasons need one")
    # The device with the fewest modules (the walk's first may be a CPU, with a dozen):
    # the rule blacklists every one of them.
    chosen = min(wanting, key=lambda x: len(x["modules"]))
    dev, module = chosen["devpath"], chosen["modules"][0]["name"]
    names = ", ".join(m["name"] for m in chosen["modules"])
    with tempfile.TemporaryDirectory() as tmp:
        def config(name, rules_text, extra=""):
            rules = os.path.join(tmp, name)
            os.mkdir(rules)
            with open(os.path.join(rules, "10-doctor.yaml"), "w") as f:
                f.write(rules_text)
            path = os.path.join(tmp, name + ".yaml")
            with open(path, "w") as f:
                f.write(f"rules_dirs: [{rules}]\n{extra}")
            return path, os.path.join(rules, "10-doctor.yaml")
        by_path = lambda r: {x["devpath"]: x for x in json.loads(r.stdout)["devices"]}  # noqa: E731
        cfg, rule_file = config("black", f"- name: other\n  match:\n    subsystem: none\n"
                                         f"- name: no-{module}\n  match:\n    devpath: \"{dev}\"\n"
                                         f"  blacklist: [{names}]\n")
        x = by_path(run("doctor", "--config", cfg, *common, dev))[dev]
        check(x["reason"] == "blacklisted" and f"rule 'no-{module}' ({rule_file}:4)" in x["text"],
              f"{dev}: a rule's blacklist, with its file and line: {x['text']}")
        cfg, rule_file = config("quiet", f"- name: quiet\n  match:\n    devpath: \"{dev}\"\n  autoload: false\n")
        x = by_path(run("doctor", "--config", cfg, *common, dev))[dev]
        check(x["reason"] == "autoload_off" and f"rule 'quiet' ({rule_file}:1) sets autoload: false" in x["text"],
              f"a rule turning autoload off, with its file and line: {x['text']}")
        cfg, _ = config("off", "[]\n", "autoload: false\n")
        x = by_path(run("doctor", "--config", cfg, *common, dev))[dev]
        check(x["reason"] == "autoload_off" and f"autoload: false in {cfg}" in x["text"],
              f"the config key that turns autoload off, and its file: {x['text']}")

    sock = control_socket_path()
    metrics = os.path.join(tempfile.mkdtemp(prefix="kplug-metrics-"), "kplug.prom")
    d = kplugd("--dry-run", "--control-socket", sock, "--metrics-file", metrics)
    try:
        d.wait_for(lambda l: "coldplug complete" in l, what="coldplug")
        r = run("doctor", "--socket", sock, "--modules-dir", MODULES_DIR, "--json")
        report = json.loads(r.stdout)
        check(report["kplugd"]["running"] and report["kplugd"]["dry_run"], "doctor --json: kplugd runs, in a dry run")
        check_summary(report)
        reasons = {x["reason"] for x in report["devices"] if x["verdict"] in ("not_driven", "unknown")}
        if os.path.exists("/proc/modules"):
            dry = [x for x in report["devices"] if x["reason"] == "dry_run"]
            check(dry and r.returncode == 1, f"devices a module matches are not driven because of the dry run "
                                             f"({len(dry)}), exit {r.returncode}; reasons seen: {sorted(reasons)}")
        else:
            unknown = [x for x in report["devices"] if x["verdict"] == "unknown"]
            check(unknown and all(x["reason"] == "no_module_support" and "modprobe" not in x["advice"]
                                  for x in unknown) and r.returncode == 3
                  and "module_support" in report["missing_facts"],
                  f"a kernel without module support: {len(unknown)} device(s) 'unknown' (no_module_support), "
                  f"no modprobe advice, exit {r.returncode}; reasons seen: {sorted(reasons)}")
        text = run("doctor", "--socket", sock, "--modules-dir", MODULES_DIR).stdout
        check("dry-run mode" in text and re.search(r"\d+ device\(s\): \d+ driven", text),
              "the text report: kplugd's dry run and a summary line")

        # No module index: said once, the devices it concerns are unknown, exit 3.
        r = run("doctor", "--socket", sock, "--modules-dir", "/nonexistent/6.1.0-1-amd64", "--json")
        report = json.loads(r.stdout)
        check_summary(report)
        unknown = [x for x in report["devices"] if x["verdict"] == "unknown"]
        check(r.returncode == 3 and unknown and all(x["reason"] == "no_module_index" for x in unknown)
              and "does not exist" in report["missing_facts"].get("module_index", "")
              and report["summary"]["no_module"] == 0 and report["summary"]["not_driven"] == 0,
              f"without a module index: {len(unknown)} device(s) unknown, none 'no module', exit {r.returncode}")
        text = run("doctor", "--socket", sock, "--modules-dir", "/nonexistent/6.1.0-1-amd64")
        check(text.returncode == 3 and "module index: " in text.stdout and "CANNOT TELL" in text.stdout
              and "NO MODULE MATCHES" not in text.stdout,
              "the text report says which fact is missing and files no device under NO MODULE MATCHES")
        one = run("doctor", "--socket", sock, "--modules-dir", MODULES_DIR, "--json", "/sys/devices/virtual/net/lo")
        lo = json.loads(one.stdout)["devices"]
        check(len(lo) == 1 and lo[0]["devpath"] == "/devices/virtual/net/lo" and one.returncode == 0,
              f"one named device, with /sys: {lo[0]['verdict'] if lo else None}, exit {one.returncode}")

        # Metrics: the reply and the file, both valid; the file follows the counters.
        r = run("status", "--socket", sock, "--format", "prometheus")
        check(r.returncode == 0 and "kplug_loads_total{outcome=\"ok\"}" in r.stdout, "status --format prometheus")
        check_metrics(r.stdout, "on kplug status --format prometheus")
        deadline = time.monotonic() + 10
        while not os.path.exists(metrics) and time.monotonic() < deadline:
            time.sleep(0.2)
        first = open(metrics).read()
        check_metrics(first, f"on kplugd's {os.path.basename(metrics)}")
        received = lambda t: int(re.search(r"^kplug_events_received_total (\d+)", t, re.M).group(1))  # noqa: E731
        before = received(first)
        write_uevent("/devices/virtual/net/lo", "change")
        deadline = time.monotonic() + 15
        while received(open(metrics).read()) == before and time.monotonic() < deadline:
            time.sleep(0.5)
        check(received(open(metrics).read()) > before, "the metrics file is rewritten after an event (within 5 s)")
        check(not os.path.exists(metrics + ".tmp"), "and replaced atomically (no temporary file left)")
    finally:
        code = d.stop()
    check(code == 0, "kplugd stopped cleanly")
    last = open(metrics).read()
    check(re.search(r"^kplug_up 0$", last, re.M) and re.search(r"^kplug_ready 0$", last, re.M),
          "the metrics file kplugd leaves at stop says kplug_up 0 and kplug_ready 0")
    check_metrics(last, "on the file left at stop")
    r = run("status", "--socket", sock, "--format", "prometheus")
    check(r.returncode == 3 and re.search(r"^kplug_up 0$", r.stdout, re.M) and "is kplugd running?" in r.stderr,
          f"with kplugd down, status --format prometheus prints kplug_up 0 and exits 3: {r.stdout.splitlines()[-1:]}")
    check_metrics(r.stdout, "on the scrape of a stopped kplugd")

    check_info_pasted()
    check_device_names()
    bad = run("info", "/devices/../../etc")
    check(bad.returncode != 0, f"kplug info refuses a devpath that leaves /sys: {bad.stderr.strip()}")


if __name__ == "__main__":
    main()
