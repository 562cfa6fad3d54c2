#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# pullgate's metrics end to end: a real docker-registry and containerd,
# `pullgate serve` with metrics on a loopback port, known traffic, then the
# exact counter values read back from GET /metrics; the same in dry-run mode
# (refusals counted as would_deny and forwarded, containerd's failure counted
# as an upstream error); other paths and methods refused; a non-loopback
# listener refused at start-up.

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
pg_publish_small m/signed:v1 signed "$PG_TMP/ca" >/dev/null || pg_die "publish signed"
pg_publish_small m/unsigned:v1 unsigned >/dev/null || pg_die "publish unsigned"
pg_publish_small other/app:v1 other >/dev/null || pg_die "publish other"
NOTATION=$PG_TMP/notation
pg_trust_store "$NOTATION" e2e "$PG_TMP/ca/root/cert.pem" || pg_die "trust store"
pg_trust_policy "$NOTATION" "$(pg_statement e2e "\"$R/m/signed\", \"$R/m/unsigned\"" \
    '"ca:e2e"' '"*"')" || pg_die "trust policy"

PORT=$(pg_free_port)
URL=http://127.0.0.1:$PORT/metrics

pull() { "$PG_CRI" --socket "$PG_PROXY_SOCK" --timeout 60000 pull "$R/$1" >/dev/null 2>&1; }
scrape() { curl -fsS "$URL" >"$PG_TMP/metrics.txt"; }
metric() { awk -v s="$1" '$1 == s {print $2}' "$PG_TMP/metrics.txt"; }
is() { [ "$(metric "$1")" = "$2" ] || { pg_log "$1 is '$(metric "$1")', want $2"; return 1; }; }

# ---- enforce ----
pg_start_pullgate --notation-dir "$NOTATION" --plain-http "$R" --metrics-listen "127.0.0.1:$PORT"
pull m/signed:v1 || pg_die "signed image refused"
pull m/signed:v1 || pg_die "signed image refused the second time"
pull m/unsigned:v1 && pg_die "unsigned image allowed"
pull other/app:v1 && pg_die "image outside the policy allowed"
pull m/signed:nosuchtag && pg_die "missing tag allowed"
scrape || pg_die "cannot read $URL"

check_enforce()
{
    is 'pullgate_pulls_total{outcome="allow",reason="ok"}' 2 &&
        is 'pullgate_pulls_total{outcome="deny",reason="no_signature"}' 1 &&
        is 'pullgate_pulls_total{outcome="deny",reason="no_applicable_policy"}' 1 &&
        is 'pullgate_pulls_total{outcome="deny",reason="not_found"}' 1 &&
        is 'pullgate_registry_errors_total{reason="not_found"}' 1 &&
        is pullgate_cache_hits_total 1 &&
        is pullgate_cache_misses_total 2 &&
        is pullgate_cache_entries 2 &&
        is pullgate_verification_duration_seconds_count 5 &&
        is 'pullgate_verification_duration_seconds_bucket{le="+Inf"}' 5 &&
        is pullgate_upstream_errors_total 0 &&
        is 'pullgate_policy_reload_total{result="success"}' 0
}
pg_check "counters read back exactly after known traffic" check_enforce
check_format()
{
    grep -q '^# TYPE pullgate_verification_duration_seconds histogram$' "$PG_TMP/metrics.txt" &&
        grep -q '^# HELP pullgate_pulls_total ' "$PG_TMP/metrics.txt" &&
        grep -q '^pullgate_build_info{version="[0-9.]*"} 1$' "$PG_TMP/metrics.txt" &&
        ! grep -q 'm/signed\|other/app' "$PG_TMP/metrics.txt"
}
pg_check "the exposition is typed and names no image" check_format
check_calls() { [ "$(metric pullgate_calls_in_flight)" -ge 0 ]; }
pg_check "calls in flight are reported" check_calls
code() { curl -s -o /dev/null -w '%{http_code}' -X "$1" "$2"; }
check_http()
{
    [ "$(code GET "http://127.0.0.1:$PORT/")" = 404 ] &&
        [ "$(code POST "$URL")" = 405 ] && [ "$(code GET "$URL")" = 200 ]
}
pg_check "other paths are 404 and other methods 405" check_http
kill -TERM "$PG_PULLGATE_PID"
pg_wait_until 30 "pullgate to stop" bash -c "! kill -0 $PG_PULLGATE_PID 2>/dev/null"

# ---- dry-run ----
PORT=$(pg_free_port)
URL=http://127.0.0.1:$PORT/metrics
pg_start_pullgate --notation-dir "$NOTATION" --plain-http "$R" --mode dry-run \
    --metrics-listen "127.0.0.1:$PORT"
pg_check "dry-run forwards the unsigned image" pull m/unsigned:v1
pull m/signed:nosuchtag && pg_die "containerd pulled a missing tag"
scrape || pg_die "cannot read $URL"
check_dry()
{
    is 'pullgate_pulls_total{outcome="would_deny",reason="no_signature"}' 1 &&
        is 'pullgate_pulls_total{outcome="would_deny",reason="not_found"}' 1 &&
        [ -z "$(metric 'pullgate_pulls_total{outcome="deny",reason="no_signature"}')" ] &&
        is pullgate_upstream_errors_total 1
}
pg_check "dry-run counts would_deny and containerd's failure" check_dry
kill -TERM "$PG_PULLGATE_PID"
pg_wait_until 30 "pullgate to stop" bash -c "! kill -0 $PG_PULLGATE_PID 2>/dev/null"

# ---- a listener off loopback ----
check_refused()
{
    local rc
    "$PG_PULLGATE" serve --listen "$PG_TMP/x.sock" --upstream "$PG_CONTAINERD_SOCK" \
        --metrics-listen 0.0.0.0:9464 >"$PG_TMP/refused.out" 2>&1
    rc=$?
    [ "$rc" = 2 ] && grep -q 'not a loopback address' "$PG_TMP/refused.out"
}
pg_check "a non-loopback metrics listener is refused at start-up" check_refused
pg_finish
