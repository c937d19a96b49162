# bash completion for kplug: verbs, each verb's flags, and the values that fit where they
# go (module names, .ko files, subsystems, rule files). Installed as
# /usr/share/bash-completion/completions/kplug.

_kplug_verbs="monitor match rules test status loaded reload settle trigger lsmod modinfo insmod rmmod"

_kplug_flags() {
  case $1 in
    monitor) echo "--json --subsystem --count --decisions --socket --help" ;;
    match) echo "--modules-dir --modprobe-config --batch --help" ;;
    rules) echo "check --help" ;;
    rules-check) echo "--config --help" ;;
    test) echo "--config --modules-dir --rules --event --devpath --help" ;;
    status | loaded) echo "--socket --json --help" ;;
    reload) echo "--socket --help" ;;
    settle) echo "--socket --timeout --help" ;;
    trigger) echo "--action --subsystem --dry-run --settle --timeout --socket --help" ;;
    lsmod) echo "--socket --state-file --json --help" ;;
    modinfo) echo "--modules-dir -F --field --no-devices --help" ;;
    insmod | rmmod) echo "--help" ;;
  esac
}

_kplug_loaded_modules() {
  [ -r /proc/modules ] && cut -d' ' -f1 /proc/modules
}

_kplug() {
  local cur prev verb i
  COMPREPLY=()
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  verb=
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      --log-level) ((i++)) ;;
      -*) ;;
      *) verb=${COMP_WORDS[i]}; break ;;
    esac
  done
  if [ -z "$verb" ]; then
    case $prev in
      --log-level) COMPREPLY=($(compgen -W "trace debug info warn error off" -- "$cur")); return ;;
    esac
    COMPREPLY=($(compgen -W "$_kplug_verbs --log-level --help --version" -- "$cur"))
    return
  fi
  [ "$verb" = rules ] && [ "${COMP_WORDS[i+1]}" = check ] && [ $((i + 1)) -lt "$COMP_CWORD" ] && verb=rules-check
  case $prev in
    --modules-dir | --state-dir | --rules) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --socket | --state-file | --event | --config | --modprobe-config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --subsystem) COMPREPLY=($(compgen -W "$(ls /sys/bus /sys/class 2>/dev/null)" -- "$cur")); return ;;
    --action) COMPREPLY=($(compgen -W "add change remove" -- "$cur")); return ;;
    --devpath) COMPREPLY=($(compgen -W "$(cd /sys && find devices -maxdepth 6 -name uevent -printf '/%h\n' 2>/dev/null)" -- "$cur")); return ;;
    -F | --field) COMPREPLY=($(compgen -W "filename alias author description license version parm depends softdep firmware vermagic" -- "$cur")); return ;;
    --count | --timeout) return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_kplug_flags "$verb")" -- "$cur"))
    return
  fi
  case $verb in
    rules) COMPREPLY=($(compgen -W "check" -- "$cur")) ;;
    rules-check) COMPREPLY=($(compgen -f -- "$cur")) ;;
    insmod) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -X '!*.ko*' -- "$cur") $(compgen -d -- "$cur")) ;;
    rmmod) COMPREPLY=($(compgen -W "$(_kplug_loaded_modules)" -- "$cur")) ;;
    modinfo) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -W "$(_kplug_loaded_modules)" -- "$cur") $(compgen -f -X '!*.ko*' -- "$cur")) ;;
  esac
}
complete -F _kplug kplug
