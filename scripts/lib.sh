# Shared by the scripts in this folder (sourced, not run): each long step writes its
# output to a log under the build tree, says what it is doing, and on failure says in one
# line what failed and where the log is.
#
#   step NAME LOG DESCRIPTION COMMAND...   run COMMAND, output into LOG
#   build_targets NAME BUILD LOG TARGET... cmake --build with a progress line on a terminal

# step NAME LOG DESCRIPTION COMMAND...
step() {
  local name=$1 log=$2 what=$3
  shift 3
  mkdir -p "$(dirname "$log")"
  echo "$name: $what (log: $log)" >&2
  if ! "$@" >"$log" 2>&1; then
    tail -n 15 "$log" | sed 's/^/  | /' >&2
    echo "$name: FAILED: $what; the whole output is in $log" >&2
    exit 1
  fi
}

# build_targets NAME BUILD LOG TARGET...: builds TARGETs (none: everything) and shows
# cmake's percentage as it goes when stderr is a terminal.
build_targets() {
  local name=$1 build=$2 log=$3
  shift 3
  local args=()
  [ $# -gt 0 ] && args=(--target "$@")
  mkdir -p "$(dirname "$log")"
  echo "$name: building ${*:-everything} in $build (a few minutes on 2 cores the first time; log: $log)" >&2
  local status=0
  if [ -t 2 ]; then
    # pipefail (set by every script here) makes the pipeline's status cmake's.
    cmake --build "$build" -j "$(nproc)" "${args[@]}" 2>&1 | tee "$log" |
      { while IFS= read -r line; do
          case $line in \[*%\]*) printf '\r%s: building %s' "$name" "${line%%]*}]" >&2 ;; esac
        done; printf '\r\033[K' >&2; } || status=$?
  else
    cmake --build "$build" -j "$(nproc)" "${args[@]}" >"$log" 2>&1 || status=$?
  fi
  if [ "$status" != 0 ]; then
    grep -E 'error|Error' "$log" | head -n 15 | sed 's/^/  | /' >&2
    echo "$name: FAILED: building ${*:-everything}; the whole output is in $log" >&2
    exit 1
  fi
}
