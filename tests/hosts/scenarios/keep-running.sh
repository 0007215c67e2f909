# shellcheck shell=bash
# What keeps a stack running, for real: the monitor's timer brings a stopped container back, a
# deploy builds while the old containers keep answering, a deploy that fails its health checks
# rolls back to the version that answered before, and each of these reaches a webhook.

WEBHOOK_PORT=18199

# The aws CLI the units call, in the machine: SSM hands out the webhook stub's URL.
install_aws_stub() {
    cat >"$MACHINE_ROOT/usr/local/bin/aws" <<STUB
#!/bin/sh
# Stand-in for the AWS CLI (host suite): SSM parameters only.
case "\$*" in
    "ssm get-parameter --name /keep/webhook "*) echo "http://127.0.0.1:$WEBHOOK_PORT/hook" ;;
    *) echo "aws stand-in: not stubbed: \$*" >&2; exit 2 ;;
esac
STUB
    chmod 755 "$MACHINE_ROOT/usr/local/bin/aws"
}

hooks() { cat "$WORK_DIR/webhook.jsonl" 2>/dev/null; }

# waits until the webhook stub received a body holding TEXT
hook_received() { grep -qF -- "$1" "$WORK_DIR/webhook.jsonl" 2>/dev/null; }

hooks_so_far() { wc -l <"$WORK_DIR/webhook.jsonl"; }

# a body holding TEXT among those received after the first COUNT
hook_received_after() { tail -n "+$(($1 + 1))" "$WORK_DIR/webhook.jsonl" | grep -qF -- "$2"; }

version_answered() { curl -fsS -m 2 "http://127.0.0.1:18120/version" 2>/dev/null; }

scenario_keep_running() { # NAME
    prepare "$1" || return 0
    local www
    www=$(machine_path www)
    install_aws_stub
    : >"$WORK_DIR/webhook.jsonl"
    start_daemon webhook "$LOG_DIR/webhook.log" python3 "$HOSTS_DIR/lib/webhook.py" 127.0.0.1 "$WEBHOOK_PORT" "$WORK_DIR/webhook.jsonl"
    wait_until 10 curl -s -o /dev/null "http://127.0.0.1:$WEBHOOK_PORT/" || fail "the webhook stub does not answer"

    start_succeeds start
    expect "v1 answers" test "$(version_answered)" = v1

    monitor_brings_back
    deploy_keeps_serving
    failed_deploy_rolls_back
    monitor_restarts_unit
    monitor_restarts_unit
    recovery_stops_at_its_limit

    ct systemctl stop keep-monitor.timer >/dev/null 2>&1 || true
    stop_daemon webhook 5
    rm -f "$MACHINE_ROOT/usr/local/bin/aws"
    if ((KEEP_RUNNING)); then
        stop_example
    else
        reset_example
    fi
}

# A container stopped by hand (its restart policy does not bring it back) is up again within
# one interval of the monitor and its health checks, and the recovery is announced.
monitor_brings_back() {
    local start took cursor
    expect "systemctl start keep-monitor.timer" ct systemctl start keep-monitor.timer
    cursor=$(journal_cursor)
    "$DOCKER" stop keep-web-1 >/dev/null
    start=$(now_us)
    if wait_until 40 version_answered; then
        took=$(seconds_since "$start")
        pass "the monitor brought the stopped web container back in ${took} s (interval 10 s)"
    else
        fail "web still does not answer 40 s after it was stopped"
    fi
    ct journalctl --no-pager --quiet --unit=keep-monitor.service --after-cursor="$cursor" \
        --output=short-precise >"$STEP_LOG/monitor.journal" || true
    if grep -q 'monitor: service web: keep-web-1 is exited; bringing the stack up again' "$STEP_LOG/monitor.journal"; then
        pass "the monitor's journal says what it found and did"
    else
        fail "the monitor's journal"
        why "$STEP_LOG/monitor.journal"
    fi
    if wait_until 20 hook_received '"text":"keep recovered on '; then
        pass "the recovery reached the webhook"
    else
        fail "no recovery notification at the webhook stub"
        hooks | indent
    fi
}

healthz_answers() { curl -fsS -m 2 -o /dev/null "http://127.0.0.1:18120/healthz" 2>/dev/null; }
healthz_fails() { ! healthz_answers; }
keep_active() { [[ $(ct systemctl show --property=ActiveState --value keep.service) == active ]]; }
restarted_since() { [[ $(ct systemctl show --property=InvocationID --value keep.service) != "$1" ]]; }

