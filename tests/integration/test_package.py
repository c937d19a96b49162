#!/usr/bin/env python3
"""The service and the package: `scripts/package` builds a .deb whose metadata and file
list are right (Depends computed, /etc/kplug/config.yaml a conffile, maintainer scripts);
installed with dpkg into a throwaway root (no systemd there: the scripts must do nothing
harmful), every file lands where the README says and the binaries run; removal keeps the
conffile, purge removes it. The unit passes `systemd-analyze verify` (with its man pages
found), and the bash completion knows every verb and flag `kplug --help` lists."""
import os
import re
import shutil
import subprocess
import tempfile

from common import BIN, check, fail

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("KPLUG_BUILD_DIR") or BIN

EXPECTED = ["usr/sbin/kplugd", "usr/bin/kplug", "usr/lib/systemd/system/kplugd.service",
            "usr/lib/kplug/rules.d/00-autoload.yaml", "usr/lib/kplug/rules.d/50-kplug-demo.yaml",
            "usr/lib/kplug/rules.d/80-udev-drivers.yaml",
            "etc/kplug/config.yaml", "usr/share/doc/kplug/config.example.yaml", "usr/share/doc/kplug/rules.md",
            "usr/share/man/man8/kplugd.8", "usr/share/man/man8/kplug.8", "usr/share/man/man5/kplug.rules.5",
            "usr/share/bash-completion/completions/kplug"]


