"""Shared helpers for the host integration tests: where things are, and running kplugd."""
import os
import subprocess
import sys
import threading
import time

BIN = os.environ.get("KPLUG_BIN_DIR", "")
MODULES_DIR = os.environ.get("KPLUG_TEST_MODULES_DIR", "")
HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, "..", "tools")


def require_environment():
    """Fail (never skip) when the build or the Debian tree is missing."""
    if not BIN or not os.path.exists(os.path.join(BIN, "kplugd")):
        fail(f"KPLUG_BIN_DIR={BIN!r} holds no kplugd: run through ctest after building")
    if not MODULES_DIR or not os.path.exists(os.path.join(MODULES_DIR, "modules.alias.bin")):
        fail(f"KPLUG_TEST_MODULES_DIR={MODULES_DIR!r} is not an indexed modules tree: run scripts/fetch-kernel")


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)
    print(f"ok: {message}")


def modprobe_resolve(key, modules_dir=None):
    """The set of modules `modprobe -R` names for KEY, with no modprobe.d config."""
    modules_dir = modules_dir or MODULES_DIR
    version = os.path.basename(modules_dir)
    root = os.path.dirname(os.path.dirname(os.path.dirname(modules_dir)))
    r = subprocess.run(["modprobe", "-C", "/nonexistent", "-d", root, "-S", version, "-R", key],
                       capture_output=True, text=True)
    return set(r.stdout.split()) if r.returncode == 0 else set()


def builtin_modules(modules_dir=None):
    with open(os.path.join(modules_dir or MODULES_DIR, "modules.builtin")) as f:
        return {os.path.basename(line.strip())[:-3].replace("-", "_") for line in f if line.strip()}


class Process:
    """A background process whose stderr+stdout lines are collected for assertions."""

    def __init__(self, argv, **kwargs):
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     **kwargs)
        self.lines = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def output(self):
        with self._lock:
            return list(self.lines)

    def wait_for(self, predicate, timeout=20.0, what="a matching line", poke=None):
        """Wait until a line satisfies PREDICATE; POKE() is called every 0.25 s meanwhile."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.output():
                if predicate(line):
                    return line
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            if poke:
                poke()
            time.sleep(0.25)
        self.dump()
        fail(f"timed out waiting for {what} from {' '.join(self.argv)}")

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=5)
        return self.proc.returncode

    def dump(self):
        print(f"--- output of {' '.join(self.argv)} ---", file=sys.stderr)
        for line in self.output()[-60:]:
            print(line[:300], file=sys.stderr)


_sockets = 0


def control_socket_path():
    """A control socket path of this test's own, so kplugds of different tests never meet."""
    global _sockets
    _sockets += 1
    return f"/tmp/kplug-test-{os.getpid()}-{_sockets}.sock"


def kplugd(*args, prefix=()):
    extra = [] if "--control-socket" in args else ["--control-socket", control_socket_path()]
    return Process([*prefix, os.path.join(BIN, "kplugd"), "--modules-dir", MODULES_DIR, *extra, *args])


def write_uevent(devpath, action="add"):
    with open(f"/sys{devpath}/uevent", "w") as f:
        f.write(action)
