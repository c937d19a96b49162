#!/usr/bin/env python3
"""The Debian package: `scripts/package --lintian` builds it with dpkg-buildpackage and
lintian -EvI --pedantic finds no error or warning; its metadata is right (Depends
computed, /etc/kplug/config.yaml a conffile, maintainer scripts through
deb-systemd-helper/deb-systemd-invoke). In an image root (dpkg --root, no running
systemd): the first install enables kplugd, every documented file is in place, the
shipped rules hold no demo rule; an administrator's disable survives an upgrade to a
higher version; remove keeps the edited conffile and purge leaves nothing. The unit passes
`systemd-analyze verify` (its man pages found) and `systemd-analyze security` ≤ 3.0."""
import os
import re
import shutil
import stat
import subprocess
import tempfile

from common import BIN, MODULES_DIR, check, fail

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("KPLUG_BUILD_DIR") or BIN

EXPECTED = ["usr/sbin/kplugd", "usr/bin/kplug", "lib/systemd/system/kplugd.service",
            "usr/lib/systemd/catalog/kplug.catalog",
            "usr/lib/kplug/rules.d/00-autoload.yaml", "usr/lib/kplug/rules.d/80-udev-drivers.yaml",
            "etc/kplug/config.yaml", "usr/share/doc/kplug/config.example.yaml", "usr/share/doc/kplug/rules.md.gz",
            "usr/share/doc/kplug/examples/50-kplug-demo.yaml", "usr/share/doc/kplug/examples/ccid.event",
            "usr/share/doc/kplug/copyright", "usr/share/doc/kplug/changelog.gz",
            "usr/share/man/man8/kplugd.8.gz", "usr/share/man/man8/kplug.8.gz", "usr/share/man/man5/kplug.rules.5.gz",
            "usr/share/bash-completion/completions/kplug", "usr/share/zsh/vendor-completions/_kplug",
            "usr/share/fish/vendor_completions.d/kplug.fish"]
# What an image root needs for the maintainer scripts: a shell, and deb-systemd-helper
# with the perl it runs on (copied from this machine's packages).
ROOT_PACKAGES = ["libc6", "libcrypt1", "dash", "perl-base", "perl-modules-5.36", "init-system-helpers"]
WANTS = "etc/systemd/system/sysinit.target.wants/kplugd.service"