# A container that runs but fails its health check, which `compose up` cannot mend: the
# monitor fails, its OnFailure= starts the recovery unit, which restarts the deployment (a
# new container from the image), and the monitor's failure is announced.
monitor_restarts_unit() {
    local before cursor took start received
    before=$(ct systemctl show --property=InvocationID --value keep.service)
    received=$(hooks_so_far)
    cursor=$(journal_cursor)
    "$DOCKER" exec keep-web-1 rm /var/www/healthz
    start=$(now_us)
    if wait_until 20 healthz_fails; then
        pass "the running web container's health check fails"
    else
        fail "the health check still passes after its file was removed"
    fi
    if wait_until 150 restarted_since "$before" &&
        wait_until 90 healthz_answers; then
        took=$(seconds_since "$start")
        pass "the recovery unit restarted keep.service and the stack is healthy again, ${took} s after the fault"
    else
        fail "keep.service was not restarted, or is still unhealthy, 240 s after the fault"
    fi
    ct journalctl --no-pager --quiet --unit=keep-monitor.service --unit=keep-recover.service \
        --after-cursor="$cursor" --output=short-precise >"$STEP_LOG/recover.journal" || true
    if grep -q 'still unhealthy after bringing the stack up again' "$STEP_LOG/recover.journal" &&
        grep -q 'keep-recover.service' "$STEP_LOG/recover.journal"; then
        pass "the monitor's journal says it could not mend it, and the recovery unit ran"
    else
        fail "the monitor's and the recovery unit's journal"
        why "$STEP_LOG/recover.journal"
    fi
    if wait_until 60 keep_active; then
        pass "keep.service is active after the recovery"
    else
        fail "keep.service is $(ct systemctl show --property=ActiveState --value keep.service) 60 s after it was healthy again"
    fi
    if wait_until 30 hook_received_after "$received" 'keep: keep-monitor.service failed on '; then
        pass "the monitor's failure reached the webhook"
    else
        fail "no failure notification for keep-monitor.service at the webhook stub"
        hooks | indent
    fi
}

recover_refused() { [[ $(ct systemctl show --property=Result --value keep-recover.service) == start-limit-hit ]]; }

# The spec allows restarts=2 within="10m", and monitor_restarts_unit ran twice: a third
# fault is not mended by restarting the deployment again, a loop that would help nobody;
# the refusal is announced, and the deployment is left as it is for a person.
recovery_stops_at_its_limit() {
    local before cursor body received
    before=$(ct systemctl show --property=InvocationID --value keep.service)
    cursor=$(journal_cursor)
    received=$(hooks_so_far)
    "$DOCKER" exec keep-web-1 rm /var/www/healthz
    if wait_until 150 recover_refused; then
        pass "a third recovery within 10 minutes is refused (keep-recover.service: start-limit-hit)"
    else
        fail "keep-recover.service is $(ct systemctl show --property=Result --value keep-recover.service), not start-limit-hit, 150 s after a third fault"
    fi
    if [[ $(ct systemctl show --property=InvocationID --value keep.service) == "$before" ]]; then
        pass "keep.service was not restarted a third time"
    else
        fail "keep.service was restarted past restarts=2"
    fi
    ct journalctl --no-pager --quiet --unit=keep-monitor.service --unit=keep-recover.service \
        --after-cursor="$cursor" --output=short-precise >"$STEP_LOG/limit.journal" || true
    if wait_until 30 hook_received_after "$received" 'keep: keep-recover.service failed on '; then
        body=$(tail -n "+$((received + 1))" "$WORK_DIR/webhook.jsonl" | grep -F 'keep: keep-recover.service failed on ' | tail -n 1)
        if [[ $body == *'result: start-limit-hit\n'* ]]; then
            pass "the refusal reached the webhook as keep-recover.service's start-limit-hit"
        else
            fail "the refusal's notification does not say start-limit-hit"
            indent <<<"$body"
        fi
    else
        fail "no notification of the refused recovery at the webhook stub"
        why "$STEP_LOG/limit.journal"
        hooks | indent
    fi
    ct systemctl stop keep-monitor.timer >/dev/null 2>&1 || true
    ct systemctl reset-failed keep-recover.service keep-monitor.service >/dev/null 2>&1 || true
}

