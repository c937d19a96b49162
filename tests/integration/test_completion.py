#!/usr/bin/env python3
"""Shell completion, in the real shells: `kplug completion bash|zsh|fish` writes each
script from the verb table, and each one offers every verb, every flag of every verb's
--help (nested `rules check` included), the nested verbs, and the values of the flags
that take a fixed set (--log-level, --action, -F). bash and fish are asked the way they
ask at a prompt (bash: COMP_WORDS and _kplug; fish: `complete -C`); zsh's completion
system needs a terminal, so its builtins (compadd, _describe, _files) are replaced by
functions that print what they were given, and _kplug is called with words/CURRENT set
as zsh sets them."""
import os
import re
import shlex
import subprocess
import tempfile

from common import BIN, check, fail

KPLUG = os.path.join(BIN, "kplug")


def sh(*argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{' '.join(argv)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r.stdout


def help_flags(*verb):
    text = sh(KPLUG, *verb, "--help")
    return set(re.findall(r"^\s+(?:-\w,)?(--[a-z][a-z-]*)", text, re.M)) | \
        set(re.findall(r"^\s+(-\w),", text, re.M))


def verbs():
    return re.findall(r"^  (\w+)  ", sh(KPLUG, "--help"), re.M)


def script(shell):
    path = os.path.join(tempfile.mkdtemp(prefix="kplug-completion-"), f"kplug.{shell}")
    with open(path, "w") as f:
        f.write(sh(KPLUG, "completion", shell))
    return path


def bash_complete(path):
    def complete(*words):
        quoted = " ".join("'" + w + "'" for w in words)
        return set(sh("bash", "-c", f"source {path}; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; "
                      "_kplug; printf '%s\\n' \"${COMPREPLY[@]}\"").split())
    return complete


def zsh_complete(path):
    stubs = ("compadd() { while [[ $1 == -* && $1 != -- ]]; do shift; done; [[ $1 == -- ]] && shift; "
             "print -l -- \"$@\"; }; "
             "_describe() { local a; for a in ${(P)4}; do print -- ${a%%:*}; done; }; "
             "_files() { print FILES; }; _directories() { print DIRECTORIES; }; ")

    def complete(*words):
        quoted = " ".join("'" + w + "'" for w in words)
        return set(sh("zsh", "-f", "-c", f"{stubs} source {path}; words=({quoted}); CURRENT={len(words)}; "
                      "_kplug").split())
    return complete


def fish_complete(path):
    def complete(*words):
        line = " ".join(words)
        out = sh("fish", "--no-config", "-c", f"source {path}; complete -C '{line}'")
        return {entry.split("\t")[0] for entry in out.splitlines()}
    return complete


def check_shell(shell, complete):
    names = verbs()
    check(len(names) >= 14 and set(names) <= complete("kplug", ""), f"{shell}: every verb ({len(names)})")
    for verb in names:
        want = help_flags(verb)
        got = complete("kplug", verb, "-")
        if not want <= got:
            fail(f"{shell}: 'kplug {verb} -' lacks {sorted(want - got)}")
        if got - want:
            fail(f"{shell}: 'kplug {verb} -' offers flags --help does not list: {sorted(got - want)}")
    check(True, f"{shell}: exactly the flags of every verb's --help")
    check("check" in complete("kplug", "rules", ""), f"{shell}: kplug rules → check")
    want = help_flags("rules", "check")
    got = complete("kplug", "rules", "check", "-")
    check(want <= got and "--config" in got, f"{shell}: kplug rules check - → {sorted(got)}")
    check({"trace", "debug", "info", "warn", "error", "off"} <= complete("kplug", "--log-level", ""),
          f"{shell}: --log-level values")
    check({"add", "change"} <= complete("kplug", "trigger", "--action", ""), f"{shell}: trigger --action values")
    check({"alias", "vermagic"} <= complete("kplug", "modinfo", "-F", ""), f"{shell}: modinfo -F fields")
    check({"bash", "zsh", "fish"} <= complete("kplug", "completion", ""), f"{shell}: completion → its shells")
    # Every fixed value a script offers is one the parser accepts: each is run (in a form
    # that does nothing) and must not be a usage error (exit 2).
    tried = 0
    for words, argv in ((("trigger", "--action"), lambda v: ["trigger", "--dry-run", "--subsystem", "none", "--action", v]),
                        (("--log-level",), lambda v: ["--log-level", v, "completion", "bash"]),
                        (("status", "--format"), lambda v: ["status", "--format", v, "--socket", "/nonexistent"]),
                        (("completion",), lambda v: ["completion", v])):
        offered = {w for w in complete("kplug", *words, "") if not w.startswith("-")}
        for value in offered:
            r = subprocess.run([KPLUG, *argv(value)], capture_output=True, text=True)
            if r.returncode == 2:
                fail(f"{shell}: 'kplug {' '.join(words)}' offers {value!r}, which the parser refuses: {r.stderr.strip()}")
            tried += 1
    check(tried >= 14 and "remove" not in complete("kplug", "trigger", "--action", ""),
          f"{shell}: the {tried} fixed values offered are all accepted by the parser (no 'remove' for trigger --action)")
    # A value flag's value is not taken for the verb.
    check({"--json", "--count"} <= complete("kplug", "--log-level", "debug", "monitor", "--"),
          f"{shell}: --log-level VALUE, then the verb's flags")


def main():
    check_shell("bash", bash_complete(script("bash")))
    # Names read from the machine are matched as strings: a `$(...)` in a sysfs or module
    # name is offered as it is, never run (compgen -W would expand it).
    with tempfile.TemporaryDirectory() as tmp:
        planted = os.path.join(tmp, "ran")
        name = f"$(touch {planted})"
        out = sh("bash", "-c", f"source {script('bash')}; COMPREPLY=(); "
                 f"_kplug_match '$' <<< {shlex.quote(name)}; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
        check(out.strip() == name and not os.path.exists(planted),
              f"bash: a machine-read name holding $(...) is offered literally, not run: {out.strip()}")
    zsh = script("zsh")
    check_shell("zsh", zsh_complete(zsh))
    check("DIRECTORIES" in zsh_complete(zsh)("kplug", "test", "--modules-dir", ""), "zsh: --modules-dir → directories")
    check("FILES" in zsh_complete(zsh)("kplug", "test", "--event", ""), "zsh: --event → files")
    fish = script("fish")
    check_shell("fish", fish_complete(fish))
    out = sh("fish", "--no-config", "-c", f"source {fish}; complete -C 'kplug mon'")
    check(out.startswith("monitor\t") and "uevents" in out, f"fish: verbs come with their summary: {out.strip()}")
    # What the package installs is what the binary writes.
    installed = {"bash": "kplug.bash", "zsh": "_kplug", "fish": "kplug.fish"}
    for shell, name in installed.items():
        built = os.path.join(BIN, "packaging", "completion", name)
        check(os.path.exists(built) and open(built).read() == sh(KPLUG, "completion", shell),
              f"the build's {name} is `kplug completion {shell}`")


if __name__ == "__main__":
    main()
