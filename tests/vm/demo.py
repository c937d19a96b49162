#!/usr/bin/env python3
"""The USB lifecycle demo: boot Debian's kernel in QEMU, start kplugd, plug and unplug a
smart-card reader (usb-ccid, driven by kmods/usb_hello) and a keyboard (usb-kbd, usbhid),
and stream kplugd's log and the kernel's messages live, each with its own prefix.

usage: demo.py [--interactive | --shell] [--grace SECONDS]
  --interactive   after start-up, read monitor commands from you instead of the script
  --shell         a root shell in the VM on this terminal, with the demo modules built in
                  ~/kmods and kplugd running: the place to follow
                  docs/tutorial.md (Ctrl-A c: QEMU monitor, Ctrl-A x or poweroff: quit)
"""
import argparse
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kplugvm import VM, VMError  # noqa: E402

COLOUR = sys.stdout.isatty()
KERNEL_LINE = re.compile(r"^\[\s*\d+\.\d+\]")
KPLUGD_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} ")


def paint(code, text):
    return f"\033[{code}m{text}\033[0m" if COLOUR else text


def say(text):
    print(paint("1", f"demo   | {text}"), flush=True)


class ConsoleTail(threading.Thread):
    """Prints new console lines: kernel messages and kplugd's log, told apart."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.offset = 0
        self.showing = False  # boot chatter is skipped until kplugd starts

    def run(self):
        partial = ""
        while True:
            try:
                with open(self.path, errors="replace") as f:
                    f.seek(self.offset)
                    data = f.read()
                    self.offset = f.tell()
            except OSError:
                data = ""
            partial += data
            *lines, partial = partial.split("\n")
            for line in lines:
                self.show(line.rstrip("\r"))
            time.sleep(0.1)

    def show(self, line):
        if KPLUGD_LINE.match(line):
            self.showing = True
            print(paint("36", f"kplugd | {line}"), flush=True)
        elif self.showing and KERNEL_LINE.match(line):
            print(paint("33", f"kernel | {line}"), flush=True)


def wait_for(vm, predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.5)
    return predicate()


def scripted(vm, grace):
    """Plugs and unplugs both devices; returns what did not happen (empty: the whole
    lifecycle was seen)."""
    missing = []

    def expect(ok, what):
        if not ok:
            missing.append(what)
            say(f"NOT SEEN: {what}")

    say("plugging a USB smart-card reader: device_add usb-ccid,id=c1")
    vm.plug("usb-ccid", "c1")
    expect(wait_for(vm, lambda: "usb_hello" in vm.loaded_modules(), 30), "usb_hello loaded after the plug")
    time.sleep(2)
    say(f"lsmod in the VM: {', '.join(sorted(vm.loaded_modules()))}")
    say("unplugging it: device_del c1")
    vm.unplug("c1")
    expect(wait_for(vm, lambda: "usb_hello" not in vm.loaded_modules(), grace + 20),
           "usb_hello unloaded after the unplug")
    time.sleep(1)
    say("plugging a USB keyboard: device_add usb-kbd,id=kbd1")
    vm.plug("usb-kbd", "kbd1")
    expect(wait_for(vm, lambda: "usbhid" in vm.loaded_modules(), 30), "usbhid loaded after the plug")
    time.sleep(2)
    say("unplugging it: device_del kbd1")
    vm.unplug("kbd1")
    expect(wait_for(vm, lambda: "usbhid" not in vm.loaded_modules(), grace + 20), "usbhid unloaded after the unplug")
    time.sleep(1)
    say(f"lsmod in the VM: {', '.join(sorted(vm.loaded_modules()))}")
    if not missing:
        say("done: device in -> module loaded -> probe -> device out -> disconnect -> module unloaded")
    return missing


def interactive(vm):
    say("QEMU monitor commands, for example:")
    say("  device_add usb-ccid,id=c1      (a smart-card reader: usb_hello)")
    say("  device_add usb-kbd,id=kbd1     (a keyboard: usbhid)")
    say("  device_add usb-mouse,id=m1     (a mouse: usbhid)")
    say("  device_del c1")
    say("  info usb")
    say("  shell lsmod                    (a command inside the VM)")
    say("  quit")
    while True:
        try:
            line = input(paint("1", "(qemu) ")).strip()
        except EOFError:
            break
        if not line:
            continue
        if line in ("quit", "q", "exit"):
            break
        try:
            if line.startswith("shell "):
                print(vm.run(line[len("shell "):], check=False), end="", flush=True)
            else:
                out = vm.qmp("human-monitor-command", **{"command-line": line})
                if out:
                    print(out, end="", flush=True)
        except Exception as e:  # a typo must not end the demo
            print(f"error: {e}", flush=True)


def shell(grace):
    """The VM's console on this terminal: kplugd is started through the agent, then the
    user has the shell until they power the VM off."""
    say("building the VM (Debian's kernel, the kmods/ modules, kplugd) and booting it under QEMU ...")
    vm = VM(shell=True)
    try:
        vm.start()
        vm.start_kplugd(grace=f"{grace:g}s")
        vm.run("echo '  kplugd is running (--unload-grace {:g}s); press Enter for a prompt.' > /dev/console"
               .format(grace))
        vm.qemu.wait()
    finally:
        vm.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interactive", action="store_true", help="type monitor commands yourself")
    parser.add_argument("--shell", action="store_true", help="a shell in the VM, for the tutorial")
    parser.add_argument("--grace", type=float, help="kplugd's unload grace period in seconds "
                        "(default: 2 with --shell, as the tutorial's outputs assume; 3 otherwise)")
    args = parser.parse_args()
    if args.shell:
        return shell(2.0 if args.grace is None else args.grace)
    if args.grace is None:
        args.grace = 3.0
    say("building the VM (Debian's kernel, kmods/usb_hello, kplugd) and booting it under QEMU ...")
    missing = []
    with VM() as vm:
        say(f"Linux {vm.version} booted in {vm.boot_seconds:.1f} s; starting kplugd")
        tail = ConsoleTail(vm.console_log)
        tail.offset = os.path.getsize(vm.console_log)
        tail.start()
        # TERM=dumb: the console is a tty, but the log is read from a file on the host.
        vm.run(f"TERM=dumb kplugd --unload-grace {args.grace}s > /dev/console 2>&1 < /dev/null &")
        wait_for(vm, lambda: "coldplug complete" in open(vm.console_log, errors="replace").read(), 60)
        time.sleep(1)
        if args.interactive:
            interactive(vm)
        else:
            missing = scripted(vm, args.grace)
        time.sleep(0.5)
    if missing:
        say(f"FAILED: the lifecycle was not complete: {'; '.join(missing)} "
            f"(the VM's console is in {vm.console_log})")
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except VMError as e:
        print(f"demo: FAILED: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
