# shellcheck shell=bash
# kubernaut-e2e builds with podman. Debian 12's podman 4.3 builds for real, but has no
# `podman compose` (4.7 added it): the preflight must refuse that, and say why.

scenario_kubernaut_e2e() { # NAME
    local name=$1 status output
    STEP_LOG=$LOG_DIR/$name
    mkdir -p "$STEP_LOG"
    render_example "$name" || {
        fail "deployc render examples/$name.kdl"
        indent <"$STEP_LOG/render.log"
        return
    }
    load_example "$name"
    expect "a podman unit runs as group root (a podman-only host has no docker group)" grep -qx 'Group=root' "$UNIT_FILE"
    expect "the builds' memory estimates are podman's limits" grep -q -- '--memory=2147483648' "$SCRIPT_FILE"
    reset_example
    install_fixture
    install_unit

    # Under systemd: the machine has no podman at all; the preflight says so and stops.
    status=0
    unit_start start || status=$?
    if ((status != 0)) && grep -q 'status=3/' "$STEP_LOG/start.journal" &&
        grep -q 'error: podman is not installed' "$STEP_LOG/start.journal"; then
        pass "without podman the start stops at the preflight (exit 3, podman is not installed)"
    else
        fail "the start without podman (systemctl exit $status)"
        why "$STEP_LOG/start.journal"
    fi

    # On the host, with Debian's podman: the rendered script's preflight refuses it. The
    # script's paths are the host's, so the project is put where it expects it for a moment.
    local host_state=/var/lib/deployc/$COMPOSE_PROJECT host_logs=$BUILD_LOG_DIR
    if [[ -e $PROJECT_ROOT || -e $host_state || -e $host_logs ]]; then
        fail "$PROJECT_ROOT, $host_state or $host_logs exists on this host; the podman checks would overwrite it"
        return 0
    fi
    mkdir -p "$PROJECT_ROOT"
    cp -a "$FIXTURES_DIR/$EXAMPLE/root/." "$PROJECT_ROOT/"
    status=0
    output=$(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root bash "$SCRIPT_FILE" preflight 2>&1) || status=$?
    printf '%s\n' "$output" >"$STEP_LOG/host-preflight.log"
    local version
    version=$(podman version --format '{{.Client.Version}}')
    if ((status == 3)) && grep -q "error: podman $version is older than 4.7 and has no compose; podman compose needs podman 4.7 or newer" <<<"$output"; then
        pass "podman $version is refused at the preflight (exit 3): podman compose needs 4.7"
    else
        fail "podman $version at the preflight (exit $status)"
        indent <<<"$output"
    fi

    # ... and builds for real, with the spec's limits on its command line and the whole output
    # in the log. This machine's cgroups are hybrid, where crun cannot apply limits to a build
    # step ("cgroups in hybrid mode not supported"); chroot isolation runs the steps without
    # them. A cgroup v2 host (Amazon Linux 2023, Ubuntu 22.04 and later) enforces them.
    podman image exists local/busybox:latest || "$DOCKER" save local/busybox:latest | podman load -q >/dev/null
    status=0
    output=$(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEPLOYC_TAG=e2e BUILDAH_ISOLATION=chroot \
        bash "$SCRIPT_FILE" build aianalysis datastorage 2>&1) || status=$?
    printf '%s\n' "$output" >"$STEP_LOG/host-build.log"
    if ((status == 0)) && grep -q 'build: aianalysis: succeeded' <<<"$output" &&
        grep -q 'build: datastorage: succeeded' <<<"$output" &&
        podman image exists "$COMPOSE_PROJECT-aianalysis:e2e"; then
        pass "podman builds aianalysis and datastorage for real, with --memory and the spec's GOFLAGS"
    else
        fail "podman builds (exit $status)"
        tail -n 20 <<<"$output" | indent
    fi
    expect "the build log holds podman's whole output" grep -q 'COMMIT' "$host_logs/build-aianalysis-e2e.log"

    podman rmi -f "$COMPOSE_PROJECT-aianalysis:e2e" "$COMPOSE_PROJECT-aianalysis:latest" \
        "$COMPOSE_PROJECT-datastorage:e2e" "$COMPOSE_PROJECT-datastorage:latest" >/dev/null 2>&1 || true
    rm -rf -- "${host_state:?}" "${host_logs:?}" "${PROJECT_ROOT:?}"
    if ((KEEP_RUNNING)); then
        stop_example
    else
        reset_example
    fi
}
