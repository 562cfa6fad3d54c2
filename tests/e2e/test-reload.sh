#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# SIGHUP reloads `pullgate serve` under load, end to end: a real
# docker-registry and containerd, pulls running in a loop through pullgate
# while the configuration file and the trust policy change. A broken policy
# is refused and logged and the running one keeps deciding; a good one is
# swapped in; a change of mode takes effect; restart-only settings are kept
# with a warning; the reload counters and the generation move.

# The check functions are called through pg_check, out of shellcheck's sight.
# shellcheck disable=SC2317
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/demo-lib.sh
. "$(dirname "$0")/demo-lib.sh"

pg_require containerd docker-registry curl "$PG_CRI" "$PG_PUSH" "$PG_TESTSIGN"
pg_pullgate_has_serve || pg_skip "$PG_PULLGATE has no working serve command"
pg_tmpdir
pg_start_registry
pg_start_containerd
R=$PG_REGISTRY

pg_make_ca "$PG_TMP/ca" || pg_die "cannot make signing keys"
pg_publish_small reload/signed:v1 signed "$PG_TMP/ca" >/dev/null || pg_die "publish signed"
pg_publish_small reload/unsigned:v1 unsigned >/dev/null || pg_die "publish unsigned"

NOTATION=$PG_TMP/notation
pg_trust_store "$NOTATION" e2e "$PG_TMP/ca/root/cert.pem" || pg_die "trust store"
GOOD_POLICY="$(pg_statement e2e "\"$R/reload/signed\", \"$R/reload/unsigned\"" '"ca:e2e"' '"*"')"
pg_trust_policy "$NOTATION" "$GOOD_POLICY" || pg_die "trust policy"
METRICS=$PG_TMP/metrics.sock
CONF=$PG_TMP/pullgate.conf
write_conf()
{
    printf 'notation_dir = %s\nplain_http = %s\nmetrics_listen = unix:%s\nmode = %s\n%s' \
        "$NOTATION" "$R" "$METRICS" "$1" "${2:-}" >"$CONF"
}
write_conf enforce
pg_start_pullgate --config "$CONF" --cache-negative-ttl-ms 0
LOG=$PG_TMP/pullgate.log

pull()
{
    "$PG_CRI" --socket "$PG_PROXY_SOCK" --timeout 60000 pull "$R/$1" >"$PG_TMP/pull.out" 2>&1
}

metric()
{
    curl -fsS --unix-socket "$METRICS" http://localhost/metrics | awk -v s="$1" '$1 == s {print $2}'
}

hup()
{
    local before
    before=$(grep -c 'serve: \(configuration, trust policy and stores reloaded\|reload refused\)' \
        "$LOG")
    kill -HUP "$PG_PULLGATE_PID"
    pg_wait_until 10 "the reload to be logged" bash -c "[ \$(grep -c \
'serve: \\(configuration, trust policy and stores reloaded\\|reload refused\\)' '$LOG') -gt $before ]"
}

# Pulls of the signed image in a loop, one line per answer, until stopped.
LOAD_OUT=$PG_TMP/load.out
(
    while [ ! -f "$PG_TMP/stop" ]; do
        if "$PG_CRI" --socket "$PG_PROXY_SOCK" --timeout 60000 pull "$R/reload/signed:v1" \
            >/dev/null 2>&1; then
            echo ok
        else
            echo fail
        fi
    done >"$LOAD_OUT"
) &
LOAD_PID=$!

pg_check "signed image pulls before any reload" pull reload/signed:v1
GEN0=$(metric pullgate_policy_generation)

# A broken policy: refused, logged, the running one keeps deciding.
printf '{"version": "1.0", "trustPolicies": [' >"$NOTATION/trustpolicy.json"
hup
check_refused_logged()
{
    grep -q 'serve: reload refused, keeping the running configuration and policy: .*trustpolicy' \
        "$LOG"
}
pg_check "a broken policy is refused and logged" check_refused_logged
pg_check "the running policy keeps allowing the signed image" pull reload/signed:v1
check_unsigned_refused()
{
    ! pull reload/unsigned:v1 && grep -q 'SignatureValidationFailed: no_signature' "$PG_TMP/pull.out"
}
pg_check "the running policy keeps refusing the unsigned image" check_unsigned_refused
check_gen_same() { [ "$(metric pullgate_policy_generation)" = "$GEN0" ]; }
pg_check "the generation did not change" check_gen_same

# A broken configuration file: refused as well.
printf 'cache_ttl_ms = soon\n' >>"$CONF"
hup
check_conf_refused() { grep -q 'reload refused.*cache_ttl_ms' "$LOG"; }
pg_check "a broken configuration file is refused and logged" check_conf_refused

# A good policy and a changed file: dry-run, and a restart-only setting.
pg_trust_policy "$NOTATION" "$GOOD_POLICY" || pg_die "trust policy"
write_conf dry-run "workers = 7
"
hup
check_reloaded() { grep -q 'serve: configuration, trust policy and stores reloaded' "$LOG"; }
pg_check "a good configuration and policy are reloaded" check_reloaded
check_warned() { grep -q 'changed settings need a restart and are kept as they were: workers' "$LOG"; }
pg_check "a restart-only setting is named in a warning" check_warned
check_gen_moved() { [ "$(metric pullgate_policy_generation)" -gt "$GEN0" ]; }
pg_check "the generation moved" check_gen_moved
pg_check "dry-run now forwards the unsigned image" pull reload/unsigned:v1
check_dry_logged() { grep -q 'decision=deny image="'"$R"'/reload/unsigned:v1".*mode=dry-run' "$LOG"; }
pg_check "the dry-run refusal is logged" check_dry_logged

# A few more reloads under load, then stop the load.
for i in 1 2 3; do
    printf '{' >"$NOTATION/trustpolicy.json"
    hup
    pg_trust_policy "$NOTATION" "$GOOD_POLICY" || pg_die "trust policy"
    hup
done
touch "$PG_TMP/stop"
wait "$LOAD_PID"
check_load()
{
    local ok fail
    ok=$(grep -c '^ok$' "$LOAD_OUT")
    fail=$(grep -c '^fail$' "$LOAD_OUT")
    pg_log "pulls during reloads: $ok allowed, $fail failed"
    [ "$ok" -gt 0 ] && [ "$fail" -eq 0 ]
}
pg_check "every pull during the reloads got its image" check_load
check_counts()
{
    [ "$(metric 'pullgate_policy_reload_total{result="success"}')" = 4 ] &&
        [ "$(metric 'pullgate_policy_reload_total{result="failure"}')" = 5 ]
}
pg_check "the reload counters read 4 successes and 5 failures" check_counts
pg_pid_alive "$PG_PULLGATE_PID" || pg_die "pullgate died"
pg_finish
