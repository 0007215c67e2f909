# shellcheck shell=bash
# Sourced by every stub in this folder. A stub stands in for a host command:
# it appends its argv to $STUB_CTL/calls.log, one line per call (the time in
# nanoseconds, its name, then each argument; tab-separated, with backslash,
# tab and newline escaped as \\ \t \n), then behaves as the STUB_* variables
# of its environment say. Counters and SSM values live in $STUB_CTL too.
set -uo pipefail
: "${STUB_CTL:?the stubs need STUB_CTL, the folder of their call log}"
: "${STUB_REAL_PATH:?the stubs need STUB_REAL_PATH, the PATH without them}"

stub_escape() {
    local s=${1//\\/\\\\}
    s=${s//$'\t'/\\t}
    printf '%s' "${s//$'\n'/\\n}"
}

# stub_record NAME ARG...: appends one line to calls.log.
stub_record() {
    local line arg
    line="$(date +%s%N)"$'\t'$(stub_escape "$1")
    shift
    for arg in "$@"; do
        line+=$'\t'$(stub_escape "$arg")
    done
    { flock 8 && printf '%s\n' "$line" >&8; } 8>>"$STUB_CTL/calls.log"
}

# stub_count NAME: adds one to the counter NAME and prints its new value.
stub_count() {
    local file="$STUB_CTL/count.$1" n
    {
        flock 8
        n=$(($(cat -- "$file" 2>/dev/null || echo 0) + 1))
        printf '%s\n' "$n" >"$file"
    } 8>>"$file.lock"
    printf '%s\n' "$n"
}

# stub_fails NAME LIMIT: counts a call under NAME; true for the first LIMIT calls ("all": always).
stub_fails() {
    local n
    n=$(stub_count "$1")
    [[ $2 == all ]] || ((n <= $2))
}

# stub_listed WORD LIST: whether WORD is one of the space-separated LIST ("all" lists everything).
stub_listed() {
    [[ $2 == all || " $2 " == *" $1 "* ]]
}

# stub_real COMMAND ARG...: runs the real command, not a stub.
stub_real() {
    local real
    real=$(PATH=$STUB_REAL_PATH type -P "$1") || {
        echo "stub: no real $1 on $STUB_REAL_PATH" >&2
        return 127
    }
    shift
    "$real" "$@"
}

stub_record "${0##*/}" "$@"
