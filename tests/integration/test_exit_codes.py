#!/usr/bin/env python3
"""One exit-status contract for every kplug verb (kplug(8) EXIT STATUS, `kplug --help`):
0 ran and all is well, 1 ran and found something, 2 bad command line, 3 could not do the
job. The table below runs every verb the way a script would, against a dry-run kplugd
and this host, and checks each code it can give here; a row that cannot happen on this
host (lsmod's 0 needs module support) says so and is covered where it can (vm.modverbs).
A reply kplugd sends when it has not settled in time is served by a fake socket: settle
and trigger --settle must call it 1, and a malformed reply 3."""
import json
import os
import socket
import subprocess
import tempfile
import threading

from common import BIN, MODULES_DIR, check, control_socket_path, fail, kplugd, require_environment

KPLUG = os.path.join(BIN, "kplug")
HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, "..", "..")
RULES = os.path.join(TOP, "rules")
RECORDING = os.path.join(TOP, "tests", "data", "replay", "usb-plugs.events")
NOBODY = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]


def fake_settle_server(reply):
    """A control socket that answers every request line with REPLY; its path."""
    path = control_socket_path()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                buf = b""
                while b"\n" not in buf:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    buf += chunk
                conn.sendall((json.dumps(reply) + "\n").encode())

    threading.Thread(target=serve, daemon=True).start()
    return path, server


