# shellcheck shell=bash
# The machine: a debootstrapped Debian 12 (cached), booted with systemd as PID 1 under
# systemd-nspawn, sharing the host's network and the host engine's socket.

DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=${DEPLOYC_HOSTS_MIRROR:-http://deb.debian.org/debian}
# docker.io for its client only: its daemon stays masked, the host's engine does the work.
ROOTFS_PACKAGES=(systemd systemd-sysv dbus docker.io curl ca-certificates iproute2 procps)
ROOTFS_CACHE=$CACHE_DIR/rootfs
ROOTFS_STAMP=$CACHE_DIR/rootfs.stamp

MACHINE_DIR=$WORK_DIR/machine
# The machine's / as the host sees it: the cached rootfs under a writable overlay, so every run
# starts from the same files and the cache is never written to.
MACHINE_ROOT=$MACHINE_DIR/root

rootfs_ensure() {
    local stamp="$DEBIAN_SUITE minbase ${ROOTFS_PACKAGES[*]} $DEBIAN_MIRROR"
    if [[ -d $ROOTFS_CACHE && -f $ROOTFS_STAMP && $(<"$ROOTFS_STAMP") == "$stamp" ]]; then
        log "rootfs: cached in $ROOTFS_CACHE (debootstrap skipped)"
        return
    fi
    log "rootfs: debootstrap $DEBIAN_SUITE (minbase + ${ROOTFS_PACKAGES[*]}) from $DEBIAN_MIRROR"
    local new=$ROOTFS_CACHE.new
    rm -rf "$new" "$ROOTFS_STAMP"
    mkdir -p "$CACHE_DIR"
    local include
    include=$(
        IFS=,
        echo "${ROOTFS_PACKAGES[*]}"
    )
    debootstrap --variant=minbase --include="$include" "$DEBIAN_SUITE" "$new" "$DEBIAN_MIRROR" \
        >"$LOG_DIR/debootstrap.log" 2>&1 || {
        tail -n 20 "$LOG_DIR/debootstrap.log" >&2
        die "debootstrap failed; see $LOG_DIR/debootstrap.log"
    }
    rm -rf "$ROOTFS_CACHE"
    mv "$new" "$ROOTFS_CACHE"
    echo "$stamp" >"$ROOTFS_STAMP"
    log "rootfs: $(du -sh "$ROOTFS_CACHE" | cut -f1) in $ROOTFS_CACHE"
}

machine_prepare() {
    mkdir -p "$MACHINE_DIR/upper" "$MACHINE_DIR/work" "$MACHINE_ROOT"
    mount -t overlay overlay -o "lowerdir=$ROOTFS_CACHE,upperdir=$MACHINE_DIR/upper,workdir=$MACHINE_DIR/work" "$MACHINE_ROOT"
    echo "$MACHINE" >"$MACHINE_ROOT/etc/hostname"
    [[ -s $MACHINE_ROOT/etc/hosts ]] || printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$MACHINE_ROOT/etc/hosts"
    # A fixed machine ID, or every boot is a "first boot" that applies presets again.
    tr -d - </proc/sys/kernel/random/uuid >"$MACHINE_ROOT/etc/machine-id"
    mkdir -p "$MACHINE_ROOT/var/log/journal" # keep the journal across the scenarios' reboots
    # docker.service stands for the host's engine, whose socket is bound in: the units'
    # Requires=/After=docker.service hold, and stopping it stops nothing on the host.
    cat >"$MACHINE_ROOT/etc/systemd/system/docker.service" <<'UNIT'
[Unit]
Description=Docker Application Container Engine (stand-in: the host's engine, socket bound in)

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/bin/docker info --format 'engine {{.ServerVersion}} ({{.Driver}}) answers'

[Install]
WantedBy=multi-user.target
UNIT
    ln -sf /dev/null "$MACHINE_ROOT/etc/systemd/system/docker.socket"
    ln -sf /dev/null "$MACHINE_ROOT/etc/systemd/system/containerd.service"
    mkdir -p "$MACHINE_ROOT/etc/systemd/system/multi-user.target.wants"
    ln -sf /etc/systemd/system/docker.service "$MACHINE_ROOT/etc/systemd/system/multi-user.target.wants/docker.service"
    install -D -m 755 "$COMPOSE_PLUGIN" "$MACHINE_ROOT$COMPOSE_PLUGIN"
}

# The container's PID 1: the child of systemd-nspawn named systemd.
find_leader() { # NSPAWN_PID
    local stat pid
    for stat in /proc/[0-9]*/stat; do
        pid=${stat#/proc/}
        pid=${pid%/stat}
        [[ $(cat "$stat" 2>/dev/null) =~ ^$pid\ \(systemd\)\ [A-Za-z]\ $1\  ]] && {
            echo "$pid"
            return
        }
    done
    return 1
}

leader() {
    alive "$PID_DIR/leader" || die "the machine is not running"
    cat "$PID_DIR/leader"
}

# ct CMD...: runs CMD inside the machine, in every namespace of its PID 1, with a clean environment.
ct() {
    local pid
    pid=$(leader)
    nsenter -t "$pid" -a env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" "$@"
}

system_state() { # prints running/degraded once the boot is over
    local state
    state=$(ct timeout 5 systemctl is-system-running 2>/dev/null) || true
    [[ $state == running || $state == degraded ]] && echo "$state"
}

machine_boot() {
    alive "$PID_DIR/nspawn" && die "the machine is already running (nspawn PID $(<"$PID_DIR/nspawn"))"
    local start boot_log
    start=$(now_us)
    boot_log=$LOG_DIR/nspawn-$(date -u +%H%M%S).log
    # --register=no --keep-unit: the host's PID 1 is not systemd (no machined, no bus).
    # SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 and bpf(): IPAddressDeny= is enforced only with both.
    # CAP_NET_ADMIN: PrivateNetwork= units can bring up their loopback device.
    start_daemon nspawn "$boot_log" env SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 \
        systemd-nspawn --quiet -D "$MACHINE_ROOT" --boot --machine="$MACHINE" --register=no --keep-unit \
        --console=pipe --capability=CAP_NET_ADMIN --system-call-filter=bpf --bind=/run/docker.sock
    local nspawn leader_pid=''
    nspawn=$(<"$PID_DIR/nspawn")
    wait_until 30 find_leader "$nspawn" || {
        tail -n 20 "$boot_log" >&2
        die "systemd-nspawn did not start systemd; see $boot_log"
    }
    leader_pid=$(find_leader "$nspawn")
    echo "$leader_pid" >"$PID_DIR/leader"
    local state=''
    # Boot ends when every start job is done, units enabled in a scenario included.
    wait_until 600 system_state || {
        tail -n 20 "$boot_log" >&2
        die "the machine did not finish booting; see $boot_log"
    }
    state=$(system_state)
    log "machine: booted to \"$state\" in $(seconds_since "$start") s ($(ct systemctl --version | head -n 1), PID 1 is host PID $leader_pid)"
    [[ $state == running ]] || ct systemctl --no-pager --failed --plain --no-legend | indent
}

machine_poweroff() {
    alive "$PID_DIR/nspawn" || return 0
    local nspawn start
    nspawn=$(<"$PID_DIR/nspawn")
    start=$(now_us)
    # systemd stops every unit in order; the longest ExecStop of the examples is bounded by TimeoutStopSec.
    ct systemctl poweroff --no-block >/dev/null 2>&1 || kill -TERM "$nspawn" 2>/dev/null || true
    if ! wait_until 300 gone "$nspawn"; then
        warn "the machine did not power off in 300 s; killing systemd-nspawn (PID $nspawn)"
        kill -KILL "$nspawn" 2>/dev/null || true
        wait_until 10 gone "$nspawn" || true
    fi
    rm -f "$PID_DIR/nspawn" "$PID_DIR/leader"
    # nspawn leaves its mount propagation folder behind.
    rm -rf "/run/systemd/nspawn/propagate/$MACHINE"
    log "machine: powered off in $(seconds_since "$start") s"
}

machine_up() {
    machine_prepare
    machine_boot
}

machine_reboot() {
    machine_poweroff
    machine_boot
}

machine_down() {
    machine_poweroff
    if mountpoint -q "$MACHINE_ROOT"; then
        umount "$MACHINE_ROOT" || umount --lazy "$MACHINE_ROOT"
    fi
}
