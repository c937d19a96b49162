#!/usr/bin/env python3
"""kplug's test VM: Debian's own kernel in QEMU, with USB devices plugged over QMP.

The one entry point is `VM` (used by tests/vm/test_vm.py and scripts/demo):

    with VM(build_dir) as vm:            # builds what is missing, boots, waits for the agent
        vm.run("kplugd --unload-grace 1s > /tmp/kplugd.log 2>&1 &")
        vm.plug("usb-ccid", "c1")        # QMP device_add on the qemu-xhci bus
        vm.wait_until(lambda: "usb_hello" in vm.loaded_modules(), "usb_hello to load")
        vm.unplug("c1")                  # QMP device_del, waits for DEVICE_DELETED

What it builds, all cached under BUILD/vm (rebuilt when an input is newer):
- the Debian kernel and headers from scripts/fetch-kernel (the ABI is resolved there);
- every module under kmods/, built against those headers, installed in lib/modules/ABI/extra;
- a module tree pruned to USB, HID, input and SCSI disk drivers plus their dependencies,
  indexed with depmod (kplugd and modprobe in the VM see the same tree);
- an initramfs: busybox-static, kplug installed as `cmake --install --prefix /usr` lays it
  out (/usr/sbin/kplugd, /usr/bin/kplug, /etc/kplug/config.yaml, the shipped rules in
  /usr/lib/kplug/rules.d), kmod, bash, forge_uevent, the shared libraries they link
  (found with ldd), and /init,
  which starts a command agent on the second serial port.

Channels: ttyS0 is the console (kernel messages and anything written to /dev/console),
captured to BUILD/vm/console.log (console-SCENARIO.log under ctest); ttyS1 carries commands for `run()`; QMP is a unix socket.
On failure, `dump()` prints the tail of the console and of kplugd's log.
"""
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# Subtrees of kernel/ shipped in the VM: what USB sticks, keyboards and card readers need.
KEEP = ("drivers/usb/core/", "drivers/usb/common/", "drivers/usb/host/", "drivers/usb/storage/",
        "drivers/hid/", "drivers/input/", "drivers/scsi/sd_mod.ko", "drivers/scsi/scsi_mod.ko",
        "drivers/scsi/sg.ko")
TEST_TOOLS = ("tests/forge_uevent",)
# What the VM installs from the build directory (`cmake --install` needs the man pages too):
# built before every install, so a fresh build directory works as well as a full one.
VM_TARGETS = ("kplugd", "kplug", "man", "completion", "forge_uevent")


class VMError(Exception):
    pass


def log(msg):
    print(f"[vm] {msg}", file=sys.stderr, flush=True)


def sh(argv, **kw):
    """Runs ARGV and returns its stdout. On failure the whole output goes to a log file and
    the VMError says in one line what failed and where that log is."""
    r = subprocess.run(argv, text=True, capture_output=True, **kw)
    if r.returncode != 0:
        raise VMError(f"{' '.join(argv[:4])}{' ...' if len(argv) > 4 else ''} failed (exit {r.returncode}); "
                      f"its output is in {failure_log(argv, r.stdout, r.stderr)}")
    return r.stdout


def failure_log(argv, stdout, stderr):
    """Writes a failed command's output to a log file of its own; returns the path."""
    d = os.path.join(os.environ.get("KPLUG_BUILD_DIR", os.path.join(TOP, "build")), "logs")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, f"vm-{os.path.basename(argv[0])}-{os.getpid()}.log")
    with open(path, "w") as f:
        f.write(f"$ {' '.join(argv)}\n{stdout}{stderr}")
    return path


# ---------------------------------------------------------------- building the assets

def kernel(build):
    """(version, root) of the Debian kernel under BUILD/kernel, with headers fetched."""
    env = dict(os.environ, KPLUG_KERNEL_DIR=os.path.join(build, "kernel"))
    root = sh([os.path.join(TOP, "scripts", "fetch-kernel"), "--headers", "--print-root"], env=env).strip()
    version = os.path.basename(root)
    return version, root


