# shellcheck shell=bash
# The scenario every example runs: render it, install it with its fixture, and drive the unit
# through start, reload, stop, a second start and a reboot of the machine.

STEP_LOG='' START_OUTPUT=''

# unit_start LABEL: systemctl start; the unit's journal of that start goes to STEP_LOG/LABEL.journal.
unit_start() {
    local label=$1 cursor status=0 start
    cursor=$(journal_cursor)
    ct systemctl reset-failed "$UNIT" >/dev/null 2>&1 || true
    start=$(now_us)
    START_OUTPUT=$(ct timeout 900 systemctl start "$UNIT" 2>&1) || status=$?
    log "systemctl start $UNIT ($label): exit $status after $(seconds_since "$start") s"
    unit_journal "$cursor" >"$STEP_LOG/$label.journal" || true
    if ((status != 0)); then
        # A failed start has scheduled a retry (Restart=on-failure): cancel it.
        ct systemctl stop "$UNIT" >/dev/null 2>&1 || true
        ct systemctl reset-failed "$UNIT" >/dev/null 2>&1 || true
    fi
    return "$status"
}

# unit_control VERB LABEL: systemctl reload/stop, with the journal in STEP_LOG/LABEL.journal.
unit_control() {
    local verb=$1 label=$2 cursor status=0 start output
    cursor=$(journal_cursor)
    start=$(now_us)
    output=$(ct timeout 600 systemctl "$verb" "$UNIT" 2>&1) || status=$?
    log "systemctl $verb $UNIT: exit $status after $(seconds_since "$start") s"
    unit_journal "$cursor" >"$STEP_LOG/$label.journal" || true
    if ((status == 0)); then
        pass "systemctl $verb $UNIT"
    else
        fail "systemctl $verb $UNIT (exit $status)"
        [[ -z $output ]] || printf '%s\n' "$output" | indent
        why "$STEP_LOG/$label.journal"
    fi
    return "$status"
}

fail_start() { # LABEL STATUS WHAT
    fail "$3 (systemctl exit $2)"
    [[ -z $START_OUTPUT ]] || printf '%s\n' "$START_OUTPUT" | indent
    why "$STEP_LOG/$1.journal"
    echo "    (the unit's whole journal of this start: $STEP_LOG/$1.journal)"
}

