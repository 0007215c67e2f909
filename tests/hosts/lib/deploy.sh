# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are read by the files that source this one
# Rendering an example, reading what the rendered files decided, installing them in the machine,
# and reading the machine's journal.

RENDER_DIR=$WORK_DIR/render

find_deployc() {
    if [[ -n ${DEPLOYC:-} ]]; then
        [[ -x $DEPLOYC ]] || die "DEPLOYC=$DEPLOYC is not an executable"
        log "deployc: $DEPLOYC (from DEPLOYC)"
        return
    fi
    command -v cargo >/dev/null || die "cargo is not installed; install Rust, or set DEPLOYC to a deployc binary"
    log "deployc: cargo build --locked"
    (cd "$REPO_DIR" && cargo build --locked --quiet) >"$LOG_DIR/cargo-build.log" 2>&1 || {
        tail -n 20 "$LOG_DIR/cargo-build.log" >&2
        die "cargo build failed; see $LOG_DIR/cargo-build.log"
    }
    DEPLOYC=$REPO_DIR/target/debug/deployc
    export DEPLOYC
}

# What the rendered artifacts of one example decided; set by load_example.
EXAMPLE='' SPEC='' RENDERED='' UNIT='' UNIT_FILE='' SCRIPT_PATH='' SCRIPT_FILE=''
PROJECT_ROOT='' ENGINE_BIN='' COMPOSE_PROJECT='' LINKS_FROM='' BUILD_LOG_DIR='' STATE_DIR=''
COMPOSE_ARGS=() BUILT=() PULLS=() HTTP_URLS=() HTTP_STATUS=() BUILT_IMAGES=() UNITS=()

unit_value() { # KEY: the value of the first KEY= line of the rendered unit
    sed -n "s/^$1=//p" "$UNIT_FILE" | head -n 1
}

# A value the build script assigns in its block of decided values, read by bash itself.
script_values() { # NAME: one value a line
    local line
    line=$(grep -E "^readonly (-a )?$1=" "$SCRIPT_FILE") || return 0
    bash -c "$line"$'\n''for value in "${'"$1"'[@]}"; do printf "%s\n" "$value"; done'
}

# An example's spec, or one of the suite's own (tests/hosts/specs/NAME.kdl).
spec_of() { # NAME
    if [[ -f $EXAMPLES_DIR/$1.kdl ]]; then
        echo "$EXAMPLES_DIR/$1.kdl"
    else
        echo "$HOSTS_DIR/specs/$1.kdl"
    fi
}

render_example() { # NAME
    local dir=$RENDER_DIR/$1
    rm -rf "$dir"
    mkdir -p "$RENDER_DIR" "$LOG_DIR/$1"
    "$DEPLOYC" render "$(spec_of "$1")" -o "$dir" --color never >"$LOG_DIR/$1/render.log" 2>&1
}