def build_kmods(build, version, root):
    """Build every kmods/*/ folder against the Debian headers; return the .ko paths."""
    kdir = os.path.join(root, "headers", "usr", "src", f"linux-headers-{version}")
    out = os.path.join(build, "vm", "kmods")
    kos = []
    for name in sorted(os.listdir(os.path.join(TOP, "kmods"))):
        src = os.path.join(TOP, "kmods", name)
        if not os.path.isfile(os.path.join(src, "Makefile")):
            continue
        dst = os.path.join(out, name)
        # Kbuild writes next to the sources: build a copy so the tree stays clean.
        shutil.copytree(src, dst, dirs_exist_ok=True)
        r = subprocess.run(["make", "-C", dst, f"KDIR={kdir}"], capture_output=True, text=True)
        if r.returncode != 0:
            raise VMError(f"building kmods/{name} failed; its output is in "
                          f"{failure_log(['make-' + name], r.stdout, r.stderr)}")
        kos += [os.path.join(dst, f) for f in os.listdir(dst) if f.endswith(".ko")]
    return kos


def module_closure(moddir, wanted):
    """WANTED (paths relative to moddir) plus everything modules.dep and softdeps pull in."""
    deps = {}
    with open(os.path.join(moddir, "modules.dep")) as f:
        for line in f:
            path, _, rest = line.partition(":")
            deps[path] = rest.split()
    by_name = {os.path.basename(p)[:-3].replace("-", "_"): p for p in deps}
    soft = {}
    with open(os.path.join(moddir, "modules.softdep")) as f:
        for line in f:
            parts = line.split()
            if len(parts) > 2 and parts[0] == "softdep":
                soft[parts[1].replace("-", "_")] = [by_name[w.replace("-", "_")] for w in parts[2:]
                                                    if w.replace("-", "_") in by_name]
    todo, seen = list(wanted), set()
    while todo:
        p = todo.pop()
        if p in seen or p not in deps:
            continue
        seen.add(p)
        todo += deps[p] + soft.get(os.path.basename(p)[:-3].replace("-", "_"), [])
    return seen


def build_module_tree(stage, version, root, kos, keep=KEEP):
    full = os.path.join(root, "lib", "modules", version)
    dest = os.path.join(stage, "lib", "modules", version)
    with open(os.path.join(full, "modules.dep")) as f:
        every = [line.split(":")[0] for line in f]
    wanted = [p for p in every if any(p.startswith("kernel/" + k) for k in keep)]
    for rel in sorted(module_closure(full, wanted)):
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        shutil.copy(os.path.join(full, rel), os.path.join(dest, rel))
    os.makedirs(os.path.join(dest, "extra"), exist_ok=True)
    for ko in kos:
        shutil.copy(ko, os.path.join(dest, "extra"))
    for name in ("modules.builtin", "modules.builtin.modinfo", "modules.order"):
        shutil.copy(os.path.join(full, name), dest)
    sh(["depmod", "-b", stage, version])


def install_tutorial(stage, kos):
    """~/kmods in the VM: each folder's sources, README and built .ko, as `make -C kmods`
    leaves them on a real machine."""
    for ko in kos:
        folder = os.path.basename(os.path.dirname(ko))
        dst = os.path.join(stage, "root", "kmods", folder)
        if not os.path.isdir(dst):
            shutil.copytree(os.path.join(TOP, "kmods", folder), dst,
                            ignore=shutil.ignore_patterns("*.o", "*.ko", ".*", "*.mod*"))
        shutil.copy(ko, dst)


def shared_libraries(binaries):
    libs = set()
    for b in binaries:
        r = subprocess.run(["ldd", b], text=True, capture_output=True)
        if r.returncode != 0 and "not a dynamic executable" in r.stdout + r.stderr:
            continue  # a script or a static binary
        if r.returncode != 0:
            raise VMError(f"ldd {b} failed: {r.stderr.strip()}")
        for line in r.stdout.splitlines():
            m = re.search(r"(/\S+\.so[^\s]*)", line)
            if m:
                libs.add(m.group(1))
    return sorted(libs)