def sh(*argv, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        fail(f"{' '.join(argv)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r.stdout


def image_root():
    """A directory like an image being built (mmdebstrap, debootstrap): a dpkg database,
    /dev/null, a shell and init-system-helpers, no running systemd. dpkg --root runs the maintainer
    scripts chrooted there."""
    root = tempfile.mkdtemp(prefix="kplug-root-")
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "usr/bin", "usr/sbin",
              "usr/lib", "usr/lib64", "tmp", "etc", "run"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for link in ("bin", "sbin", "lib", "lib64"):
        os.symlink(f"usr/{link}", os.path.join(root, link))
    # The copied packages are registered in the root's dpkg database, as in a real image:
    # otherwise dpkg believes kplug alone owns /lib and /usr and removes them with it.
    with open(os.path.join(root, "var/lib/dpkg/status"), "w") as status:
        for package in ROOT_PACKAGES:
            status.write(sh("dpkg-query", "-s", package).rstrip("\n") + "\n\n")
            for name in (package, package + ":amd64"):
                listed = f"/var/lib/dpkg/info/{name}.list"
                if os.path.exists(listed):
                    shutil.copy(listed, os.path.join(root, "var/lib/dpkg/info"))
    os.makedirs(os.path.join(root, "dev"))
    os.mknod(os.path.join(root, "dev/null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.chmod(os.path.join(root, "dev/null"), 0o666)
    for package in ROOT_PACKAGES:
        for path in sh("dpkg", "-L", package).splitlines():
            if not path.startswith("/") or not os.path.lexists(path) or \
                    (os.path.isdir(path) and not os.path.islink(path)):
                continue  # "diverted by" notes, files gone, directories
            dest = os.path.join(root, os.path.relpath(os.path.realpath(os.path.dirname(path)), "/"),
                                os.path.basename(path))
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if not os.path.lexists(dest):
                shutil.copy2(path, dest, follow_symlinks=False)
    if not os.path.lexists(os.path.join(root, "usr/bin/sh")):
        os.symlink("dash", os.path.join(root, "usr/bin/sh"))
    shutil.copy("/bin/busybox", os.path.join(root, "usr/bin/busybox"))
    for applet in ("rm", "mkdir", "ln", "readlink"):
        if not os.path.lexists(os.path.join(root, "usr/bin", applet)):
            os.symlink("busybox", os.path.join(root, "usr/bin", applet))
    return root


def dpkg(root, *args):
    return sh("dpkg", f"--root={root}", "--force-depends", *args,
              env=dict(os.environ, PATH="/usr/sbin:/usr/bin:/sbin:/bin"))


def rebuilt(deb, version):
    """The same package with a higher version, as a rebuild for an upgrade would be."""
    tree = tempfile.mkdtemp(prefix="kplug-deb-")
    sh("dpkg-deb", "-R", deb, tree)
    control = os.path.join(tree, "DEBIAN", "control")
    text = re.sub(r"^Version: .*$", f"Version: {version}", open(control).read(), flags=re.M)
    open(control, "w").write(text)
    out = os.path.join(tempfile.mkdtemp(prefix="kplug-deb-"), f"kplug_{version}_amd64.deb")
    sh("dpkg-deb", "--root-owner-group", "-b", tree, out)
    shutil.rmtree(tree)
    return out


def check_lifecycle(deb):
    """Debian's service semantics, in an image root: enabled on first install; an
    administrator's disable survives an upgrade; purge leaves nothing behind."""
    root = image_root()
    dpkg(root, "-i", deb)
    status = sh("dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W", "-f=${Status}", "kplug")
    check(status == "install ok installed", f"dpkg --root installs it: {status}")
    check(os.path.islink(os.path.join(root, WANTS)),
          "first install in an image root enables kplugd.service (sysinit.target.wants)")
    absent = [f for f in EXPECTED if not os.path.exists(os.path.join(root, f))]
    check(not absent, "every documented file is where the README says" + (f" (absent {absent})" if absent else ""))
    version = sh(os.path.join(root, "usr/sbin/kplugd"), "--version").strip()
    check(version.startswith("kplugd "), f"the installed kplugd runs: {version}")
    sh(os.path.join(root, "usr/bin/kplug"), "rules", "check", os.path.join(root, "usr/lib/kplug/rules.d"))
    check(True, "the installed kplug accepts the installed rules")
    # The demo rules are examples, not rules: a real Gemalto reader (08e6:4433) gets
    # only the generic autoload rule.
    out = sh(os.path.join(root, "usr/bin/kplug"), "test", "--rules", os.path.join(root, "usr/lib/kplug/rules.d"),
             "--event", os.path.join(root, "usr/share/doc/kplug/examples/ccid.event"), "--modules-dir", MODULES_DIR)
    matched = re.findall(r"^  MATCH    (\S+)", out, re.M)
    check(matched == ["autoload"] and "demo" not in out,
          f"kplug test on an 08e6:4433 reader with the shipped rules: matches {matched}, no demo rule")

    upgrade = rebuilt(deb, "99.0.0")
    dpkg(root, "-i", upgrade)
    check(os.path.islink(os.path.join(root, WANTS)), "an upgrade keeps it enabled")
    sh("systemctl", f"--root={root}", "disable", "kplugd.service")
    check(not os.path.lexists(os.path.join(root, WANTS)), "the administrator disables it (systemctl --root disable)")
    dpkg(root, "-i", rebuilt(deb, "99.0.1"))
    check(not os.path.lexists(os.path.join(root, WANTS)), "an upgrade to a higher version keeps it disabled")

    with open(os.path.join(root, "etc/kplug/config.yaml"), "a") as f:
        f.write("log_level: debug\n")
    dpkg(root, "-r", "kplug")
    check(not os.path.exists(os.path.join(root, "usr/sbin/kplugd")) and
          "log_level: debug" in open(os.path.join(root, "etc/kplug/config.yaml")).read(),
          "dpkg -r removes the files and keeps the edited conffile")
    dpkg(root, "-P", "kplug")
    left = [os.path.relpath(os.path.join(d, n), root) for top in ("etc", "var/lib/systemd")
            for d, dirs, files in os.walk(os.path.join(root, top)) for n in dirs + files
            if "kplug" in os.path.relpath(os.path.join(d, n), root)]
    check(not left and not os.path.exists(os.path.join(root, "etc/kplug")),
          "dpkg -P leaves nothing of kplug in /etc or deb-systemd-helper's state" + (f" (left {left})" if left else ""))
    shutil.rmtree(root)


def main():
    r = subprocess.run([os.path.join(TOP, "scripts", "package"), "--lintian"], capture_output=True, text=True,
                       env=dict(os.environ, KPLUG_BUILD_DIR=BUILD))
    print(r.stderr, end="")
    if r.returncode != 0:
        fail(f"scripts/package --lintian exited {r.returncode}")
    check(True, "lintian -EvI --pedantic: no error and no warning (scripts/package --lintian)")
    deb = r.stdout.split()[-1]
    check(deb.endswith("_amd64.deb") and os.path.exists(deb), f"scripts/package built {os.path.basename(deb)}")
    field = lambda name: sh("dpkg-deb", "-f", deb, name).strip()  # noqa: E731
    built = sh(os.path.join(BIN, "kplugd"), "--version").split()[-1]
    check(field("Package") == "kplug" and field("Version") == built,
          f"Package kplug, Version {field('Version')} (debian/changelog's, the same as kplugd --version)")
    depends = field("Depends")
    for lib in ("libc6", "libkmod2", "libnl-3-200", "libudev1", "libyaml-cpp0.7", "libstdc++6"):
        if lib not in depends:
            fail(f"Depends lacks {lib}: {depends}")
    check(True, f"Depends is computed from the binaries: {depends}")
    # kplugd opens libsystemd only when systemd runs it (journal, sd_notify).
    check("libsystemd0" not in depends and "libsystemd0" in field("Recommends"),
          f"libsystemd0 recommended, not required: Recommends: {field('Recommends')}")
    files = {line.split()[-1].lstrip("./") for line in sh("dpkg-deb", "-c", deb).splitlines()}
    missing = [f for f in EXPECTED if f not in files]
    check(not missing, f"the package holds the {len(EXPECTED)} documented files" + (f" (missing {missing})" if missing else ""))
    # Every installed path the man pages, the unit and the binaries' help and errors name
    # is in the package (a document may be compressed, as Debian does past 4 KiB).
    named = set()
    sources = [os.path.join(TOP, "packaging", "man", p) for p in os.listdir(os.path.join(TOP, "packaging", "man"))]
    sources.append(os.path.join(TOP, "packaging", "systemd", "kplugd.service"))
    for path in sources:
        # scdoc's _underline_ marks are not part of a path.
        named |= set(re.findall(r"/usr/share/doc/kplug/[A-Za-z0-9./-]*[A-Za-z0-9]", open(path).read()))
    for verb in ("monitor", "status", "replay", "test", "doctor", "settle", "info"):
        named |= set(re.findall(r"/usr/share/doc/kplug/[A-Za-z0-9./-]*[A-Za-z0-9]",
                                subprocess.run([os.path.join(BIN, "kplug"), verb, "--help"], capture_output=True,
                                               text=True).stdout))
    absent = sorted(n for n in named if n.lstrip("/") not in files and n.lstrip("/") + ".gz" not in files)
    check(len(named) >= 5 and not absent, f"the {len(named)} /usr/share/doc/kplug paths the pages, unit and --help "
                                           f"name are in the package" + (f" (absent: {absent})" if absent else ""))
    repo_refs = []
    for path in sources:
        for n, line in enumerate(open(path), 1):
            if re.search(r"\b(README\.md|docs/[\w-]+\.md|scripts/[\w-]+)", line):
                repo_refs.append(f"{os.path.basename(path)}:{n}: {line.strip()[:80]}")
    check(not repo_refs, "no man page or unit comment points into the repository" +
          ("".join("\n  " + r for r in repo_refs) if repo_refs else ""))
    control = tempfile.mkdtemp()
    sh("dpkg-deb", "-e", deb, control)
    check(open(os.path.join(control, "conffiles")).read().split() == ["/etc/kplug/config.yaml"],
          "/etc/kplug/config.yaml is a conffile")
    for script in ("postinst", "prerm", "postrm"):
        check(os.access(os.path.join(control, script), os.X_OK), f"{script} is there and executable")
    scripts = "".join(open(os.path.join(control, s)).read() for s in ("postinst", "prerm", "postrm"))
    check("deb-systemd-helper" in scripts and "deb-systemd-invoke" in scripts and
          not re.search(r"^\s*systemctl (?!--system daemon-reload)", scripts, re.M),
          "the maintainer scripts use deb-systemd-helper and deb-systemd-invoke (systemctl only for daemon-reload)")
    check_lifecycle(deb)
    root = tempfile.mkdtemp(prefix="kplug-unit-")
    sh("dpkg-deb", "-x", deb, root)

    # The unit: verified against the installed binary and man pages.
    unit_dir = tempfile.mkdtemp()
    with open(os.path.join(root, "lib/systemd/system/kplugd.service")) as f:
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

    shutil.rmtree(root)


if __name__ == "__main__":
    main()
