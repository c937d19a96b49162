#!/usr/bin/env python3
"""A real Debian 12 system in QEMU: systemd as PID 1, Debian's udev, Debian's kernel.

    with SystemVM(build_dir) as vm:     # builds what is missing, boots, waits for the agent
        vm.run("dpkg -i /root/kplug.deb")
        vm.reboot()

What it builds, cached under BUILD/system-vm:
- base.tar: Debian bookworm from Debian's repositories with mmdebstrap (minbase, systemd,
  udev, kmod and the libraries kplug's .deb depends on), built once, rebuilt only when
  missing or when the .deb's Depends change;
- per VM: root.img, an ext4 disk made from base.tar (mkfs.ext4 -d, no mount) with Debian's
  full module tree for the kernel, the demo modules in lib/modules/ABI/extra, the .deb
  packed from this build as scripts/package packs it, in /root/kplug.deb (not installed: the test installs it as a user
  would), a test agent on ttyS1 started by a unit, and units this VM does not need masked;
  data.img, a small ext4 disk labelled KPLUGDATA on an NVMe controller (or, with
  data_disk="usb", a USB stick on the xHCI controller), mounted by /etc/fstab at /data:
  its drivers are not in the initramfs, so a loader must load them at boot;
- initrd.cpio: busybox and the modules the root disk needs (virtio_pci, virtio_blk,
  ext4), and nothing else; it mounts /dev/vda and switches to systemd.

The agent and QMP work as in kplugvm.VM; reboot() powers the VM off and boots it again
in a new QEMU from the same disks. The console (kernel and systemd) is in BUILD/system-vm/console.log.
"""
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kplugvm import AGENT, TOP, VM, VMError, build_kmods, kernel, log, sh  # noqa: E402

SUITE = "bookworm"
BASE_PACKAGES = ["systemd", "systemd-sysv", "udev", "kmod", "procps", "e2fsprogs"]
ROOT_MODULES = ["virtio_pci", "virtio_blk", "ext4"]
# Units a test VM does not need, masked for a faster boot. serial-getty on ttyS1 would
# take the agent's port.
MASKED = ["serial-getty@ttyS1.service", "serial-getty@ttyS0.service", "getty@tty1.service",
          "apt-daily.timer", "apt-daily-upgrade.timer", "dpkg-db-backup.timer", "e2scrub_all.timer",
          "e2scrub_reap.service", "fstrim.timer", "systemd-timesyncd.service", "systemd-logind.service",
          "systemd-update-utmp.service", "systemd-update-utmp-runlevel.service"]

INITRD_INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.list); do insmod "/$m" || echo "initrd: cannot insert $m" > /dev/console; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
mkdir -p /newroot
mount -o ro /dev/vda /newroot || { echo "initrd: cannot mount /dev/vda" > /dev/console; sleep 5; poweroff -f; }
umount /proc /sys /dev
exec switch_root /newroot /sbin/init
"""

AGENT_UNIT = """[Unit]
Description=kplug test agent on ttyS1
After=multi-user.target

[Service]
ExecStart=/usr/local/sbin/kplug-test-agent

[Install]
WantedBy=multi-user.target
"""

FSTAB = """/dev/vda / ext4 rw,errors=remount-ro 0 0
LABEL=KPLUGDATA /data ext4 defaults 0 0
"""


def _deb(build):
    """The .deb of this source, built afresh by scripts/package (dpkg-buildpackage)."""
    log("building the .deb with scripts/package")
    out = sh([os.path.join(TOP, "scripts", "package")], env=dict(os.environ, KPLUG_BUILD_DIR=build)).split()
    if not out or not out[-1].endswith(".deb"):
        raise VMError("scripts/package made no .deb")
    return out[-1]


def _depends(deb):
    """Package names of the .deb's Depends (the first of each alternative)."""
    text = sh(["dpkg-deb", "-f", deb, "Depends"]).strip()
    return sorted({part.split("|")[0].split("(")[0].strip() for part in text.split(",") if part.strip()})


