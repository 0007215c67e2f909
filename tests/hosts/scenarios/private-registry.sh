# shellcheck shell=bash
# Registry authentication, for real: a registry on loopback that answers only with a
# password, which the preflight reads from SSM and hands to `docker login` on a pipe. The
# credentials land in the unit's own DOCKER_CONFIG, and the password in no journal line.

PRIVATE_REGISTRY=127.0.0.1:5001
PRIVATE_IMAGE=$PRIVATE_REGISTRY/acme/app:1.0
PRIVATE_USER=deploy
PRIVATE_PASSWORD=hosts-suite-registry-pass-7Qx

private_registry_answers() { curl -s -o /dev/null -m 2 "http://$PRIVATE_REGISTRY/v2/"; }

start_private_registry() {
    local dir=$ENGINE_DIR/private-registry hash
    mkdir -p "$dir/data"
    hash=$(/usr/bin/python3 -c 'import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))' \
        "$PRIVATE_PASSWORD" 2>/dev/null)
    printf '%s:%s\n' "$PRIVATE_USER" "${hash/#\$2b\$/\$2y\$}" >"$dir/htpasswd"
    cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
auth:
  htpasswd:
    realm: deployc-hosts
    path: $dir/htpasswd
http:
  addr: $PRIVATE_REGISTRY
YAML
    start_daemon private-registry "$LOG_DIR/private-registry.log" docker-registry serve "$dir/config.yml"
    wait_until 10 private_registry_answers || die "the private registry did not answer on $PRIVATE_REGISTRY"
}

# The aws CLI the unit calls, in the machine: SSM hands out the password given here.
install_password_stub() { # PASSWORD
    cat >"$MACHINE_ROOT/usr/local/bin/aws" <<STUB
#!/bin/sh
# Stand-in for the AWS CLI (host suite): SSM parameters only.
case "\$*" in
    "ssm get-parameter --name /private/registry-password "*) echo '$1' ;;
    *) echo "aws stand-in: not stubbed: \$*" >&2; exit 2 ;;
esac
STUB
    chmod 755 "$MACHINE_ROOT/usr/local/bin/aws"
}

scenario_private_registry() { # NAME
    prepare "$1" || return 0
    start_private_registry
    # The image is in the private registry only: pushed with a login the host then forgets.
    local host_config
    host_config=$(mktemp -d)
    "$DOCKER" tag local/busybox:latest "$PRIVATE_IMAGE"
    printf '%s' "$PRIVATE_PASSWORD" | DOCKER_CONFIG=$host_config "$DOCKER" login --username "$PRIVATE_USER" \
        --password-stdin "$PRIVATE_REGISTRY" >/dev/null 2>&1 || fail "the suite could not log in to push"
    DOCKER_CONFIG=$host_config "$DOCKER" push --quiet "$PRIVATE_IMAGE" >/dev/null || fail "the suite could not push $PRIVATE_IMAGE"
    rm -rf "$host_config"
    "$DOCKER" rmi "$PRIVATE_IMAGE" >/dev/null
    expect "the registry refuses a pull without a login" \
        bash -c "! DOCKER_CONFIG=\$(mktemp -d) '$DOCKER' pull --quiet '$PRIVATE_IMAGE' >/dev/null 2>&1"

    install_password_stub wrong-password
    start_fails wrong-password 4 "could not log in to $PRIVATE_REGISTRY as $PRIVATE_USER with SSM parameter /private/registry-password"

    install_password_stub "$PRIVATE_PASSWORD"
    start_succeeds start "preflight: logged in to $PRIVATE_REGISTRY"
    expect "the image was pulled from the private registry" "$DOCKER" image inspect "$PRIVATE_IMAGE"
    local config
    config=$(in_root "$STATE_DIR")/docker-config/config.json
    if [[ -f $config ]] && grep -qF "\"$PRIVATE_REGISTRY\"" "$config"; then
        pass "the credentials are in the unit's DOCKER_CONFIG ($STATE_DIR/docker-config)"
    else
        fail "no credentials for $PRIVATE_REGISTRY in $STATE_DIR/docker-config/config.json"
    fi
    expect "nothing was written to /root/.docker" test ! -e "$MACHINE_ROOT/root/.docker/config.json"
    if ct journalctl --no-pager --output=cat | grep -qF -- "$PRIVATE_PASSWORD"; then
        fail "the password is in the machine's journal"
    else
        pass "the password is in no journal line"
    fi

    rm -f "$MACHINE_ROOT/usr/local/bin/aws"
    stop_daemon private-registry 5
    "$DOCKER" rmi "$PRIVATE_IMAGE" >/dev/null 2>&1 || true
    if ((KEEP_RUNNING)); then
        stop_example
    else
        reset_example
    fi
}