INIT = r"""#!/bin/busybox sh
# kplug test VM init: mount the basics, then serve commands on ttyS1 for the test harness.
/bin/busybox --install -s /bin
# The module commands are kmod's (in /usr/sbin), as on Debian, not busybox's. Commands
# run in bash: busybox's sh would run its own applets whatever PATH says.
for c in insmod rmmod lsmod modinfo modprobe depmod; do rm -f /bin/$c /sbin/$c; done
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
export HOME=/root
echo "kplug-vm: up at $(cut -d' ' -f1 /proc/uptime) s" > /dev/console
if grep -q kplug.shell /proc/cmdline; then
  # scripts/demo --shell: the agent in the background, a login shell on the console.
  /bin/agent &
  dmesg -n 4
  cd /root
  setsid cttyhack bash -l
  poweroff -f
fi
exec /bin/agent
"""

PROFILE = r"""# The tutorial shell of the kplug VM (scripts/demo --shell).
export PS1='(vm) \w # '
cd /root
echo
echo "  kplug tutorial VM: Debian's kernel $(uname -r), kplugd running (log: /tmp/kplugd.log)."
echo "  The demo modules are built in ~/kmods; docs/tutorial.md walks through them."
echo "  Ctrl-A c switches to the QEMU monitor (device_add usb-ccid,id=card,bus=xhci.0,port=1) and back;"
echo "  'poweroff' or Ctrl-A x leaves."
echo
"""

# The VM has only root; a `sudo` that runs its arguments lets the READMEs' commands,
# written for a real machine, be typed there unchanged.
SUDO = """#!/bin/bash
exec "$@"
"""

ETC_FILES = {"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n",
             "etc/group": "root:x:0:\nnogroup:x:65534:\n",
             "etc/profile": PROFILE}

AGENT = r"""#!/bin/sh
# Runs each command the host sends on ttyS1 ("ID BASE64") and answers
# "@@KPLUG ID RC BASE64-OUTPUT" on the same line.
stty -F /dev/ttyS1 raw -echo -icrnl -opost 2>/dev/null
exec 3<>/dev/ttyS1
echo "@@KPLUG ready 0" >&3
while read -r id cmd <&3; do
  echo "$cmd" | base64 -d > /tmp/.cmd
  bash /tmp/.cmd > /tmp/.out 2>&1 3>&- < /dev/null
  rc=$?
  echo "@@KPLUG $id $rc $(base64 < /tmp/.out | tr -d '\n')" >&3
done
"""


def udev_package(build):
    """Debian's udev package (systemd-udevd, udevadm, the rules), unpacked under BUILD/udev.
    It only ever runs inside the VM: never on the host."""
    d = os.path.join(build, "udev")
    root = os.path.join(d, "root")
    if not os.path.exists(os.path.join(root, "bin", "udevadm")):
        os.makedirs(d, exist_ok=True)
        sh(["apt-get", "download", "udev"], cwd=d)
        deb = next(f for f in os.listdir(d) if f.startswith("udev_") and f.endswith(".deb"))
        sh(["dpkg-deb", "-x", os.path.join(d, deb), root])
    return root


def stage_udev(build, stage):
    """udevd in the VM where Debian's package puts it (/lib/systemd/systemd-udevd, the rules in
    /lib/udev/rules.d); returns the binaries to find libraries for."""
    root = udev_package(build)
    shutil.copy(os.path.join(root, "bin", "udevadm"), os.path.join(stage, "bin", "udevadm"))
    os.makedirs(os.path.join(stage, "lib", "systemd"), exist_ok=True)
    os.symlink("/bin/udevadm", os.path.join(stage, "lib", "systemd", "systemd-udevd"))
    shutil.copytree(os.path.join(root, "lib", "udev"), os.path.join(stage, "lib", "udev"), symlinks=True)
    shutil.copytree(os.path.join(root, "etc", "udev"), os.path.join(stage, "etc", "udev"), symlinks=True)
    helpers = [os.path.join(stage, "lib", "udev", f) for f in os.listdir(os.path.join(root, "lib", "udev"))
               if os.path.isfile(os.path.join(root, "lib", "udev", f)) and
               os.access(os.path.join(root, "lib", "udev", f), os.X_OK)]
    return [os.path.join(stage, "bin", "udevadm")] + helpers


