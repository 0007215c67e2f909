# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are read by the files that source this one
# Settings, output, assertions and timing shared by the runner, the library and the scenarios.

HOSTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$HOSTS_DIR/../.." && pwd)
FIXTURES_DIR=$HOSTS_DIR/fixtures
EXAMPLES_DIR=$REPO_DIR/examples

# What survives between runs (the debootstrapped rootfs, the compose download) and what one
# run writes (logs, rendered artifacts, the engine's data, the machine's writable layer).
CACHE_DIR=${DEPLOYC_HOSTS_CACHE:-/var/cache/deployc-hosts}
WORK_DIR=${DEPLOYC_HOSTS_WORK:-/var/tmp/deployc-hosts}
PID_DIR=$WORK_DIR/pids
LOG_DIR=$WORK_DIR/logs
RESULTS=$WORK_DIR/results

# Debian's docker 20.10 client: the one the rendered units call. Another `docker` may come first on PATH.
DOCKER=/usr/bin/docker
REGISTRY=127.0.0.1:5000
MACHINE=deployc-hosts
KEEP_RUNNING=0 # --keep: leave the engine and the machine up, and each example's files installed

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
heading() { printf '\n======== %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 2
}
indent() { sed 's/^/    | /'; }

# Results go to a file, so scenarios may run in subshells.
SCENARIO=setup
record() { # KIND MESSAGE
    printf '%s\t%s\t%s\n' "$1" "$SCENARIO" "$2" >>"$RESULTS"
}
pass() {
    printf 'PASS: %s\n' "$*"
    record PASS "$*"
}
fail() {
    printf 'FAIL: %s\n' "$*"
    record FAIL "$*"
}
skip() {
    printf 'SKIP: %s\n' "$*"
    record SKIP "$*"
}
# expect DESCRIPTION CMD...: PASS when CMD succeeds, else FAIL with CMD's output.
expect() {
    local description=$1 output
    shift
    if output=$("$@" 2>&1); then
        pass "$description"
    else
        fail "$description"
        [[ -z $output ]] || printf '%s\n' "$output" | tail -n 20 | indent
    fi
}
count_results() { # KIND [SCENARIO]
    [[ -f $RESULTS ]] || {
        echo 0
        return
    }
    awk -F'\t' -v k="$1" -v s="${2-}" '$1 == k && (s == "" || $2 == s) { n++ } END { print n + 0 }' "$RESULTS"
}

# Timing: every phase is recorded and printed at the end.
PHASES=$WORK_DIR/phases
now_us() { echo "${EPOCHREALTIME/./}"; }
seconds_since() { # START_US: prints elapsed seconds with one decimal
    local us=$(($(now_us) - $1))
    printf '%d.%d' $((us / 1000000)) $((us % 1000000 / 100000))
}
# phase NAME CMD...: runs CMD (errexit holds inside it) and records how long it took.
phase() {
    local name=$1 start took
    shift
    start=$(now_us)
    "$@"
    took=$(seconds_since "$start")
    printf '%s\t%s\n' "$name" "$took" >>"$PHASES"
    log "phase $name: ${took} s"
}

# A process is running unless it is gone or a zombie (a daemon started in a subshell that has
# ended is reaped by PID 1, which may take its time or never do it).
running() { # PID
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}
gone() { ! running "$1"; }
alive() { # PIDFILE: the process it names is running
    [[ -s $1 ]] && running "$(<"$1")"
}
# wait_until SECONDS CMD...: polls CMD every 0.2 s.
wait_until() {
    local deadline=$(($(now_us) + $1 * 1000000))
    shift
    until "$@" >/dev/null 2>&1; do
        (($(now_us) < deadline)) || return 1
        sleep 0.2
    done
}