def main():
    require_environment()
    tmp = tempfile.mkdtemp(prefix="kplug-exit-")
    os.chmod(tmp, 0o755)
    bad_rules = os.path.join(tmp, "bad.yaml")
    with open(bad_rules, "w") as f:
        f.write("- name: x\n  match: {subsytem: usb}\n")
    blacklisting = os.path.join(tmp, "black")
    os.mkdir(blacklisting)
    with open(os.path.join(blacklisting, "10-no-pcspkr.yaml"), "w") as f:
        f.write("- name: no-pcspkr\n  match:\n    devpath: /devices/platform/pcspkr\n  blacklist: [pcspkr]\n")
    deaf = os.path.join(tmp, "deaf")
    os.mkdir(deaf)
    with open(os.path.join(deaf, "10-deaf.yaml"), "w") as f:
        f.write("- name: deaf\n  match:\n    subsystem: \"*\"\n  ignore: true\n")
    black_config = os.path.join(tmp, "black.yaml")
    with open(black_config, "w") as f:
        f.write(f"rules_dirs: [{blacklisting}]\n")
    os.chmod(black_config, 0o644)
    lo = "/devices/virtual/net/lo"
    modules = ["--modules-dir", MODULES_DIR]
    nowhere = "/tmp/no-such-kplug.sock"

    sock = control_socket_path()
    d = kplugd("--dry-run", "--no-coldplug", "--control-socket", sock)
    late, late_server = fake_settle_server({"ok": False, "settled": False,
                                            "error": "timed out before kplugd settled (1 in flight)"})
    odd, odd_server = fake_settle_server({"ok": True, "settled": "maybe"})
    try:
        d.wait_for(lambda l: "starting" in l, what="kplugd's start")
        # verb, argv, expected code, why; prefix runs it as another user.
        table = [
            ("monitor", ["monitor", "--coldplug", "--count", "1"], 0, "one present device printed"),
            ("monitor", ["monitor", "--count", "0"], 2, "--count 0 is not a count"),
            ("monitor", ["monitor", "--decisions", "--count", "1", "--socket", nowhere], 3, "kplugd unreachable"),
            ("match", ["match", *modules, "platform:pcspkr"], 0, "a MODALIAS that a module matches"),
            ("match", ["match", *modules, "nothing:matches-this"], 1, "no module matches (modprobe -R exits 1)"),
            ("match", ["match", *modules], 2, "no MODALIAS and no --batch"),
            ("match", ["match", "--modules-dir", "/etc/passwd", "x"], 3, "the module index cannot be read"),
            ("rules check", ["rules", "check", RULES], 0, "the shipped rules are clean"),
            ("rules check", ["rules", "check", bad_rules], 1, "a problem in a rule file"),
            ("rules check", ["rules", "chek"], 2, "a mistyped nested verb"),
            ("rules check", ["rules", "check", "/nonexistent.yaml"], 3, "nothing to check"),
            ("test", ["test", *modules, "--rules", RULES, "--devpath", lo], 0, "a present device explained"),
            ("test", ["test", *modules, "--rules", RULES], 2, "neither --event nor --devpath"),
            ("test", ["test", *modules, "--rules", RULES, "--event", tmp], 3, "a directory is not an event file"),
            ("replay", ["replay", *modules, "--rules", RULES, "--summary", RECORDING], 0, "a recording replayed"),
            ("replay", ["replay", *modules, "--rules", RULES, RECORDING, "--against", RULES], 0,
             "the same rules: no difference"),
            ("replay", ["replay", *modules, "--rules", RULES, RECORDING, "--against", deaf], 1,
             "rules that ignore every event: the outcomes differ"),
            ("replay", ["replay", *modules, "--rules", RULES, RECORDING, "--against", bad_rules], 3,
             "the other rule set has a problem: no comparison"),
            ("replay", ["replay"], 2, "no FILE"),
            ("replay", ["replay", *modules, "--rules", RULES, tmp], 3, "a directory is not a recording"),
            ("info", ["info", lo], 0, "a present device"),
            ("info", ["info"], 2, "no DEVPATH"),
            ("info", ["info", "/devices/nope"], 3, "no such device"),
            ("doctor", ["doctor", *modules, "--socket", sock, lo], 0, "a device with nothing to autoload"),
            ("doctor", ["doctor", *modules, "--socket", sock, "--config", black_config, "/devices/platform/pcspkr"],
             1, "a device whose module a rule blacklists"),
            ("doctor", ["doctor", "--bogus"], 2, "an unknown option"),
            ("doctor", ["doctor", *modules, "--socket", sock, "/devices/nope"], 3, "no such device"),
            ("doctor", ["doctor", "--modules-dir", "/nonexistent/1.0", "--socket", sock], 3, "no module index"),
            ("status", ["status", "--socket", sock], 0, "kplugd answers"),
            ("status", ["status", "--format", "yaml", "--socket", sock], 2, "an unknown format"),
            ("status", ["status", "--socket", nowhere], 3, "kplugd unreachable"),
            ("loaded", ["loaded", "--socket", sock], 0, "kplugd answers"),
            ("loaded", ["loaded", "--socket", nowhere], 3, "kplugd unreachable"),
            ("reload", ["reload", "--socket", sock], 0, "root reloads"),
            ("reload", ["reload", "--socket", sock], 3, "a user may not reload", NOBODY),
            ("reload", ["reload", "extra"], 2, "an operand it does not take"),
            ("settle", ["settle", "--timeout", "10", "--socket", sock], 0, "kplugd settles"),
            ("settle", ["settle", "--timeout", "5", "--socket", late], 1, "not settled within the timeout"),
            ("settle", ["settle", "--timeout", "-1"], 2, "a negative timeout"),
            ("settle", ["settle", "--timeout", "0.5", "--socket", nowhere], 3, "kplugd did not come up"),
            ("settle", ["settle", "--timeout", "5", "--socket", odd], 3, "a reply kplugd never sends"),
            ("trigger", ["trigger", "--dry-run", "--subsystem", "net"], 0, "the devices listed, nothing written"),
            ("trigger", ["trigger", "--action", "remove"], 2, "remove is not an action it asks for"),
            ("trigger", ["trigger", "--subsystem", "net"], 3, "every write refused to a user", NOBODY),
            ("lsmod", ["lsmod", "extra"], 2, "an operand it does not take"),
            ("modinfo", ["modinfo", *modules, "--no-devices", "pcspkr"], 0, "a module of the index"),
            ("modinfo", ["modinfo"], 2, "no MODULE"),
            ("modinfo", ["modinfo", *modules, "no_such_module_anywhere"], 3, "an unknown module"),
            ("insmod", ["insmod"], 2, "no FILE"),
            ("insmod", ["insmod", "/nonexistent.ko"], 3, "no module support here, and no such file"),
            ("rmmod", ["rmmod"], 2, "no MODULE"),
            ("rmmod", ["rmmod", "no_such_module"], 3, "no module support here, and no such module"),
            ("completion", ["completion", "bash"], 0, "the bash script"),
            ("completion", ["completion", "tcsh"], 2, "an unknown shell"),
            ("help", ["help", "rules", "check"], 0, "a nested verb's options"),
            ("help", ["help", "nope"], 2, "no such verb"),
            ("status", ["status", "--log-level", "debug", "--socket", sock], 0, "--log-level after the verb"),
        ]
        if os.path.exists("/proc/modules"):
            fail("this host has module support: lsmod's 0 and the 3s of insmod/rmmod above need rows of their own")
        table.append(("lsmod", ["lsmod"], 3, "this kernel has no module support"))
        wrong = []
        for verb, argv, want, why, *prefix in table:
            r = subprocess.run([*(prefix[0] if prefix else []), KPLUG, *argv], capture_output=True, text=True,
                               timeout=120)
            said = (r.stderr.strip().splitlines() or [""])[-1][:100]
            print(f"  {verb:12} {want} {'ok ' if r.returncode == want else 'GOT ' + str(r.returncode)}  {why}"
                  f"{'' if r.returncode == want else ': ' + said}")
            if r.returncode != want:
                wrong.append(f"kplug {' '.join(argv)} exits {r.returncode}, not {want} ({why}): {said}")
            if want in (2, 3) and not r.stderr.strip():
                wrong.append(f"kplug {' '.join(argv)} exits {want} without saying why on stderr")
            # Every error names what said it: "kplug VERB: ...", or "kplug: unknown verb".
            first = (r.stderr.strip().splitlines() or [""])[0]
            if want in (2, 3) and not (first.startswith(f"kplug {verb}: ") or first.startswith("kplug: unknown verb")):
                wrong.append(f"kplug {' '.join(argv)}: the error does not start with 'kplug {verb}: ': {first[:100]}")
        verbs = {row[0].split()[0] for row in table}
        every = {"monitor", "match", "rules", "test", "replay", "info", "doctor", "status", "loaded", "reload",
                 "settle", "trigger", "lsmod", "modinfo", "insmod", "rmmod", "completion", "help"}
        check(verbs == every, f"the table covers every verb ({len(every)})")
        check(not wrong, f"{len(table)} rows: every verb's exit status follows the contract" +
              ("".join("\n  " + w for w in wrong) if wrong else ""))
        help_text = subprocess.run([KPLUG, "--help"], capture_output=True, text=True).stdout
        check("3 could not do the job" in help_text, "kplug --help states the contract")
        check(d.proc.poll() is None, "kplugd is still running after the table")
    finally:
        late_server.close()
        odd_server.close()
        d.stop()


if __name__ == "__main__":
    main()