def base_tar(build, deb):
    """BUILD/system-vm/base.tar from Debian's repositories (mmdebstrap), cached."""
    d = os.path.join(build, "system-vm")
    os.makedirs(d, exist_ok=True)
    packages = BASE_PACKAGES + _depends(deb)
    key = hashlib.sha256(" ".join([SUITE] + packages).encode()).hexdigest()[:16]
    tar, stamp = os.path.join(d, "base.tar"), os.path.join(d, "base.key")
    if os.path.exists(tar) and os.path.exists(stamp) and open(stamp).read().strip() == key:
        return tar
    if not shutil.which("mmdebstrap"):
        raise VMError("mmdebstrap is missing: run scripts/setup")
    log(f"building a Debian {SUITE} system with mmdebstrap (once; cached in {tar})")
    started = time.monotonic()
    sh(["mmdebstrap", "--variant=minbase", "--format=tar", "--include=" + ",".join(packages), "--mode=root",
        "--aptopt=Acquire::Retries 3", SUITE, tar + ".new"])
    os.replace(tar + ".new", tar)
    with open(stamp, "w") as f:
        f.write(key + "\n")
    log(f"mmdebstrap: {os.path.getsize(tar) >> 20} MiB in {time.monotonic() - started:.0f} s")
    return tar


def _write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def build_disks(build, version, root, deb):
    """root.img and data.img under BUILD/system-vm, made afresh for each VM."""
    d = os.path.join(build, "system-vm")
    tar = base_tar(build, deb)
    tree = os.path.join(d, "rootfs")
    shutil.rmtree(tree, ignore_errors=True)
    os.makedirs(tree)
    sh(["tar", "-xpf", tar, "-C", tree])
    # Debian's kernel modules, whole, as the linux-image package installs them; the demo
    # modules beside them.
    shutil.copytree(os.path.join(root, "lib", "modules", version), os.path.join(tree, "lib", "modules", version),
                    symlinks=True, dirs_exist_ok=True)
    extra = os.path.join(tree, "lib", "modules", version, "extra")
    os.makedirs(extra, exist_ok=True)
    for ko in build_kmods(build, version, root):
        shutil.copy(ko, extra)
    sh(["depmod", "-b", tree, version])
    shutil.copy(deb, os.path.join(tree, "root", "kplug.deb"))
    _write(os.path.join(tree, "usr/local/sbin/kplug-test-agent"), AGENT, 0o755)
    _write(os.path.join(tree, "etc/systemd/system/kplug-test-agent.service"), AGENT_UNIT)
    os.makedirs(os.path.join(tree, "etc/systemd/system/multi-user.target.wants"), exist_ok=True)
    os.symlink("/etc/systemd/system/kplug-test-agent.service",
               os.path.join(tree, "etc/systemd/system/multi-user.target.wants/kplug-test-agent.service"))
    for unit in MASKED:
        link = os.path.join(tree, "etc/systemd/system", unit)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink("/dev/null", link)
    _write(os.path.join(tree, "etc/fstab"), FSTAB)
    os.makedirs(os.path.join(tree, "data"), exist_ok=True)
    _write(os.path.join(tree, "etc/hostname"), "kplug-vm\n")
    # A user for the non-root checks.
    sh(["chroot", tree, "useradd", "--create-home", "--shell", "/bin/bash", "tester"])
    img = os.path.join(d, "root.img")
    if os.path.exists(img):
        os.unlink(img)
    sh(["mkfs.ext4", "-q", "-F", "-L", "kplugroot", "-d", tree, img, "2G"])
    data = os.path.join(d, "data.img")
    if os.path.exists(data):
        os.unlink(data)
    sh(["mkfs.ext4", "-q", "-F", "-L", "KPLUGDATA", data, "16M"])
    shutil.rmtree(tree, ignore_errors=True)
    return img, data