load_example() { # NAME: after render_example
    EXAMPLE=$1
    SPEC=$(spec_of "$1")
    RENDERED=$RENDER_DIR/$1
    # Every unit deployc rendered; the deployment's own is the one that stays active.
    mapfile -t UNITS < <(find "$RENDERED" -maxdepth 1 \( -name '*.service' -o -name '*.timer' \) -printf '%f\n' | sort)
    local -a units
    mapfile -t units < <(cd "$RENDERED" && grep -lx 'RemainAfterExit=yes' -- *.service)
    ((${#units[@]} == 1)) || die "$RENDERED holds ${#units[@]} units with RemainAfterExit=yes, expected one"
    UNIT=${units[0]}
    UNIT_FILE=$RENDERED/$UNIT
    # The build script is wherever the unit's ExecStartPre lines run it.
    local -a scripts
    mapfile -t scripts < <(sed -n 's/^ExecStartPre=\([^[:space:]]*\).*/\1/p' "$UNIT_FILE" | sort -u)
    ((${#scripts[@]} == 1)) || die "$UNIT runs ${#scripts[@]} different ExecStartPre programs, expected one build script"
    SCRIPT_PATH=${scripts[0]}
    SCRIPT_FILE=$RENDERED/${SCRIPT_PATH##*/}
    [[ -f $SCRIPT_FILE ]] || die "$UNIT runs $SCRIPT_PATH, but deployc rendered no ${SCRIPT_PATH##*/}"
    PROJECT_ROOT=$(unit_value WorkingDirectory)
    # ExecStart=/usr/bin/timeout --kill-after=10s N ENGINE compose ARGS... up --detach ...
    local -a exec_start
    read -ra exec_start <<<"$(unit_value ExecStart)"
    local i
    for ((i = 1; i < ${#exec_start[@]}; i++)); do
        [[ ${exec_start[i]} != compose ]] || break
    done
    ((i < ${#exec_start[@]})) || die "$UNIT: ExecStart= runs no compose command"
    ENGINE_BIN=${exec_start[i - 1]}
    COMPOSE_ARGS=()
    for ((i = i + 1; i < ${#exec_start[@]}; i++)); do
        [[ ${exec_start[i]} == up ]] && break
        COMPOSE_ARGS+=("${exec_start[i]}")
        [[ ${exec_start[i - 1]} != --project-name ]] || COMPOSE_PROJECT=${exec_start[i]}
    done
    [[ -n $PROJECT_ROOT && -n $COMPOSE_PROJECT ]] || die "could not read WorkingDirectory= and --project-name from $UNIT"
    mapfile -t BUILT < <(script_values BUILT)
    mapfile -t PULLS < <(script_values PULLS)
    mapfile -t HTTP_URLS < <(script_values HTTP_URLS)
    mapfile -t HTTP_STATUS < <(script_values HTTP_STATUS)
    mapfile -t BUILT_IMAGES < <(sed -n 's/^[[:space:]]*image=\([^[:space:]]*\)$/\1/p' "$SCRIPT_FILE")
    BUILD_LOG_DIR=$(script_values LOG_DIR)
    STATE_DIR=$(script_values STATE_DIR)
    LINKS_FROM=$(sed -n 's/^[[:space:]]*symlinks[[:space:]]\{1,\}from="\([^"]*\)".*/\1/p' "$SPEC" | head -n 1)
}

# Paths inside the machine, refused when they could be its / or outside it.
in_root() { # PATH
    if [[ ! ($1 == /?*/* || $1 =~ ^/[^/]+$) || $1 == *..* ]]; then
        die "refusing to touch $1 in the machine"
    fi
    echo "$MACHINE_ROOT$1"
}
remove_in_root() { # PATH...
    local path host_path
    for path in "$@"; do
        [[ -n $path ]] || continue
        host_path=$(in_root "$path")
        rm -rf -- "$host_path"
    done
}

# Stops the example: the unit stopped and disabled, its containers and networks removed.
stop_example() {
    if [[ -e $MACHINE_ROOT/etc/systemd/system/$UNIT ]]; then
        ct systemctl disable --now "$UNIT" >/dev/null 2>&1 || true
        ct systemctl reset-failed "$UNIT" >/dev/null 2>&1 || true
    fi
    local -a ids
    mapfile -t ids < <("$DOCKER" ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT")
    ((${#ids[@]} == 0)) || "$DOCKER" rm -f "${ids[@]}" >/dev/null
    mapfile -t ids < <("$DOCKER" network ls -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT")
    ((${#ids[@]} == 0)) || "$DOCKER" network rm "${ids[@]}" >/dev/null
    return 0
}

# Everything a previous run of this example may have left: containers, networks, built
# images, installed files, state and logs. Used before each scenario, and after it unless
# the run keeps the machine up (then the files stay, for a look inside).
reset_example() {
    stop_example
    local -a ids
    local image
    for image in "${BUILT_IMAGES[@]}"; do
        mapfile -t ids < <("$DOCKER" image ls -q "$image" | sort -u)
        ((${#ids[@]} == 0)) || "$DOCKER" rmi -f "${ids[@]}" >/dev/null
    done
    local unit
    for unit in "${UNITS[@]}"; do
        remove_in_root "/etc/systemd/system/$unit"
    done
    remove_in_root "$SCRIPT_PATH" "$PROJECT_ROOT" "$LINKS_FROM" "$STATE_DIR" "$BUILD_LOG_DIR"
    ct systemctl daemon-reload
}

# The fixture's root/ becomes the project root, its links/ the symlinks' from= folder.
install_fixture() {
    local fixture=$FIXTURES_DIR/$EXAMPLE root links
    [[ -d $fixture/root ]] || die "no fixture for $EXAMPLE: $fixture/root is missing"
    root=$(in_root "$PROJECT_ROOT")
    mkdir -p "$root"
    cp -a "$fixture/root/." "$root/"
    if [[ -n $LINKS_FROM && -d $fixture/links ]]; then
        links=$(in_root "$LINKS_FROM")
        mkdir -p "$links"
        cp -a "$fixture/links/." "$links/"
    fi
}

install_unit() {
    local script unit
    script=$(in_root "$SCRIPT_PATH")
    for unit in "${UNITS[@]}"; do
        install -m 644 "$RENDERED/$unit" "$MACHINE_ROOT/etc/systemd/system/$unit"
    done
    install -D -m 755 "$SCRIPT_FILE" "$script"
    ct systemctl daemon-reload
}

journal_cursor() {
    ct journalctl --no-pager --quiet --lines=1 --show-cursor --output=cat | sed -n 's/^-- cursor: //p'
}

unit_journal() { # CURSOR: the unit's journal after CURSOR
    ct journalctl --no-pager --quiet --unit="$UNIT" --after-cursor="$1" --output=short-precise
}

# The lines of a journal that say why something failed: error lines (with the rest of a
# message that runs over several lines), without docker's progress chatter.
why() { # FILE
    if [[ ! -s $1 ]]; then
        echo "(no journal lines for the unit)" | indent
        return
    fi
    awk '
        / (Pulling fs layer|Waiting|Verifying Checksum|Download complete|Pull complete|Already exists|Extracting)$/ { next }
        {
            tag = $5
            if (more > 0 && tag == last) { print; more--; next }
            more = 0
        }
        tolower($0) ~ /error|fail|refus|denied|not found|no such|timed out|unhealthy|status=|cannot|could not|does not|unknown|warning/ {
            print
            if ($0 ~ /: error: /) { last = tag; more = 10 }
        }
    ' "$1" | tail -n 30 | indent
}

# The engine in the machine, with the compose options of the unit.
compose() { ct "$ENGINE_BIN" compose "${COMPOSE_ARGS[@]}" "$@"; }
