# Shared by the scripts in this folder (sourced, not run): each long step writes its
# output to a log under the build tree, says what it is doing, and on failure says in one
# line what failed and where the log is.
#
#   step NAME LOG DESCRIPTION COMMAND...   run COMMAND, output into LOG, elapsed time shown
#   stage NAME I N DESCRIPTION             "[I/N] DESCRIPTION (at 3m12s)"
#   build_targets NAME BUILD LOG TARGET... cmake --build with a progress line on a terminal
#   build_embedded NAME BUILD              the embedded kplugd (docs/embedded.md) in BUILD/embedded

# step NAME LOG DESCRIPTION COMMAND...: while COMMAND runs, a terminal sees the seconds
# go by on one line; a log (CI) gets a "still ..." line every minute. Says how long it took.
step() {
  local name=$1 log=$2 what=$3
  shift 3
  mkdir -p "$(dirname "$log")"
  echo "$name: $what (log: $log)" >&2
  local started=$SECONDS status=0 pid
  "$@" >"$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    local took=$((SECONDS - started))
    if [ -t 2 ]; then
      printf '\r%s: ... %d s' "$name" "$took" >&2
    elif [ $((took % 60)) = 0 ]; then
      echo "$name: still $what ($took s so far)" >&2
    fi
  done
  wait "$pid" || status=$?
  [ -t 2 ] && printf '\r\033[K' >&2
  if [ "$status" != 0 ]; then
    tail -n 15 "$log" | sed 's/^/  | /' >&2
    echo "$name: FAILED: $what; the whole output is in $log" >&2
    exit 1
  fi
  [ $((SECONDS - started)) -ge 5 ] && echo "$name: ... done in $((SECONDS - started)) s" >&2
  return 0
}

# stage NAME INDEX TOTAL DESCRIPTION: the header of one of a script's TOTAL stages, with
# the time since the script started.
stage() {
  echo "$1: [$2/$3] $4 (at $((SECONDS / 60))m$((SECONDS % 60))s)" >&2
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
  local status=0 started=$SECONDS
  if [ -t 2 ]; then
    # pipefail (set by every script here) makes the pipeline's status cmake's.
    cmake --build "$build" -j "$(nproc)" "${args[@]}" 2>&1 | tee "$log" |
      { while IFS= read -r line; do
          case $line in \[*%\]*) printf '\r%s: building %s' "$name" "${line%%]*}]" >&2 ;; esac
        done; printf '\r\033[K' >&2; } || status=$?
  else
    # No terminal (CI): cmake's percentage lines, one every 10 %.
    cmake --build "$build" -j "$(nproc)" "${args[@]}" 2>&1 | tee "$log" |
      { local shown=-10; while IFS= read -r line; do
          case $line in \[*%\]*)
            local pct=${line#[}; pct=${pct%%%*}; pct=${pct// /}
            if [ "$pct" -ge $((shown + 10)) ] 2>/dev/null; then shown=$pct; echo "$name: building: $pct %" >&2; fi ;;
          esac
        done; } || status=$?
  fi
  if [ "$status" != 0 ]; then
    grep -E 'error|Error' "$log" | head -n 15 | sed 's/^/  | /' >&2
    echo "$name: FAILED: building ${*:-everything}; the whole output is in $log" >&2
    exit 1
  fi
  echo "$name: built in $((SECONDS - started)) s" >&2
}

# build_embedded NAME BUILD: the embedded kplugd (-DKPLUG_EMBEDDED=ON, docs/embedded.md) in
# BUILD/embedded, its log in BUILD/logs/embedded.log. The VM benchmarks and
# integration.embedded find it there.
build_embedded() {
  local name=$1 build=$2
  step "$name" "$build/logs/embedded-configure.log" "configuring the embedded build in $build/embedded" \
    cmake -S "$top" -B "$build/embedded" -DKPLUG_EMBEDDED=ON -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
  build_targets "$name" "$build/embedded" "$build/logs/embedded.log" kplugd
}