# A stage the start never reached is reported once, as a SKIP: the start's FAIL says why.
not_reached() { # WHAT ITEMS...
    local what=$1
    shift
    (($#)) || return 0
    skip "$what of $*: the start failed before reaching them"
}

# What the journal says about one service's build: its cache mode, errors, result.
build_story() { # SERVICE FILE
    awk -v service="$1" '
        / service: +[^ ]+$/ { current = $NF }
        $0 ~ ("build: " service ": ") { print; current = ""; next }
        current == service && tolower($0) ~ /cache: |result: |error|failed/ { print }
    ' "$2" | tail -n 20
}

check_builds() { # LABEL RESULT STARTED: each built service's build ran, and says RESULT in the journal
    local label=$1 result=$2 started=$3 service logs lines journal=$STEP_LOG/$1.journal
    local -a unreached=()
    for service in "${BUILT[@]}"; do
        if ((!started)) && ! grep -qE "build: $service: |service: +$service\$" "$journal"; then
            unreached+=("$service")
            continue
        fi
        if [[ $result == succeeded ]]; then
            logs=$(compgen -G "$MACHINE_ROOT$BUILD_LOG_DIR/build-$service-*.log" || true)
            if [[ -n $logs ]]; then
                pass "the build of $service wrote its log: ${logs//$MACHINE_ROOT/}"
            else
                fail "no build-$service-*.log in $BUILD_LOG_DIR: the build of $service did not run"
            fi
        fi
        if grep -q "build: $service: $result\$" "$journal"; then
            pass "journal: build: $service: $result"
        else
            lines=$(build_story "$service" "$journal")
            fail "journal has no \"build: $service: $result\"${lines:+; it says:}"
            [[ -z $lines ]] || printf '%s\n' "$lines" | indent
        fi
    done
    not_reached builds "${unreached[@]}"
}

check_pulls() { # LABEL STARTED: every external image was really pulled
    local image journal=$STEP_LOG/$1.journal
    local -a unreached=()
    for image in "${PULLS[@]}"; do
        if grep -q "Downloaded newer image for $image\$" "$journal"; then
            pass "pull really pulled $image"
        elif (($2)) || grep -q "pull: $image\$" "$journal"; then
            fail "the journal does not show $image being pulled"
            { grep -F "$image" "$journal" || true; } | tail -n 5 | indent
        else
            unreached+=("$image")
        fi
    done
    not_reached pulls "${unreached[@]}"
}

check_running() { # WHEN: every service of the compose file has a running container
    local -a services
    local states service missing=()
    mapfile -t services < <(compose config --services 2>/dev/null)
    states=$(compose ps --all --format '{{.Service}} {{.State}}' 2>&1) || true
    for service in "${services[@]}"; do
        grep -qx "$service running" <<<"$states" || missing+=("$service")
    done
    if ((${#services[@]} && ${#missing[@]} == 0)); then
        pass "compose ps $1: ${services[*]} running"
    else
        fail "compose ps $1: not running: ${missing[*]:-every service (compose config failed)}"
        [[ -z $states ]] || printf '%s\n' "$states" | indent
    fi
}

# The spec's HTTP checks from the host (localhost becomes 127.0.0.1), else every port the
# project publishes on 127.0.0.1.
check_urls() { # WHEN
    local -a urls=() want=()
    local i url code
    for i in "${!HTTP_URLS[@]}"; do
        urls+=("${HTTP_URLS[i]/\/\/localhost/\/\/127.0.0.1}")
        want+=("${HTTP_STATUS[i]:-200}")
    done
    if ((${#urls[@]} == 0)); then
        while read -r url; do
            urls+=("http://$url/")
            want+=(200)
        done < <("$DOCKER" ps --filter "label=com.docker.compose.project=$COMPOSE_PROJECT" --format '{{.Ports}}' |
            grep -oE '127\.0\.0\.1:[0-9]+' | sort -u)
    fi
    if ((${#urls[@]} == 0)); then
        skip "$1: the spec has no HTTP check and the project publishes no port"
        return
    fi
    for i in "${!urls[@]}"; do
        code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' -- "${urls[i]}") || true
        if [[ $code == "${want[i]}" ]]; then
            pass "$1: ${urls[i]} answers ${want[i]}"
        else
            fail "$1: ${urls[i]} answered ${code:-nothing}, expected ${want[i]}"
        fi
    done
}

check_nothing_left() { # WHEN
    local containers networks
    containers=$("$DOCKER" ps -a --filter "label=com.docker.compose.project=$COMPOSE_PROJECT" --format '{{.Names}} ({{.Status}})')
    networks=$("$DOCKER" network ls --filter "label=com.docker.compose.project=$COMPOSE_PROJECT" --format '{{.Name}}')
    if [[ -z $containers ]]; then
        pass "$1: no container of $COMPOSE_PROJECT left"
    else
        fail "$1: containers of $COMPOSE_PROJECT left: $(echo "$containers" | paste -sd, -)"
    fi
    if [[ -z $networks ]]; then
        pass "$1: no network of $COMPOSE_PROJECT left"
    else
        fail "$1: networks of $COMPOSE_PROJECT left: $(echo "$networks" | paste -sd, -)"
    fi
}

scenario_example() { # NAME
    local name=$1 started=0 status
    STEP_LOG=$LOG_DIR/$name
    mkdir -p "$STEP_LOG"
    if ! render_example "$name"; then
        fail "deployc render examples/$name.kdl"
        indent <"$STEP_LOG/render.log"
        return
    fi
    load_example "$name"
    log "$name: $UNIT runs $SCRIPT_PATH; root $PROJECT_ROOT; compose project $COMPOSE_PROJECT;" \
        "built: ${BUILT[*]:-none}; pulled: ${PULLS[*]:-none}"
    reset_example
    install_fixture
    install_unit
    if ct "$DOCKER" compose "${COMPOSE_ARGS[@]}" config --quiet >"$STEP_LOG/compose-config.log" 2>&1; then
        pass "the fixture's compose file is valid"
    else
        fail "the fixture's compose file is not valid"
        indent <"$STEP_LOG/compose-config.log"
    fi

    # The start must pull every external image, so none may be there before.
    local image
    for image in "${PULLS[@]}"; do
        "$DOCKER" image rm "$image" >/dev/null 2>&1 || true
        ! "$DOCKER" image inspect "$image" >/dev/null 2>&1 || fail "could not remove $image from the engine before the start"
    done

    status=0
    unit_start start || status=$?
    if ((status == 0)); then
        pass "systemctl start $UNIT"
        started=1
    else
        fail_start start "$status" "systemctl start $UNIT"
    fi
    check_builds start succeeded "$started"
    check_pulls start "$started"
    if ((started)); then
        check_running "after the start"
        check_urls "after the start"
        unit_control reload reload || true
    else
        skip "compose ps, published ports and reload: the unit did not start"
    fi

    unit_control stop stop || true
    check_nothing_left "after systemctl stop"

    # Nothing changed since the first start: no service needs building again.
    status=0
    unit_start second-start || status=$?
    if ((status == 0)); then
        pass "second systemctl start $UNIT"
        check_builds second-start skipped 1
    else
        fail_start second-start "$status" "second systemctl start $UNIT"
    fi

    # A reboot of the machine stops the enabled unit in order and starts it again at boot.
    expect "systemctl enable $UNIT" ct systemctl enable "$UNIT"
    local cursor
    cursor=$(journal_cursor)
    machine_reboot
    unit_journal "$cursor" >"$STEP_LOG/reboot.journal" || true
    if [[ $(ct systemctl is-active "$UNIT" 2>/dev/null) == active ]]; then
        pass "after a reboot $UNIT is active"
        check_running "after the reboot"
        check_urls "after the reboot"
    else
        fail "after a reboot $UNIT is $(ct systemctl show --property=ActiveState,SubState --value "$UNIT" | paste -sd' ' -), not active"
        why "$STEP_LOG/reboot.journal"
        echo "    (the unit's whole journal across the reboot: $STEP_LOG/reboot.journal)"
    fi

    if ((KEEP_RUNNING)); then
        stop_example
    else
        reset_example
    fi
}
