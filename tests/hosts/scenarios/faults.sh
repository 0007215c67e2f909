# shellcheck shell=bash
# Faults, each made for real and asserted by the exit status of the stage that stops and the
# journal line that says why: the engine gone, compose missing, a failing build, a build over
# its limit, an unhealthy service, the registry down while the images are here, containers
# that ignore SIGTERM in a depends_on chain, and a log folder the unit cannot write.

# Renders a spec of the suite (tests/hosts/specs/NAME.kdl) or an example and installs it
# with its fixture; fails the scenario when it cannot.
prepare() { # NAME
    STEP_LOG=$LOG_DIR/$1
    mkdir -p "$STEP_LOG"
    render_example "$1" || {
        fail "deployc render $(spec_of "$1")"
        indent <"$STEP_LOG/render.log"
        return 1
    }
    load_example "$1"
    reset_example
    install_fixture
    install_unit
}

journal_has() { # LABEL TEXT: the journal of that step holds TEXT
    grep -qF -- "$2" "$STEP_LOG/$1.journal"
}

# start_fails LABEL STATUS TEXT: the start stops with exit STATUS in a control process and TEXT in the journal.
start_fails() {
    local label=$1 status=0
    unit_start "$label" || status=$?
    if ((status != 0)) && journal_has "$label" "status=$2/" && journal_has "$label" "$3"; then
        pass "$label: the start stops with exit $2: $3"
    else
        fail "$label: expected the start to stop with exit $2 and \"$3\" (systemctl exit $status)"
        why "$STEP_LOG/$label.journal"
    fi
}

start_succeeds() { # LABEL [TEXT]: the start succeeds (with TEXT in the journal)
    local label=$1 status=0
    unit_start "$label" || status=$?
    if ((status == 0)) && { [[ -z ${2-} ]] || journal_has "$label" "$2"; }; then
        pass "$label: the start succeeds${2:+: $2}"
    else
        fail "$label: expected the start to succeed${2:+ with \"$2\"} (systemctl exit $status)"
        why "$STEP_LOG/$label.journal"
    fi
}

machine_path() { echo "$MACHINE_ROOT$PROJECT_ROOT/$1"; }

scenario_faults() { # NAME
    prepare "$1" || return 0
    local plugin=$MACHINE_ROOT$COMPOSE_PLUGIN dockerfile www
    dockerfile=$(machine_path Dockerfile)
    www=$(machine_path www)
    cp "$dockerfile" "$STEP_LOG/Dockerfile.good"

    start_succeeds start
    unit_control stop stop || true

    # Compose missing: the preflight says what to install, before anything is built.
    mv "$plugin" "$plugin.away"
    start_fails no-compose 3 "docker compose does not work here; install Docker Compose v2"
    mv "$plugin.away" "$plugin"

    # The engine gone: its socket answers nothing.
    ct mount --bind /dev/null /run/docker.sock
    start_fails engine-down 3 "docker does not answer; start it (systemctl start docker.service)"
    ct umount /run/docker.sock

    # A build that fails, and one over its limit: exit 2, and nothing left running.
    printf 'FROM local/busybox:latest\nRUN echo about to fail && exit 7\n' >"$dockerfile"
    start_fails failing-build 2 "build: web: FAILED (exit 7)"
    check_nothing_left "after the failed build"
    printf 'FROM local/busybox:latest\nRUN sleep 600\n' >"$dockerfile"
    start_fails slow-build 2 "build: web: TIMED OUT after 0m20s"
    check_nothing_left "after the build over its limit"
    cp "$STEP_LOG/Dockerfile.good" "$dockerfile"

    # An unhealthy service: /healthz is gone from the image; the failed start takes it down.
    mv "$www/healthz" "$STEP_LOG/healthz.away"
    start_fails unhealthy 5 "unhealthy after 0m20s: http://localhost:18110/healthz answered 404, expected 200"
    check_nothing_left "after the unhealthy start"
    mv "$STEP_LOG/healthz.away" "$www/healthz"

    # The registry down while every image is here: the stack starts from the local copies.
    start_succeeds before-registry-down
    unit_control stop stop-before-registry-down || true
    stop_daemon registry 10
    start_succeeds registry-down "could not pull postgres:16.4 after 3 attempts; using the copy already on this host"
    unit_control stop stop-registry-down || true
    start_registry

    stop_chain

    # A log folder the unit cannot write (root without CAP_DAC_OVERRIDE in the unit):
    # build logs go to the state folder, which outlives the unit.
    local logs=$MACHINE_ROOT$BUILD_LOG_DIR fallback=/var/lib/deployc/$COMPOSE_PROJECT/logs
    mkdir -p "$logs"
    chown 4242:4242 "$logs"
    chmod 755 "$logs"
    touch "$www/index.html" # a new fingerprint: the build runs, and logs
    echo "rebuilt" >>"$www/index.html"
    start_succeeds read-only-logs "cannot write to $BUILD_LOG_DIR; build logs go to $fallback"
    unit_control stop stop-read-only-logs || true
    if compgen -G "$MACHINE_ROOT$fallback/build-web-*.log" >/dev/null; then
        pass "after the stop the build log is still in $fallback"
    else
        fail "no build-web-*.log in $fallback after the stop"
    fi

    if ((KEEP_RUNNING)); then
        stop_example
    else
        reset_example
    fi
}

# Containers that ignore SIGTERM (busybox httpd as PID 1) in a depends_on chain: compose stops
# one level at a time, each with its own grace period; a chain longer than `stop` is killed.
stop_chain() {
    local compose_file start took
    compose_file=$(machine_path docker-compose.yml)
    cp "$compose_file" "$STEP_LOG/docker-compose.good"
    write_chain() { # GRACE
        cat >"$compose_file" <<YAML
services:
  db:
    image: postgres:16.4
    command: ["httpd", "-f", "-p", "80", "-h", "/var/www"]
    stop_grace_period: $1
  web:
    build: .
    command: ["httpd", "-f", "-p", "8080", "-h", "/var/www"]
    stop_grace_period: $1
    depends_on:
      - db
    ports:
      - "127.0.0.1:18110:8080"
YAML
    }
    write_chain 4s
    start_succeeds chain-short
    start=$(now_us)
    unit_control stop chain-short-stop || true
    took=$(seconds_since "$start")
    if journal_has chain-short-stop "stop: the containers of $COMPOSE_PROJECT are stopped and removed" &&
        ((${took%.*} >= 7)); then
        pass "a chain of two that ignore SIGTERM stops in ${took} s: each container got its own 4 s"
    else
        fail "the short chain's stop (took ${took} s)"
        why "$STEP_LOG/chain-short-stop.journal"
    fi
    check_nothing_left "after stopping the short chain"

    write_chain 25s
    start_succeeds chain-long
    start=$(now_us)
    unit_control stop chain-long-stop || true
    took=$(seconds_since "$start")
    if journal_has chain-long-stop "the containers did not stop within 0m30s (timeouts stop); killing what is left"; then
        pass "a chain that needs 50 s is killed after the 30 s stop, in ${took} s"
    else
        fail "the long chain's stop (took ${took} s)"
        why "$STEP_LOG/chain-long-stop.journal"
    fi
    check_nothing_left "after stopping the long chain"
    cp "$STEP_LOG/docker-compose.good" "$compose_file"
}