_built = {}  # one build per process and kind of VM: a boot changes nothing in it


def build_initramfs(build, bin_dir, name="vm", keep=KEEP, udev=False):
    key = (build, bin_dir, name, keep, udev)
    if key not in _built:
        _built[key] = prebuilt(build, bin_dir, name, keep, udev) or _build_initramfs(build, bin_dir, name, keep, udev)
    return _built[key]


def _key_text(bin_dir, keep, udev, version):
    return json.dumps({"bin": bin_dir, "keep": list(keep), "udev": udev, "kernel": version})


def prebuilt(build, bin_dir, name, keep, udev):
    """With KPLUG_VM_PREBUILT=1 (set by ctest for the VM scenarios, after its vm.initramfs
    test built the initramfs in this same run): that initramfs, when it was built for the
    same kind of VM. Otherwise None, and it is built afresh."""
    if os.environ.get("KPLUG_VM_PREBUILT") != "1":
        return None
    version, root = kernel(build)
    vm_dir = os.path.join(build, name)
    cpio, stage = os.path.join(vm_dir, "initramfs.cpio"), os.path.join(vm_dir, "stage")
    try:
        with open(os.path.join(vm_dir, "initramfs.key")) as f:
            if f.read() != _key_text(bin_dir, keep, udev, version) or not os.path.exists(cpio):
                return None
    except OSError:
        return None
    log(f"using the initramfs built earlier in this run ({cpio})")
    return version, root, cpio, stage


