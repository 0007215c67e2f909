# shellcheck shell=bash
# The container engine: a registry on loopback, dockerd using it as its docker.io mirror, the
# base image every fixture builds on, and stand-ins for the external images the examples pull.

ENGINE_DIR=$WORK_DIR/engine
DOCKERD_SOCKET=/run/docker.sock

engine_answers() { timeout 5 "$DOCKER" info >/dev/null 2>&1; }
registry_answers() { curl -fsS -m 2 "http://$REGISTRY/v2/" >/dev/null 2>&1; }

# The daemons this suite starts run in their own session, so ^C reaches the runner only, and
# the runner's trap stops them in order (machine, then containers, then dockerd, registry).
start_daemon() { # NAME LOGFILE CMD...
    local name=$1 logfile=$2
    shift 2
    # Not holding the runner's lock (fd 9): a --keep run must not keep the next run out.
    setsid "$@" </dev/null >"$logfile" 2>&1 9>&- &
    echo $! >"$PID_DIR/$name"
}

stop_daemon() { # NAME [SECONDS]: SIGTERM the process in PID_DIR/NAME, SIGKILL after SECONDS
    local pidfile=$PID_DIR/$1 wait=${2:-30} pid
    if alive "$pidfile"; then
        pid=$(<"$pidfile")
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_until "$wait" gone "$pid"; then
            warn "$1 (PID $pid) did not stop after ${wait}s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            wait_until 10 gone "$pid" || warn "$1 (PID $pid) is still running"
        fi
    fi
    rm -f "$pidfile"
}

# Refuses to go on when a dockerd, registry or machine this suite did not start is running.
refuse_foreign_daemons() {
    if [[ -S $DOCKERD_SOCKET ]] && engine_answers; then
        die "a Docker engine this suite did not start answers on $DOCKERD_SOCKET; stop it first (the suite starts its own)"
    fi
    if [[ -s /run/docker.pid ]] && running "$(</run/docker.pid)"; then
        die "dockerd (PID $(</run/docker.pid)) is running but does not answer; stop it first"
    fi
    registry_answers && die "something already answers on $REGISTRY; stop it first (this suite needs that port)"
    local cmdline
    for cmdline in /proc/[0-9]*/cmdline; do
        if [[ $(tr '\0' ' ' 2>/dev/null <"$cmdline") == *systemd-nspawn*" $MACHINE_ROOT "* ]]; then
            die "a systemd-nspawn this suite did not start runs $MACHINE_ROOT (${cmdline%/cmdline}); stop it first"
        fi
    done
    return 0
}

start_registry() {
    mkdir -p "$ENGINE_DIR/registry"
    cat >"$ENGINE_DIR/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $ENGINE_DIR/registry
http:
  addr: $REGISTRY
YAML
    start_daemon registry "$LOG_DIR/registry.log" docker-registry serve "$ENGINE_DIR/registry.yml"
    wait_until 10 registry_answers || die "the registry did not answer on $REGISTRY; see $LOG_DIR/registry.log"
}

start_dockerd() {
    # Its own data root and config file; defaults otherwise (overlay2, bridge network, iptables).
    mkdir -p "$ENGINE_DIR/data"
    cat >"$ENGINE_DIR/daemon.json" <<JSON
{
  "data-root": "$ENGINE_DIR/data",
  "registry-mirrors": ["http://$REGISTRY"]
}
JSON
    start_daemon dockerd "$LOG_DIR/dockerd.log" dockerd --config-file "$ENGINE_DIR/daemon.json"
    wait_until 60 engine_answers || die "dockerd did not answer; see $LOG_DIR/dockerd.log"
    log "engine: $("$DOCKER" info --format 'Docker {{.ServerVersion}}, {{.Driver}}, cgroup v{{.CgroupVersion}}, mirrors {{.RegistryConfig.Mirrors}}')"
}

# The images the example specs pull: every `image "NAME:TAG"` line.
external_images() {
    sed -n 's/^[[:space:]]*service[[:space:]].*[{;][[:space:]]*image[[:space:]]*"\([^"]*\)".*/\1/p; s/^[[:space:]]*image[[:space:]]*"\([^"]*\)".*/\1/p' \
        "$EXAMPLES_DIR"/*.kdl | sort -u
}

# docker.io/library/postgres:16.4 and postgres:16.4 are both docker.io's library/postgres:16.4.
mirror_path() { # IMAGE: its repository path in the mirror, or fail for another registry
    local name=${1#docker.io/}
    local first=${name%%/*}
    if [[ $name == */* && ($first == *.* || $first == *:* || $first == localhost) ]]; then
        return 1
    fi
    [[ $name == */* ]] || name=library/$name
    [[ ${name##*/} == *:* ]] || name=$name:latest
    echo "$name"
}

build_base_image() {
    local dir=$ENGINE_DIR/images/busybox
    rm -rf "$dir" && mkdir -p "$dir/files/etc" "$dir/files/var/www"
    cp /bin/busybox "$dir/busybox"
    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$dir/files/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$dir/files/etc/group"
    echo ok >"$dir/files/var/www/health"
    echo 'local/busybox' >"$dir/files/var/www/index.html"
    cat >"$dir/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY files/ /
RUN mkdir -p -m 1777 /tmp && mkdir -p /root /usr/bin /sbin /usr/sbin
ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin
CMD ["sh"]
DOCKERFILE
    "$DOCKER" build --quiet --tag local/busybox:latest "$dir" >/dev/null
}

# Each stand-in serves HTTP on port 80 (its index names the image it stands for) and exits on SIGTERM.
push_standins() {
    local image path dir=$ENGINE_DIR/images/standin
    local -a images
    mapfile -t images < <(external_images)
    ((${#images[@]})) || die "no image \"...\" lines in $EXAMPLES_DIR/*.kdl"
    for image in "${images[@]}"; do
        path=$(mirror_path "$image") || die "$image is not on docker.io; the registry mirror cannot stand in for it"
        rm -rf "$dir" && mkdir -p "$dir"
        cat >"$dir/Dockerfile" <<DOCKERFILE
FROM local/busybox:latest
LABEL org.deployc.hosts.stands-for="$image"
RUN echo "stand-in for $image" > /var/www/index.html
EXPOSE 80
CMD ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 80 -h /var/www & wait"]
DOCKERFILE
        "$DOCKER" build --quiet --tag "$REGISTRY/$path" "$dir" >/dev/null
        "$DOCKER" push --quiet "$REGISTRY/$path" >/dev/null
        "$DOCKER" rmi "$REGISTRY/$path" >/dev/null
        log "engine: $REGISTRY/$path stands in for $image"
    done
}

engine_up() {
    refuse_foreign_daemons
    mkdir -p "$ENGINE_DIR"
    start_registry
    start_dockerd
    build_base_image
    push_standins
}

# Removes every container and network of the engine (its data root belongs to this suite), then stops it.
engine_down() {
    if alive "$PID_DIR/dockerd" && engine_answers; then
        local -a ids=()
        mapfile -t ids < <("$DOCKER" ps -aq)
        ((${#ids[@]} == 0)) || "$DOCKER" rm -f "${ids[@]}" >/dev/null 2>&1 || warn "could not remove containers: ${ids[*]}"
        "$DOCKER" network prune -f >/dev/null 2>&1 || true
    fi
    stop_daemon dockerd 60
    stop_daemon registry 10
}