def build_initrd(build, version, root):
    """An initramfs with busybox and the root disk's modules only."""
    d = os.path.join(build, "system-vm")
    stage = os.path.join(d, "initrd")
    shutil.rmtree(stage, ignore_errors=True)
    for sub in ("bin", "proc", "sys", "dev", "newroot"):
        os.makedirs(os.path.join(stage, sub))
    shutil.copy("/bin/busybox", os.path.join(stage, "bin", "busybox"))
    moddir = os.path.join(root, "lib", "modules", version)
    order = []
    for m in ROOT_MODULES:
        for line in sh(["modprobe", "-d", root, "-S", version, "--show-depends", m]).splitlines():
            parts = line.split()
            if parts and parts[0] == "insmod" and parts[1] not in order:
                order.append(parts[1])
    rel = []
    for path in order:
        r = os.path.relpath(path, root)
        os.makedirs(os.path.join(stage, os.path.dirname(r)), exist_ok=True)
        shutil.copy(path, os.path.join(stage, r))
        rel.append(r)
    _write(os.path.join(stage, "modules.list"), "\n".join(rel) + "\n")
    _write(os.path.join(stage, "init"), INITRD_INIT, 0o755)
    cpio = os.path.join(d, "initrd.cpio")
    files = subprocess.run("find . -mindepth 1 | sort", shell=True, cwd=stage, check=True, capture_output=True).stdout
    with open(cpio, "wb") as out:
        subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], input=files, cwd=stage, stdout=out, check=True)
    assert os.path.isdir(moddir)
    return cpio, [os.path.basename(p)[:-3].replace("-", "_") for p in rel]


# How the data disk (LABEL=KPLUGDATA, /data in /etc/fstab) is attached: its drivers are in
# no initramfs, so a loader must load them at boot.
DATA_DISKS = {
    # an NVMe controller: nvme
    "nvme": ["-device", "nvme,serial=kplugdata,drive=data"],
    # a USB stick on the xHCI controller: xhci_pci, usb_storage, sd_mod (and what they need)
    "usb": ["-device", "usb-storage,bus=xhci.0,drive=data,serial=kplugdata"],
}


class SystemVM(VM):
    def __init__(self, build_dir=None, boot_timeout=240, memory=1024, data_disk="nvme", devices=()):
        super().__init__(build_dir=build_dir, boot_timeout=boot_timeout, name="system-vm", memory=memory)
        self.data_disk = data_disk
        self.devices = list(devices)  # more QEMU arguments: devices a loader finds at boot

    def start(self):
        self.version, self.root = kernel(self.build)
        os.makedirs(self.dir, exist_ok=True)
        deb = _deb(self.build)
        log(f"building the system VM's disks ({os.path.basename(deb)} goes in as /root/kplug.deb)")
        started = time.monotonic()
        self.root_img, self.data_img = build_disks(self.build, self.version, self.root, deb)
        self.initrd, self.initrd_modules = build_initrd(self.build, self.version, self.root)
        log(f"disks and initrd ready in {time.monotonic() - started:.0f} s")
        self.boot()

    def boot(self):
        """Starts QEMU on the disks as they are; returns once systemd says the boot is done."""
        self.launch(["-kernel", os.path.join(self.root, "boot", f"vmlinuz-{self.version}"),
                     "-initrd", self.initrd, "-no-reboot",
                     "-append", "console=ttyS0 panic=-1 rdinit=/init tsc=reliable loglevel=4 "
                                "systemd.show_status=false",
                     "-drive", f"file={self.root_img},if=virtio,format=raw",
                     "-drive", f"if=none,id=data,format=raw,file={self.data_img}",
                     "-device", "qemu-xhci,id=xhci"] + DATA_DISKS[self.data_disk] + self.devices)
        self._wait_booted()

    def _wait_booted(self):
        self._wait_reply("ready", self.boot_timeout)
        self.boot_seconds = time.monotonic() - self.boot_started
        state = self.run("systemctl is-system-running --wait", timeout=120, check=False).strip()
        log(f"booted {self.version} with systemd in {self.boot_seconds:.1f} s: {state}")
        self.state = state

    def reboot(self):
        """Powers the VM off (systemctl poweroff, a clean shutdown) and boots it again from
        the same disks in a new QEMU: every boot starts from the same cold state."""
        self._agent.sendall(b"0 " + base64.b64encode(b"systemctl poweroff") + b"\n")
        try:
            self.qemu.wait(timeout=120)
        except subprocess.TimeoutExpired:
            raise VMError("the VM did not power off within 120 s")
        self._agent.close()
        self._qmp.close()
        self.boot()

    LOG_TITLE, LOG_COMMAND = "journal", "journalctl -b --no-pager -n 80"
