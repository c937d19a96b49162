#!/usr/bin/env python3
"""Rules end to end on the host: `kplug rules check` on good and bad files, kplugd
refusing to start on a bad rule file, `kplug test` on a recorded event and on a present
device, and SIGHUP reloads (a broken file keeps the old rules in force)."""
import json
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BIN, MODULES_DIR, check, kplugd, require_environment, write_uevent  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KPLUG = os.path.join(BIN, "kplug")


def run(*argv):
    return subprocess.run([KPLUG, *argv], capture_output=True, text=True)


def main():
    require_environment()
    shipped = os.path.join(TOP, "rules")
    r = run("rules", "check", shipped)
    check(r.returncode == 0 and "no problems" in r.stdout, f"the shipped rules are clean: {r.stdout.strip()}")
    demo = os.path.join(TOP, "docs", "examples", "50-kplug-demo.yaml")
    r = run("rules", "check", demo, os.path.join(TOP, "docs", "examples", "90-examples.yaml"))
    check(r.returncode == 0 and "no problems" in r.stdout, f"the example rules are clean: {r.stdout.strip()}")

    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "10-bad.yaml")
        with open(bad, "w") as f:
            f.write("- name: typo\n  match:\n    subsytem: usb\n  lod: [x]\n")
        r = run("rules", "check", bad)
        check(r.returncode == 1, "a bad file makes rules check exit 1")
        check(f"{bad}:3:5: unknown match key 'subsytem', did you mean 'subsystem'?" in r.stdout
              and f"{bad}:4:3: unknown rule key 'lod', did you mean 'load'?" in r.stdout,
              "every problem is reported as FILE:LINE:COLUMN: message")

        # kplugd refuses to start, with the same messages.
        d = kplugd("--dry-run", "--no-coldplug", "--rules-dir", tmp)
        code = d.proc.wait(timeout=20)
        d.stop()
        check(code == 3, f"kplugd refuses to start on a bad rule file (exit {code})")
        check(any(f"{bad}:3:5:" in l for l in d.output()), "and says where the problem is")

        # Reload: good rules first, then a broken file that must not replace them.
        os.unlink(bad)
        rules_dir = os.path.join(tmp, "rules")
        os.mkdir(rules_dir)
        with open(os.path.join(rules_dir, "10-log.yaml"), "w") as f:
            f.write('- name: say-lo\n  match: {subsystem: net}\n  log: "first {INTERFACE}"\n')
        d = kplugd("--dry-run", "--no-coldplug", "--rules-dir", rules_dir)
        try:
            d.wait_for(lambda l: "starting" in l and "1 rules from 1 files" in l, what="start-up with 1 rule")
            lo = "/devices/virtual/net/lo"
            d.wait_for(lambda l: "rule 'say-lo': first lo" in l, what="the first rule's log line",
                       poke=lambda: write_uevent(lo, "change"))
            with open(os.path.join(rules_dir, "10-log.yaml"), "w") as f:
                f.write('- name: say-lo\n  match: {subsystem: net}\n  log: "second {INTERFACE}"\n')
            os.kill(d.proc.pid, signal.SIGHUP)
            d.wait_for(lambda l: "reloaded: 1 rules from 1 files" in l, what="the reload")
            d.wait_for(lambda l: "rule 'say-lo': second lo" in l, what="the new rule in force",
                       poke=lambda: write_uevent(lo, "change"))
            with open(os.path.join(rules_dir, "20-broken.yaml"), "w") as f:
                f.write("- name: broken\n  match: {action: explode}\n")
            os.kill(d.proc.pid, signal.SIGHUP)
            d.wait_for(lambda l: "reload failed" in l, what="the failed reload")
            check(any("20-broken.yaml:2:19: unknown action 'explode'" in l for l in d.output()),
                  "a failed reload logs every error with its place")
            n = len(d.output())
            d.wait_for(lambda l: "rule 'say-lo': second lo" in l and d.output().index(l) >= n,
                       what="the old rules still in force", poke=lambda: write_uevent(lo, "change"))
        finally:
            code = d.stop()
        check(code == 0, "kplugd ran through both reloads")

        # kplug test on a recorded event: rules, modules and the reasons.
        event = os.path.join(tmp, "ccid.event")
        with open(event, "w") as f:
            f.write("ACTION=add\nDEVPATH=/devices/pci0000:00/0000:00:02.0/usb1/1-1/1-1:1.0\nSUBSYSTEM=usb\n"
                    "MODALIAS=usb:v0627p0001d0000dc00dsc00dp00ic03isc01ip01in00\n")
        r = run("test", "--rules", shipped, "--rules", demo, "--modules-dir", MODULES_DIR, "--event", event)
        check(r.returncode == 0, f"kplug test exits 0 ({r.stderr.strip()})")
        out = r.stdout
        check("MATCH    autoload (" in out and "no match usb-hello-demo (" in out, "it says which rules matched")
        check("modalias 'usb:v0627p0001d0000dc00dsc00dp00ic03isc01ip01in00' does not match 'usb:v08E6p4433*'" in out,
              "and which key made a rule fail")
        check("would load usbhid (dry run): MODALIAS usb:v0627p0001" in out, "which module would load and why")
        check("on removal: usbhid would be unloaded 5.0 s after the device goes" in out, "what happens on removal")

        # The same from a `kplug monitor --json` line, and a rule that runs a command.
        json_event = os.path.join(tmp, "lo.json")
        with open(json_event, "w") as f:
            f.write('{"action":"change","devpath":"/devices/virtual/net/lo","subsystem":"net","seqnum":7,'
                    '"properties":{"ACTION":"change","DEVPATH":"/devices/virtual/net/lo","SUBSYSTEM":"net",'
                    '"INTERFACE":"lo; $(id)","SEQNUM":"7"}}\n')
        run_rules = os.path.join(tmp, "run.yaml")
        with open(run_rules, "w") as f:
            f.write("- name: notify\n  match: {subsystem: net}\n  run: [/usr/bin/logger, -t, kplug, \"{INTERFACE}\"]\n")
        r = run("test", "--rules", run_rules, "--modules-dir", MODULES_DIR, "--event", json_event)
        check("rule 'notify' would run: '/usr/bin/logger' '-t' 'kplug' 'lo; $(id)'" in r.stdout,
              "commands are shown with their final argv, the value as one literal argument")

        check_named_loads_and_blacklists(tmp, shipped)

    # A present device, read from sysfs.
    dev = "/devices/pci0000:00/0000:00:01.0/virtio0"
    if os.path.exists("/sys" + dev):
        r = run("test", "--rules", shipped, "--modules-dir", MODULES_DIR, "--devpath", dev)
        check(r.returncode == 0 and "would load virtio_balloon" in r.stdout, "kplug test --devpath reads the device")
    # Input is bounded: /dev/zero as the event file ends at 16 MiB with a clear message;
    # /dev/null is an empty config (`ssh -F /dev/null`), other devices are not.
    r = subprocess.run([KPLUG, "test", "--rules", shipped, "--modules-dir", MODULES_DIR, "--event", "/dev/zero"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 3 and "larger than 16 MiB" in r.stderr, f"kplug test --event /dev/zero stops: {r.stderr.strip()}")
    ccid = os.path.join(TOP, "docs", "examples", "ccid.event")
    r = run("test", "--config", "/dev/null", "--rules", shipped, "--modules-dir", MODULES_DIR, "--event", ccid)
    check(r.returncode == 0, f"--config /dev/null is an empty config: every default ({r.stderr.strip()})")
    r = run("test", "--config", "/dev/zero", "--rules", shipped, "--modules-dir", MODULES_DIR, "--event", ccid)
    check(r.returncode == 3 and "character device" in r.stderr, "another device as the config is refused")
    r = run("test", "--devpath", "/devices/../../etc")
    check(r.returncode == 3 and "is not a device" in r.stderr and "/etc" in r.stderr, "a devpath that leaves /sys is refused")


def check_named_loads_and_blacklists(tmp, shipped):
    """As udevd's `kmod load` (and Debian's `modprobe -b` for sg): modprobe.d's blacklist
    applies to a module a rule names. A USB stick's scsi_device makes the shipped
    debian-scsi-sg rule load sg; an administrator's `blacklist sg` stops it, and kplug test
    names the file and line. A rule may opt out (load_blacklisted, warned about by rules
    check); a kplug rule's blacklist vetoes any rule's load."""
    scsi = os.path.join(tmp, "scsi.event")
    with open(scsi, "w") as f:
        f.write("ACTION=add\nDEVPATH=/devices/pci0000:00/0000:00:02.0/usb1/1-1/1-1:1.0/host0/target0:0:0/0:0:0:0\n"
                "SUBSYSTEM=scsi\nDEVTYPE=scsi_device\nMODALIAS=scsi:t-0x00\nSEQNUM=9\n")
    none, admin = os.path.join(tmp, "none.conf"), os.path.join(tmp, "no-sg.conf")
    open(none, "w").close()
    with open(admin, "w") as f:
        f.write("# the administrator's\nblacklist sg\n")

    def test(*args):
        return run("test", "--modules-dir", MODULES_DIR, "--event", scsi, *args)

    r = test("--rules", shipped, "--modprobe-config", none)
    check(r.returncode == 0 and "would load sg (dry run): rule 'debian-scsi-sg' loads it" in r.stdout,
          "the shipped rule loads sg for a scsi_device")
    r = test("--rules", shipped, "--modprobe-config", admin)
    want = f"sg is blacklisted in modprobe.d, not loading ({admin}:2): rule 'debian-scsi-sg' loads it"
    check(r.returncode == 0 and want in r.stdout, f"with 'blacklist sg' in modprobe.d it does not, naming the line: {want}")
    # The same event recorded and replayed: the summary names the blacklist's file and line.
    recording = os.path.join(tmp, "scsi.events")
    with open(recording, "w") as f:
        props = dict(line.split("=", 1) for line in open(scsi).read().split())
        f.write(json.dumps({"action": "add", "devpath": props["DEVPATH"], "subsystem": "scsi", "seqnum": 9,
                            "timestamp": 0.0, "source": "kernel", "properties": props}) + "\n")
    r = run("replay", recording, "--rules", shipped, "--modules-dir", MODULES_DIR, "--modprobe-config", admin)
    check(r.returncode == 0 and "not loaded, blacklisted: sg" in r.stdout and f"  sg: {admin}:2" in r.stdout,
          f"kplug replay names the modprobe.d line that kept sg from loading: {r.stdout.strip()[-200:]}")
    r = run("replay", recording, "--rules", shipped, "--modules-dir", MODULES_DIR, "--modprobe-config", admin,
            "--json", "--summary")
    summary = json.loads(r.stdout.splitlines()[-1])
    check(summary["blacklisted"] == [{"module": "sg", "times": 1, "where": f"{admin}:2"}],
          f"and its JSON summary: {summary.get('blacklisted')}")

    force = os.path.join(tmp, "force.yaml")
    with open(force, "w") as f:
        f.write("- name: force-sg\n  match: {action: add, subsystem: scsi}\n  load: [sg]\n  load_blacklisted: true\n")
    r = test("--rules", force, "--modprobe-config", admin)
    check(r.returncode == 0 and "would load sg (dry run): rule 'force-sg' loads it" in r.stdout,
          "a rule that says load_blacklisted: true loads it anyway")
    r = run("rules", "check", force)
    check(r.returncode == 0 and "warning: rule 'force-sg' loads sg even where modprobe.d blacklists it" in r.stdout,
          f"kplug rules check shows where a rule loads past the blacklist: {r.stdout.strip()}")

    veto = os.path.join(tmp, "veto.yaml")
    with open(veto, "w") as f:
        f.write("- name: no-sg\n  match: {subsystem: scsi}\n  blacklist: [sg]\n")
    r = test("--rules", veto, "--rules", shipped, "--modprobe-config", none)
    check(r.returncode == 0 and "sg is blacklisted by a rule: rule 'debian-scsi-sg' loads it" in r.stdout
          and "would load sg" not in r.stdout,
          "a kplug rule's blacklist vetoes another rule's load, even from an earlier file")


if __name__ == "__main__":
    main()
