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
# the time since the script started. The stage before it ends there: its time is printed
# and kept for stage_table.
stage_names=() stage_seconds=() stage_notes=() _stage_started=
stage() {
  stage_end "$1"
  echo "$1: [$2/$3] $4 (at $((SECONDS / 60))m$((SECONDS % 60))s)" >&2
  stage_names+=("$2/$3 ${4%% (*}") _stage_started=$SECONDS
}

# stage_end NAME: the running stage (if any) ends now; says how long it took.
stage_end() {
  [ -n "$_stage_started" ] || return 0
  local took=$((SECONDS - _stage_started))
  stage_seconds+=("$took") _stage_started=
  echo "$1: stage ${stage_names[-1]%% *} took $((took / 60))m$((took % 60))s" >&2
}

# stage_add LABEL SECONDS: a stage that ran before this script (.ci/run's demo), for the table.
stage_add() {
  stage_names+=("$1") stage_seconds+=("$2")
}

# stage_table NAME [BUDGET...]: ends the running stage and prints every stage's time, each
# against its budget in seconds (given in stage order; "-" for none). A stage over its
# budget is marked: docs/testing.md ("CI budget") says a stage past its budget is a bug.
stage_table() {
  local name=$1; shift
  stage_end "$name"
  local budgets=("$@") i total=0 over=0
  printf '%s: %-66s %8s %8s\n' "$name" "stage" "took" "  budget" >&2
  for i in "${!stage_names[@]}"; do
    local took=${stage_seconds[$i]} budget=${budgets[$i]:--} mark=""
    total=$((total + took))
    if [ "$budget" != - ] && [ "$took" -gt "$budget" ]; then mark="  OVER BUDGET"; over=1; fi
    printf '%s: %-66s %5dm%02ds %8s%s\n' "$name" "${stage_names[$i]:0:66}" $((took / 60)) $((took % 60)) \
      "$( [ "$budget" = - ] && echo - || printf '%dm%02ds' $((budget / 60)) $((budget % 60)))" "$mark" >&2
  done
  printf '%s: %-66s %5dm%02ds\n' "$name" "total" $((total / 60)) $((total % 60)) >&2
  for i in "${stage_notes[@]}"; do echo "$name: ($i)" >&2; done
  [ "$over" = 0 ] || echo "$name: a stage went over its budget (docs/testing.md, \"CI budget\"): find out why" >&2
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

# configure_main NAME BUILD [CMAKE ARGS...]: the main build, configured the one way every
# script does it (scripts/demo, scripts/check, scripts/bench): Debian's compiler and
# linker flags from dpkg-buildflags, hardening included, exactly as dpkg-buildpackage
# passes them to the package build, so that what the tests run is what the package ships;
# and ccache with its cache in BUILD/ccache, so that the package build (scripts/package,
# which uses the same cache) compiles nothing the main build has compiled already.
configure_main() {
  local name=$1 build=$2
  shift 2
  # As debhelper's cmake build does: CPPFLAGS appended to CXXFLAGS (CMake ignores CPPFLAGS).
  local cxxflags cppflags ldflags
  cxxflags=$(cd "$top" && DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get CXXFLAGS)
  cppflags=$(cd "$top" && DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get CPPFLAGS)
  ldflags=$(cd "$top" && DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get LDFLAGS)
  # The launcher carries ccache's settings, so a later `cmake --build` from any shell
  # uses the same cache.
  compiler_cache "$build"
  step "$name" "$build/logs/configure.log" "configuring the build in $build" \
    cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="$cxxflags $cppflags" \
      -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
      -DCMAKE_CXX_COMPILER_LAUNCHER="env;CCACHE_DIR=$CCACHE_DIR;CCACHE_BASEDIR=$CCACHE_BASEDIR;CCACHE_MAXSIZE=$CCACHE_MAXSIZE;CCACHE_SLOPPINESS=$CCACHE_SLOPPINESS;ccache" \
      "$@"
}

# compiler_cache BUILD: ccache's settings for builds that share BUILD/ccache, exported. The
# base directory makes paths relative, so the package's copy of the sources in
# BUILD/package/kplug (built in its own build/ folder, as the main build is in build/) hits
# what the main build stored. Lives in the build tree: a fresh clone starts it empty.
compiler_cache() {
  # The unit tests' precompiled header: ccache caches the files that use it only when told
  # to (pch_defines, time_macros).
  export CCACHE_DIR="$1/ccache" CCACHE_BASEDIR="$top" CCACHE_MAXSIZE=2G CCACHE_SLOPPINESS=pch_defines,time_macros
}

# cache_counts: "HITS MISSES" of the cache compiler_cache set, so far.
cache_counts() {
  ccache --print-stats 2>/dev/null |
    awk '$1 == "direct_cache_hit" || $1 == "preprocessed_cache_hit" { h += $2 } $1 == "cache_miss" { m += $2 }
         END { print h + 0, m + 0 }'
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

# slowest_tests NAME N JUNIT...: the N slowest tests of the ctest runs whose JUnit files
# (ctest --output-junit) are given, with their times.
slowest_tests() {
  local name=$1 count=$2
  shift 2
  python3 - "$name" "$count" "$@" <<'PY' >&2
import sys, xml.etree.ElementTree as ET
name, count, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
times = []
for f in files:
    try:
        root = ET.parse(f).getroot()
    except (OSError, ET.ParseError):
        continue
    suite = f.rsplit("junit-", 1)[-1][:-4]
    times += [(float(t.get("time") or 0), suite, t.get("name")) for t in root.iter("testcase")]
times.sort(reverse=True)
total = sum(t for t, _, _ in times)
print(f"{name}: the {min(count, len(times))} slowest of {len(times)} tests ({total:.0f} s summed):")
for t, suite, test in times[:count]:
    print(f"{name}: {t:8.1f} s  {suite:<11} {test[:80]}")
PY
}

# background LABEL LOG COMMAND...: runs COMMAND (a function or a program) at the lowest CPU
# priority while the script goes on, its output in LOG; wait_background LABEL waits for it,
# says how long it took and, if it failed, shows the end of LOG and stops the script.
declare -A _bg_pid=() _bg_log=() _bg_started=()
background() {
  local label=$1 log=$2
  shift 2
  mkdir -p "$(dirname "$log")"
  echo "${FUNCNAME[1]:-main}: started beside the next stages: $label (log: $log)" >&2
  # In its own process group (set -m), so that stop_background ends its compilers too.
  set -m
  ( renice -n 19 -p "$BASHPID" > /dev/null; "$@" ) > "$log" 2>&1 &
  _bg_pid[$label]=$! _bg_log[$label]=$log _bg_started[$label]=$SECONDS
  set +m
}
# stop_background: ends what background started and nobody waited for (a script that
# failed before; trap it on EXIT), so no build goes on compiling after the script is gone.
stop_background() {
  local pid
  for pid in "${_bg_pid[@]}"; do kill -- "-$pid" 2> /dev/null || true; done
}
wait_background() {
  local label=$1 status=0
  wait "${_bg_pid[$label]}" || status=$?
  local took=$((SECONDS - ${_bg_started[$label]}))
  if [ "$status" != 0 ]; then
    tail -n 20 "${_bg_log[$label]}" | sed 's/^/  | /' >&2
    echo "check: FAILED: $label (in the background); the whole output is in ${_bg_log[$label]}" >&2
    exit 1
  fi
  echo "check: $label, beside the other stages: done $((took / 60))m$((took % 60))s after it started" >&2
  stage_notes+=("$label ran beside the stages, at the lowest priority: $((took / 60))m$((took % 60))s from start to end")
}