def _build_initramfs(build, bin_dir, name, keep, udev):
    version, root = kernel(build)
    vm_dir = os.path.join(build, name)
    os.makedirs(vm_dir, exist_ok=True)
    if os.path.exists(os.path.join(vm_dir, "initramfs.key")):
        os.unlink(os.path.join(vm_dir, "initramfs.key"))
    log(f"building the initramfs for {version}")
    kos = build_kmods(build, version, root)
    stage = os.path.join(vm_dir, "stage")
    shutil.rmtree(stage, ignore_errors=True)
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "run", "etc/kplug", "root"):
        os.makedirs(os.path.join(stage, d), exist_ok=True)
    shutil.copy("/bin/busybox", os.path.join(stage, "bin", "busybox"))
    # kplug as a package installs it: /usr/sbin/kplugd, /usr/bin/kplug, /etc/kplug/config.yaml,
    # the shipped rules in /usr/lib/kplug/rules.d, the unit, man pages.
    log(f"building {', '.join(VM_TARGETS)} in {bin_dir}")
    sh(["cmake", "--build", bin_dir, "--target", *VM_TARGETS, "-j", str(os.cpu_count() or 2)])
    sh(["cmake", "--install", bin_dir, "--prefix", "/usr", "--strip"], env=dict(os.environ, DESTDIR=stage))
    installed = [os.path.join(stage, "usr", "sbin", "kplugd"), os.path.join(stage, "usr", "bin", "kplug")]
    # The demo modules' rules, installed from the examples as the tutorial does.
    os.makedirs(os.path.join(stage, "etc", "kplug", "rules.d"), exist_ok=True)
    shutil.copy(os.path.join(stage, "usr", "share", "doc", "kplug", "examples", "50-kplug-demo.yaml"),
                os.path.join(stage, "etc", "kplug", "rules.d"))
    tools = [os.path.join(bin_dir, t) for t in TEST_TOOLS] + [shutil.which("kmod"), "/bin/bash"]
    for t in tools:
        shutil.copy(t, os.path.join(stage, "usr", "sbin", os.path.basename(t)))
        subprocess.run(["strip", "--strip-unneeded", os.path.join(stage, "usr", "sbin", os.path.basename(t))],
                       check=False)
    # The embedded build (scripts/check builds it in BUILD/embedded), as kplugd-embedded,
    # for the footprint benchmark.
    embedded = os.path.join(build, "embedded", "kplugd")
    if os.path.exists(embedded):
        shutil.copy(embedded, os.path.join(stage, "usr", "sbin", "kplugd-embedded"))
        sh(["strip", "--strip-all", os.path.join(stage, "usr", "sbin", "kplugd-embedded")])
        tools.append(os.path.join(stage, "usr", "sbin", "kplugd-embedded"))
    tools += installed
    if udev:
        tools += stage_udev(build, stage)
    os.symlink("../usr/sbin/bash", os.path.join(stage, "bin", "bash"))
    for alias in ("modprobe", "lsmod", "rmmod", "insmod", "modinfo", "depmod"):
        os.symlink("kmod", os.path.join(stage, "usr", "sbin", alias))
    for lib in shared_libraries(tools):
        dst = os.path.join(stage, lib.lstrip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy(lib, dst)
        subprocess.run(["strip", "--strip-unneeded", dst], check=False)
    # Terminal descriptions for bash's line editing in the tutorial shell.
    for term in ("l/linux", "v/vt100", "v/vt220", "x/xterm", "x/xterm-256color"):
        for base in ("/lib/terminfo", "/usr/share/terminfo"):
            if os.path.exists(f"{base}/{term}"):
                os.makedirs(os.path.join(stage, "usr/share/terminfo", os.path.dirname(term)), exist_ok=True)
                shutil.copy(f"{base}/{term}", os.path.join(stage, "usr/share/terminfo", term))
                break
    # Debian's libraries live in /lib/x86_64-linux-gnu via the /lib -> usr/lib merge.
    for d in ("lib", "lib64"):
        if not os.path.exists(os.path.join(stage, d)):
            os.symlink(f"usr/{d}", os.path.join(stage, d))
    for name, text in (("init", INIT), ("bin/agent", AGENT), ("usr/bin/sudo", SUDO)):
        with open(os.path.join(stage, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(stage, name), 0o755)
    for name, text in ETC_FILES.items():
        with open(os.path.join(stage, name), "w") as f:
            f.write(text)
    build_module_tree(stage, version, root, kos, keep)
    install_tutorial(stage, kos)
    cpio = os.path.join(vm_dir, "initramfs.cpio")
    files = subprocess.run("find . -mindepth 1 | sort", shell=True, cwd=stage, check=True,
                           capture_output=True).stdout
    with open(cpio, "wb") as out:
        subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], input=files, cwd=stage, stdout=out, check=True)
    log(f"initramfs: {os.path.getsize(cpio) // (1 << 20)} MiB, "
        f"{sum(len(fs) for _, _, fs in os.walk(os.path.join(stage, 'lib', 'modules')))} files of modules")
    with open(os.path.join(vm_dir, "initramfs.key"), "w") as f:
        f.write(_key_text(bin_dir, keep, udev, version))
    return version, root, cpio, stage


# ---------------------------------------------------------------- the running VM