def sh(*argv, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        fail(f"{' '.join(argv)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r.stdout


def throwaway_root():
    """A directory dpkg can install into: its database, and a /bin/sh (busybox) for the
    maintainer scripts, which dpkg runs chrooted there."""
    root = tempfile.mkdtemp(prefix="kplug-root-")
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "bin", "tmp"):
        os.makedirs(os.path.join(root, d))
    open(os.path.join(root, "var/lib/dpkg/status"), "w").close()
    shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
    for applet in ("sh", "rm", "test", "["):
        os.symlink("busybox", os.path.join(root, "bin", applet))
    return root


def dpkg(root, *args):
    return sh("dpkg", f"--root={root}", "--force-depends", "--force-not-root",
              *args, env=dict(os.environ, PATH="/usr/sbin:/usr/bin:/sbin:/bin"))


def check_completion():
    def complete(*words):
        script = (f"source {TOP}/packaging/completion/kplug.bash; COMP_WORDS=({' '.join(repr(w) for w in words)}); "
                  f"COMP_CWORD={len(words) - 1}; _kplug; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
        return set(sh("bash", "-c", script).split())
    verbs = set(re.findall(r"^  (\w+)  ", sh(os.path.join(BIN, "kplug"), "--help"), re.M))
    check(verbs and verbs <= complete("kplug", ""), f"completion offers every verb ({len(verbs)})")
    for verb in sorted(verbs):
        flags = set(re.findall(r"^\s+(?:-\w,)?(--[a-z][a-z-]*)", sh(os.path.join(BIN, "kplug"), verb, "--help"), re.M))
        got = complete("kplug", verb, "--")
        if not flags <= got:
            fail(f"completion for 'kplug {verb} --' lacks {sorted(flags - got)}")
    check(True, "completion offers every flag of every verb's --help")
    check(complete("kplug", "rules", "") == {"check"}, "completion: kplug rules → check")
    check({"trace", "debug"} <= complete("kplug", "--log-level", ""), "completion: --log-level values")


def main():
    out = sh(os.path.join(TOP, "scripts", "package"), env=dict(os.environ, KPLUG_BUILD_DIR=BUILD)).split()
    deb = out[-1]
    check(deb.endswith("_amd64.deb") and os.path.exists(deb), f"scripts/package built {os.path.basename(deb)}")
    field = lambda name: sh("dpkg-deb", "-f", deb, name).strip()  # noqa: E731
    check(field("Package") == "kplug" and field("Version"), f"Package kplug, Version {field('Version')}")
    depends = field("Depends")
    for lib in ("libc6", "libkmod2", "libnl-3-200", "libsystemd0", "libudev1", "libyaml-cpp0.7", "libstdc++6"):
        if lib not in depends:
            fail(f"Depends lacks {lib}: {depends}")
    check(True, f"Depends is computed from the binaries: {depends}")
    files = {line.split()[-1].lstrip("./") for line in sh("dpkg-deb", "-c", deb).splitlines()}
    missing = [f for f in EXPECTED if f not in files]
    check(not missing, f"the package holds the {len(EXPECTED)} documented files" + (f" (missing {missing})" if missing else ""))
    control = tempfile.mkdtemp()
    sh("dpkg-deb", "-e", deb, control)
    check(open(os.path.join(control, "conffiles")).read().split() == ["/etc/kplug/config.yaml"],
          "/etc/kplug/config.yaml is a conffile")
    for script in ("postinst", "prerm", "postrm"):
        check(os.access(os.path.join(control, script), os.X_OK), f"{script} is there and executable")
    check("/run/systemd/system" in open(os.path.join(control, "postinst")).read(),
          "postinst enables the unit only where systemd runs")

    root = throwaway_root()
    dpkg(root, "-i", deb)
    status = sh("dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W", "-f=${Status}", "kplug")
    check(status == "install ok installed", f"dpkg --root installs it: {status} (its postinst ran in the root)")
    absent = [f for f in EXPECTED if not os.path.exists(os.path.join(root, f))]
    check(not absent, "every documented file is where the README says" + (f" (absent {absent})" if absent else ""))
    check(not os.path.exists(os.path.join(root, "etc/systemd")), "no systemd there: the scripts enabled nothing")
    version = sh(os.path.join(root, "usr/sbin/kplugd"), "--version").strip()
    check(version.startswith("kplugd "), f"the installed kplugd runs: {version}")
    sh(os.path.join(root, "usr/bin/kplug"), "rules", "check", os.path.join(root, "usr/lib/kplug/rules.d"))
    check(True, "the installed kplug accepts the installed rules")

    # The unit: verified against the installed binary and man pages.
    unit_dir = tempfile.mkdtemp()
    with open(os.path.join(root, "usr/lib/systemd/system/kplugd.service")) as f:
        unit = f.read().replace("ExecStart=/usr/sbin/kplugd", f"ExecStart={root}/usr/sbin/kplugd")
    with open(os.path.join(unit_dir, "kplugd.service"), "w") as f:
        f.write(unit)
    r = subprocess.run(["systemd-analyze", "verify", os.path.join(unit_dir, "kplugd.service")], capture_output=True,
                       text=True, env=dict(os.environ, MANPATH=os.path.join(root, "usr/share/man")))
    check(r.returncode == 0 and not r.stderr.strip(), "systemd-analyze verify passes the unit"
          + (f": {r.stderr.strip()}" if r.stderr.strip() else ""))
    for key in ("Type=notify", "ExecReload=", "Restart=on-failure", "WatchdogSec=", "RuntimeDirectory=kplug",
                "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "DevicePolicy=closed",
                # Ordered as a loader: before sysinit.target, without the default dependencies.
                "DefaultDependencies=no", "Before=sysinit.target", "WantedBy=sysinit.target",
                "RestrictAddressFamilies=AF_NETLINK AF_UNIX", "CapabilityBoundingSet=CAP_SYS_MODULE",
                "SystemCallFilter=@system-service @module"):
        if key not in unit:
            fail(f"the unit lacks {key}")
    check(True, "the unit has the service settings, ordering and hardening the README documents")
    # These two cannot work before sysinit.target (README, "The unit").
    for key in ("PrivateTmp=", "PrivateDevices=", "After=local-fs.target"):
        if re.search(rf"^{key}", unit, re.M):
            fail(f"the unit sets {key}, which would order it after local-fs.target or fail on a read-only root")
    check(True, "nor PrivateTmp=, PrivateDevices= or After=local-fs.target")
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", os.path.join(unit_dir, "kplugd.service")],
                       capture_output=True, text=True)
    m = re.search(r"Overall exposure level for kplugd.service: ([\d.]+)", r.stdout)
    check(m and float(m.group(1)) <= 3.0, f"systemd-analyze security: exposure {m.group(1) if m else '?'} (≤ 3.0)")

    with open(os.path.join(root, "etc/kplug/config.yaml"), "a") as f:
        f.write("log_level: debug\n")
    dpkg(root, "-r", "kplug")
    check(not os.path.exists(os.path.join(root, "usr/sbin/kplugd")) and
          "log_level: debug" in open(os.path.join(root, "etc/kplug/config.yaml")).read(),
          "dpkg -r removes the files and keeps the edited conffile")
    dpkg(root, "-P", "kplug")
    check(not os.path.exists(os.path.join(root, "etc/kplug/config.yaml")), "dpkg -P purges the conffile")
    shutil.rmtree(root)
    check_completion()


if __name__ == "__main__":
    main()