# A deploy of v2 with a 20 s build: v1 answers all through the build; v2 answers after it.
deploy_keeps_serving() {
    echo v2 >"$www/version"
    touch "$www/slow"
    local cursor answers=() answer status=0 start
    cursor=$(journal_cursor)
    ct systemctl start --no-block keep-deploy.service
    start=$(now_us)
    while [[ $(ct systemctl show --property=ActiveState --value keep-deploy.service) == activating ]] ||
        (($(now_us) - start < 2000000)); do
        answer=$(version_answered) || answer=none
        answers+=("$answer")
        sleep 0.5
        (($(now_us) - start < 300000000)) || break
    done
    [[ $(ct systemctl show --property=Result --value keep-deploy.service) == success ]] || status=1
    ct journalctl --no-pager --quiet --unit=keep-deploy.service --after-cursor="$cursor" \
        --output=short-precise >"$STEP_LOG/deploy.journal" || true
    printf '%s\n' "${answers[@]}" >"$STEP_LOG/deploy.answers"
    local v1 none v2
    v1=$(grep -cx v1 "$STEP_LOG/deploy.answers" || true)
    none=$(grep -cx none "$STEP_LOG/deploy.answers" || true)
    v2=$(grep -cx v2 "$STEP_LOG/deploy.answers" || true)
    if ((status == 0)) && [[ $(version_answered) == v2 ]]; then
        pass "the deploy of v2 succeeded and v2 answers"
    else
        fail "the deploy of v2 (result $(ct systemctl show --property=Result --value keep-deploy.service))"
        why "$STEP_LOG/deploy.journal"
    fi
    # Polls every 0.5 s: the 20 s build alone is 40 of them, all v1; the swap is `up` and health.
    if ((v1 >= 30 && none <= 8)) && [[ $(head -n 1 "$STEP_LOG/deploy.answers") == v1 ]]; then
        pass "v1 answered through the build (${v1} polls), then v2 (${v2}); no answer for ${none} polls of 0.5 s"
    else
        fail "during the deploy: v1 ${v1}, none ${none}, v2 ${v2} polls (see $STEP_LOG/deploy.answers)"
    fi
    rm -f "$www/slow"
}

# v3 fails its health checks: the deploy rolls back to v2, fails so it is seen, and says so.
failed_deploy_rolls_back() {
    echo v3 >"$www/version"
    mv "$www/healthz" "$STEP_LOG/healthz.away"
    local cursor status=0
    cursor=$(journal_cursor)
    ct systemctl start keep-deploy.service >/dev/null 2>&1 || status=$?
    ct journalctl --no-pager --quiet --unit=keep-deploy.service --after-cursor="$cursor" \
        --output=short-precise >"$STEP_LOG/rollback.journal" || true
    if ((status != 0)) && grep -q 'rolling back (health on-failure "rollback")' "$STEP_LOG/rollback.journal" &&
        grep -q 'the deploy failed its health checks' "$STEP_LOG/rollback.journal"; then
        pass "the deploy of v3 failed its health checks, rolled back, and failed (systemctl exit $status)"
    else
        fail "the deploy of v3 (systemctl exit $status)"
        why "$STEP_LOG/rollback.journal"
    fi
    # The monitor ran meanwhile (every 10 s) and left the deploy alone.
    if ct journalctl --no-pager --quiet --unit=keep-monitor.service --after-cursor="$cursor" --output=cat |
        grep -q 'monitor: keep-deploy.service is running; not checked this time'; then
        pass "the monitor left the deploy alone while it ran"
    else
        fail "the monitor did not say it left the running deploy alone"
    fi
    if [[ $(version_answered) == v2 ]]; then
        pass "v2 answers again after the rollback"
    else
        fail "after the rollback the answer is $(version_answered || echo nothing), not v2"
    fi
    if wait_until 20 hook_received '"text":"keep rolled back on '; then
        pass "the rollback reached the webhook"
    else
        fail "no rollback notification at the webhook stub"
        hooks | indent
    fi
    # OnFailure= of the deploy unit: which unit, how, the stage and its last lines.
    if wait_until 30 hook_received 'keep: keep-deploy.service failed on '; then
        local body
        body=$(grep -F 'keep: keep-deploy.service failed on ' "$WORK_DIR/webhook.jsonl" | tail -n 1)
        if [[ $body == *'unit:   keep-deploy.service'* && $body == *'result: exit-code\nstage:'* &&
            $body == *'stage:  health: the deploy failed its health checks'* && $body == *'last lines:'* ]]; then
            pass "the deploy's failure reached the webhook with its unit, result, stage and last lines"
        else
            fail "the failure notification lacks unit, result, stage or last lines"
            indent <<<"$body"
        fi
    else
        fail "no failure notification for keep-deploy.service at the webhook stub"
        hooks | indent
    fi
    mv "$STEP_LOG/healthz.away" "$www/healthz"
}