class VM:
    def __init__(self, build_dir=None, bin_dir=None, boot_timeout=120, extra_qemu=(), shell=False, name="vm",
                 keep=KEEP, udev=False, memory=768):
        """NAME: the folder under BUILD for this VM's files (the benchmarks use their own);
        KEEP: the module subtrees to ship; UDEV: also ship Debian's systemd-udevd."""
        self.build = os.path.abspath(build_dir or os.environ.get("KPLUG_BUILD_DIR", os.path.join(TOP, "build")))
        self.bin = os.path.abspath(bin_dir or os.environ.get("KPLUG_BIN_DIR", self.build))
        self.name, self.keep, self.udev, self.memory = name, keep, udev, memory
        self.dir = os.path.join(self.build, name)
        self.instance = re.sub(r"[^A-Za-z0-9_.-]", "_", os.environ.get("KPLUG_VM_INSTANCE", ""))
        self.boot_timeout = boot_timeout
        self.extra_qemu = list(extra_qemu)
        self.shell = shell  # the console on this terminal with a shell; QEMU's monitor on Ctrl-A c
        self.qemu = None
        self._replies = {}
        self._cond = threading.Condition()
        self._next_id = 1
        self._qmp_events = []

    # -- lifecycle
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.dump()
        self.stop()
        return False

    def start_assets(self):
        """Builds (or finds) the kernel, modules and initramfs this VM boots, without booting."""
        self.version, self.root, self.initramfs, self.stage = build_initramfs(self.build, self.bin, self.name,
                                                                              self.keep, self.udev)

    def start(self):
        self.start_assets()
        self.launch(["-kernel", os.path.join(self.root, "boot", f"vmlinuz-{self.version}"),
                     "-initrd", self.initramfs, "-no-reboot",
                     "-append", "console=ttyS0 panic=-1 rdinit=/init " +
                     ("loglevel=4 kplug.shell" if self.shell else "loglevel=7"),
                     "-device", "qemu-xhci,id=xhci", *self.extra_qemu])
        self._wait_reply("ready", self.boot_timeout)
        self.boot_seconds = time.monotonic() - self.boot_started
        log(f"booted {self.version} in {self.boot_seconds:.1f} s")

    def launch(self, machine):
        """Starts QEMU with MACHINE (kernel, disks, devices) and this harness's channels:
        the console on ttyS0 (to BUILD/NAME/console.log, or this terminal with --shell),
        the agent on ttyS1, QMP on a unix socket. Returns once QMP answers."""
        # KPLUG_VM_INSTANCE (ctest sets the scenario's name): VMs of one kind that run side
        # by side keep their console and sockets apart, and each scenario's console stays.
        suffix = f"-{self.instance}" if self.instance else ""
        self.console_log = os.path.join(self.dir, f"console{suffix}.log")
        self.qmp_path = os.path.join(self.dir, f"qmp{suffix}.sock")
        self.agent_path = os.path.join(self.dir, f"agent{suffix}.sock")
        for p in (self.console_log, self.qmp_path, self.agent_path):
            if os.path.exists(p):
                os.unlink(p)
        argv = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-smp", "2", "-m", str(self.memory),
                "-nodefaults", "-no-user-config", "-display", "none",
                "-serial", "mon:stdio" if self.shell else f"file:{self.console_log}",
                "-chardev", f"socket,id=agent,path={self.agent_path},server=on,wait=off",
                "-serial", "chardev:agent",
                "-qmp", f"unix:{self.qmp_path},server=on,wait=off", *machine]
        self._replies, self._qmp_events = {}, []
        self.boot_started = time.monotonic()
        if self.shell:
            self.qemu = subprocess.Popen(argv)
        else:
            self.qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True)
        self._agent = self._connect(self.agent_path)
        threading.Thread(target=self._read_agent, daemon=True).start()
        self._qmp = self._connect(self.qmp_path)
        self._qmp_file = self._qmp.makefile("rw")
        self._qmp_file.readline()  # greeting
        self.qmp("qmp_capabilities")

    def stop(self):
        if self.qemu and self.qemu.poll() is None:
            try:
                self.qmp("quit")
            except Exception:
                pass
            try:
                self.qemu.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.qemu.kill()
                self.qemu.wait()

    def _connect(self, path, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.qemu.poll() is not None:
                raise VMError(f"qemu exited: {self.qemu.stdout.read() if self.qemu.stdout else ''}")
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                return s
            except OSError:
                time.sleep(0.1)
        raise VMError(f"cannot connect to {path}")

    # -- the command agent on ttyS1
    def _read_agent(self):
        buf = b""
        while True:
            try:
                data = self._agent.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                m = re.search(rb"@@KPLUG (\S+) (\d+) ?(\S*)", line)
                if m:
                    with self._cond:
                        self._replies[m.group(1).decode()] = (int(m.group(2)),
                                                               base64.b64decode(m.group(3)).decode(errors="replace"))
                        self._cond.notify_all()

    def _wait_reply(self, key, timeout):
        deadline = time.monotonic() + timeout
        with self._cond:
            while key not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.qemu.poll() is not None:
                    raise VMError(f"no answer from the VM agent for {key!r} within {timeout} s")
                self._cond.wait(min(left, 0.5))
            return self._replies.pop(key)

    def run(self, command, timeout=60, check=True):
        """Run COMMAND with bash in the VM; return its output (stdout and stderr)."""
        key = str(self._next_id)
        self._next_id += 1
        self._agent.sendall(f"{key} {base64.b64encode(command.encode()).decode()}\n".encode())
        rc, out = self._wait_reply(key, timeout)
        if check and rc != 0:
            raise VMError(f"`{command}` exited {rc} in the VM:\n{out}")
        return out

    # -- QMP
    def qmp(self, command, **arguments):
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self._qmp_file.write(json.dumps(msg) + "\n")
        self._qmp_file.flush()
        while True:
            reply = json.loads(self._qmp_file.readline())
            if "event" in reply:
                self._qmp_events.append(reply)
                continue
            if "error" in reply:
                raise VMError(f"QMP {command} failed: {reply['error'].get('desc')}")
            return reply.get("return")

    def plug(self, driver, dev_id, **props):
        """device_add DRIVER on the xhci bus; returns the host time it was sent."""
        sent = time.time()
        self.qmp("device_add", driver=driver, id=dev_id, bus="xhci.0", **props)
        return sent

    def unplug(self, dev_id, timeout=30):
        self.qmp("device_del", id=dev_id)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e.get("event") == "DEVICE_DELETED" and e.get("data", {}).get("device") == dev_id
                   for e in self._qmp_events):
                return
            self._qmp_sock_poll(0.2)
        raise VMError(f"device {dev_id} was not deleted within {timeout} s")

    def _qmp_sock_poll(self, seconds):
        self._qmp.settimeout(seconds)
        try:
            line = self._qmp_file.readline()
            if line:
                self._qmp_events.append(json.loads(line))
        except (socket.timeout, TimeoutError):
            pass
        finally:
            self._qmp.settimeout(None)

    def start_kplugd(self, *flags, grace="2s", program="kplugd"):
        """kplugd as the tutorial and the tests run it: log in /tmp/kplugd.log; returns
        once its coldplug is complete. PROGRAM: kplugd-embedded for the embedded build."""
        self.run(f"{program} --unload-grace {grace} {' '.join(flags)} > /tmp/kplugd.log 2>&1 < /dev/null &")
        self.wait_until(lambda: "coldplug complete" in self.run("cat /tmp/kplugd.log", check=False),
                        "kplugd's coldplug to complete", timeout=120)

    # -- the kernel's own state
    def loaded_modules(self):
        return {line.split()[0] for line in self.run("cat /proc/modules").splitlines() if line.strip()}

    def dmesg(self):
        return self.run("dmesg")

    def wait_until(self, predicate, what, timeout=60, interval=0.5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise VMError(f"timed out after {timeout} s waiting for {what}")

    def console(self):
        try:
            with open(self.console_log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # What dump() shows after the console: the daemon's log in this VM.
    LOG_TITLE, LOG_COMMAND = "kplugd log", "tail -n 60 /tmp/kplugd.log"

    def dump(self, lines=60):
        print("---- VM console (tail) ----", file=sys.stderr)
        print("\n".join(self.console().splitlines()[-lines:]), file=sys.stderr)
        try:
            print(f"---- {self.LOG_TITLE} (tail) ----", file=sys.stderr)
            print(self.run(self.LOG_COMMAND, timeout=20, check=False), file=sys.stderr)
        except Exception as e:  # the VM may be gone
            print(f"(cannot read the {self.LOG_TITLE}: {e})", file=sys.stderr)


def ok(message):
    print(f"ok: {message}", flush=True)


def check(condition, message):
    """A test's assertion: MESSAGE as an ok line, or a VMError (a FAIL line)."""
    if not condition:
        raise VMError(message)
    ok(message)


def run_main(main):
    """A test script's entry point: a VMError is a FAIL line and exit status 1."""
    try:
        main()
    except VMError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    # Smoke run: boot, list modules, quit.
    with VM() as vm:
        print(vm.run("uname -r; cat /proc/modules | wc -l"))
