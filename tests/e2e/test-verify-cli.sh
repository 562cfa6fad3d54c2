#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# `pullgate verify` against a real docker-registry: exit 0 and the pinned
# reference on stdout for a verified image (the reference as given under a
# level skip statement), exit 1 with every signature's failure on stderr for
# the others, exit 2 for usage errors, a missing trust policy and a missing or
# malformed docker config or CA bundle. Registry credentials come from a
# docker config file. `pullgate policy check` accepts the demo's notation
# directory.
# Needs no containerd and no root.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/demo-lib.sh
. "$(dirname "$0")/demo-lib.sh"

pg_require_tools docker-registry curl openssl base64 perl "$PG_PULLGATE" "$PG_PUSH" \
    "$PG_TESTSIGN"
pg_require_alpine
pg_tmpdir
pg_start_registry
R=$PG_REGISTRY
AUTH_USER=pg-verify-user
SECRET=pg-verify-secret-$RANDOM$RANDOM$RANDOM
pg_start_auth_registry "$AUTH_USER" "$SECRET"
AUTH_R=$PG_AUTH_REGISTRY

# Images: the real alpine signature; pg-testsign signatures by a trusted and
# an untrusted CA; several signatures on one image.
pg_make_ca "$PG_TMP/trusted" || pg_die "cannot make the trusted CA"
pg_make_ca "$PG_TMP/untrusted" || pg_die "cannot make the untrusted CA"
ALPINE=$(pg_publish_alpine test/alpine:v2) || pg_die "publish alpine"
D_SIGNED=$(pg_publish_small test/signed:v1 signed "$PG_TMP/trusted") || pg_die "publish signed"
D_UNSIGNED=$(pg_publish_small test/unsigned:v1 unsigned) || pg_die "publish unsigned"
pg_publish_small test/untrusted:v1 untrusted "$PG_TMP/untrusted" >/dev/null ||
    pg_die "publish untrusted"
D_WRONG=$(pg_publish_small test/wrong:v1 wrong) || pg_die "publish wrong"
pg_attach_signature test/wrong "$D_WRONG" "$PG_ALPINE_SIG" >/dev/null || pg_die "attach wrong"
# two bad signatures: both failures are reported
D_TWO=$(pg_publish_small test/two-bad:v1 two-bad "$PG_TMP/untrusted") || pg_die "publish two-bad"
pg_attach_signature test/two-bad "$D_TWO" "$PG_ALPINE_SIG" >/dev/null || pg_die "attach two-bad"
# a bad signature first, then a good one: one valid signature is enough
D_MIXED=$(pg_publish_small test/mixed:v1 mixed "$PG_TMP/untrusted") || pg_die "publish mixed"
pg_sign "$PG_TMP/trusted" test/mixed "$D_MIXED" >/dev/null || pg_die "sign mixed"
pg_publish_small test/skipped:v1 skipped >/dev/null || pg_die "publish skipped"

# The demo's notation directory, and one that also trusts the test CA.
DEMO=$PG_TMP/notation-demo
pg_demo_notation "$DEMO" >/dev/null || pg_die "cannot write the demo's notation directory"
N=$PG_TMP/notation
pg_trust_store "$N" alpine "$DEMO/truststore/x509/ca/demo/"*.pem || pg_die "store alpine"
pg_trust_store "$N" test "$PG_TMP/trusted/root/cert.pem" || pg_die "store test"
pg_trust_policy "$N" "$(pg_skip_statement skipped "\"$R/test/skipped\""),
$(pg_statement all '"*"' '"ca:alpine", "ca:test"' '"*"')" || pg_die "cannot write the policy"

FAILS=0

# expect NAME CODE STDOUT_TEXT STDERR_TEXT... -- CMD...: runs CMD; checks the
# exit code and that each (non-empty) text appears.
expect()
{
    local name=$1 code=$2 out_pat=$3 rc pat
    local -a err_pats=()
    shift 3
    while [ "$1" != -- ]; do
        err_pats+=("$1")
        shift
    done
    shift
    "$@" >"$PG_TMP/$name.out" 2>"$PG_TMP/$name.err"
    rc=$?
    if [ "$rc" != "$code" ]; then
        pg_log "FAIL: $name: exit $rc, want $code"
        sed 's/^/    /' "$PG_TMP/$name.out" "$PG_TMP/$name.err" >&2
        FAILS=$((FAILS + 1))
        return
    fi
    if [ -n "$out_pat" ] && ! grep -qF -- "$out_pat" "$PG_TMP/$name.out"; then
        pg_log "FAIL: $name: stdout lacks: $out_pat"
        sed 's/^/    /' "$PG_TMP/$name.out" >&2
        FAILS=$((FAILS + 1))
        return
    fi
    for pat in "${err_pats[@]}"; do
        if [ -n "$pat" ] && ! grep -qF -- "$pat" "$PG_TMP/$name.err"; then
            pg_log "FAIL: $name: stderr lacks: $pat"
            sed 's/^/    /' "$PG_TMP/$name.err" >&2
            FAILS=$((FAILS + 1))
            return
        fi
    done
    pg_log "ok: $name"
}

PG=$PG_PULLGATE
V=("$PG" verify --notation-dir "$N" --plain-http "$R" --plain-http "$AUTH_R")

# Verified: exit 0, the pinned reference on stdout.
expect alpine-demo 0 "$R/test/alpine@$ALPINE" "verified: $R/test/alpine:v2" -- \
    "$PG" verify --notation-dir "$DEMO" --plain-http "$R" "$R/test/alpine:v2"
expect alpine-by-digest 0 "$R/test/alpine@$ALPINE" -- "${V[@]}" "$R/test/alpine@$ALPINE"
expect signed 0 "$R/test/signed@$D_SIGNED" 'signature verified under trust policy statement "all"' \
    -- "${V[@]}" "$R/test/signed:v1"
expect one-good-signature-is-enough 0 "$R/test/mixed@$D_MIXED" -- "${V[@]}" "$R/test/mixed:v1"
expect skip 0 "$R/test/skipped:v1" "not verified, allowed: $R/test/skipped:v1" 'level skip' -- \
    "${V[@]}" "$R/test/skipped:v1"
skip_prints_the_reference_only()
{
    [ "$(cat "$PG_TMP/skip.out")" = "$R/test/skipped:v1" ] || {
        pg_log "FAIL: skip: stdout is not the reference alone"
        sed 's/^/    /' "$PG_TMP/skip.out" >&2
        FAILS=$((FAILS + 1))
    }
}
skip_prints_the_reference_only

# Not verified: exit 1, the reason and each signature's failure.
expect unsigned 1 '' "reason: no_signature" \
    "no signature is associated with $R/test/unsigned@$D_UNSIGNED" \
    -- "${V[@]}" "$R/test/unsigned:v1"
expect untrusted 1 '' "reason: signature_untrusted" "signature 1: failed (signature_untrusted)" \
    -- "${V[@]}" "$R/test/untrusted:v1"
expect untrusted-for-demo 1 '' "reason: signature_untrusted" -- \
    "$PG" verify --notation-dir "$DEMO" --plain-http "$R" "$R/test/signed:v1"
expect wrong-digest 1 '' "reason: signature_target_mismatch" \
    "signature 1: failed (signature_target_mismatch)" "the signature is for $ALPINE" \
    -- "${V[@]}" "$R/test/wrong:v1"
expect two-bad-signatures 1 '' "signature 1: failed (signature_untrusted)" \
    "signature 2: failed (signature_target_mismatch)" -- "${V[@]}" "$R/test/two-bad:v1"
expect missing-tag 1 '' "reason: not_found" "$R/test/signed:nope" -- "${V[@]}" "$R/test/signed:nope"
expect registry-down 1 '' "reason: io_error" "connection failed" -- \
    "$PG" verify --notation-dir "$N" --plain-http 127.0.0.1:1 --timeout 5 127.0.0.1:1/test/a:v1

# A hostile reference is echoed escaped and cut, never raw.
ESC_REF="$R/test/a$(printf '\033')[31mred:v1"
LONG_REF="$R/test/$(head -c 5000 /dev/zero | tr '\0' a):v1"
expect escaped-reference 1 '' "not verified: $R/test/a\\x1b[31mred:v1" -- "${V[@]}" "$ESC_REF"
expect long-reference 1 '' "reason: invalid_reference" -- "${V[@]}" "$LONG_REF"
reference_is_bounded()
{
    local header
    header=$(grep -m1 '^not verified: ' "$PG_TMP/long-reference.err")
    if [ "${#header}" -gt 600 ] || [ "${header%...}" = "$header" ]; then
        pg_log "FAIL: the header echoes ${#header} characters of the reference, not cut"
        FAILS=$((FAILS + 1))
    fi
    if grep '^not verified: ' "$PG_TMP/escaped-reference.err" | grep -q "$(printf '\033')"; then
        pg_log "FAIL: an escape character of the reference reached the terminal"
        FAILS=$((FAILS + 1))
    fi
}
reference_is_bounded

# Registry credentials from a docker config file.
mkdir -p "$PG_TMP/home"
expect auth-none 1 '' "reason: registry_auth_failed" -- \
    env -u DOCKER_CONFIG HOME="$PG_TMP/home" "${V[@]}" "$AUTH_R/test/signed:v1"
mkdir -p "$PG_TMP/docker"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$AUTH_R" \
    "$(printf '%s:%s' "$AUTH_USER" "$SECRET" | base64 -w0)" >"$PG_TMP/docker/config.json"
expect auth-docker-config 0 "$AUTH_R/test/signed@$D_SIGNED" -- \
    "${V[@]}" --docker-config "$PG_TMP/docker/config.json" "$AUTH_R/test/signed:v1"
expect auth-docker-config-env 0 "$AUTH_R/test/signed@$D_SIGNED" -- \
    env DOCKER_CONFIG="$PG_TMP/docker" "${V[@]}" "$AUTH_R/test/signed:v1"
# A missing file without --docker-config is anonymous; everything else wrong
# with a docker config or a CA bundle is a configuration error naming it.
expect auth-no-default-config 0 "$R/test/signed@$D_SIGNED" -- \
    env -u DOCKER_CONFIG HOME="$PG_TMP/home" "${V[@]}" "$R/test/signed:v1"
expect docker-config-missing 2 '' 'docker config "/nonexistent/config.json": No such file' -- \
    "${V[@]}" --docker-config /nonexistent/config.json "$R/test/signed:v1"
printf '{"auths": ' >"$PG_TMP/docker-bad.json"
expect docker-config-not-json 2 '' "docker config \"$PG_TMP/docker-bad.json\" is not valid JSON" \
    -- "${V[@]}" --docker-config "$PG_TMP/docker-bad.json" "$R/test/signed:v1"
mkdir -p "$PG_TMP/docker-env-bad"
cp "$PG_TMP/docker-bad.json" "$PG_TMP/docker-env-bad/config.json"
expect docker-config-env-not-json 2 '' "$PG_TMP/docker-env-bad/config.json\" is not valid JSON" \
    -- env DOCKER_CONFIG="$PG_TMP/docker-env-bad" "${V[@]}" "$R/test/signed:v1"
# A docker config of the wrong shape, or an auth value that is not base64 of
# user:password, is refused even for a registry that needs no credentials.
docker_config_refused()
{
    local name=$1 json=$2 msg=$3
    printf '%s\n' "$json" >"$PG_TMP/docker-$name.json"
    expect "docker-config-$name" 2 '' "docker config \"$PG_TMP/docker-$name.json\": $msg" -- \
        "${V[@]}" --docker-config "$PG_TMP/docker-$name.json" "$R/test/signed:v1"
}
docker_config_refused auths-array '{"auths":[]}' '"auths" is not a JSON object'
docker_config_refused entry-string "{\"auths\":{\"$R\":\"str\"}}" \
    "auths entry \"$R\": is not a JSON object"
docker_config_refused auth-number "{\"auths\":{\"$R\":{\"auth\":5}}}" \
    "auths entry \"$R\": \"auth\" is not a string"
docker_config_refused auth-not-base64 "{\"auths\":{\"$R\":{\"auth\":\"!!\"}}}" \
    "auths entry \"$R\": registry auth value is not valid base64"
docker_config_refused auth-no-colon \
    "{\"auths\":{\"$R\":{\"auth\":\"$(printf nocolon | base64 -w0)\"}}}" \
    "auths entry \"$R\": registry auth value is not user:password"
expect ca-file-missing 2 '' '--ca-file "/nonexistent/ca.pem": No such file' -- \
    "${V[@]}" --ca-file /nonexistent/ca.pem "$R/test/signed:v1"
expect registry-ca-file-missing 2 '' '--registry-ca-file "/nonexistent/ca.pem": No such file' -- \
    "${V[@]}" --registry-ca-file /nonexistent/ca.pem "$R/test/signed:v1"
expect ca-file-not-pem 2 '' "--ca-file \"$PG_TMP/docker-bad.json\" is not a readable PEM" -- \
    "${V[@]}" --ca-file "$PG_TMP/docker-bad.json" "$R/test/signed:v1"
expect registry-ca-file-used 0 "$R/test/signed@$D_SIGNED" -- \
    "${V[@]}" --registry-ca-file "$PG_TMP/trusted/root/cert.pem" "$R/test/signed:v1"
if grep -qF -- "$SECRET" "$PG_TMP"/auth-*.out "$PG_TMP"/auth-*.err; then
    pg_log "FAIL: the registry password was printed"
    FAILS=$((FAILS + 1))
fi

# Usage errors and a missing policy: exit 2.
mkdir -p "$PG_TMP/empty"
expect no-reference 2 '' 'usage: pullgate verify' -- "$PG" verify --notation-dir "$N"
expect two-references 2 '' 'usage: pullgate verify' -- "${V[@]}" "$R/a:1" "$R/b:1"
for host in '::1:5000' 'reg.test:99999' 'reg.test:0'; do
    expect "plain-http-$host" 2 '' "--plain-http \"$host\" is not a registry host[:port]" -- \
        "$PG" verify --plain-http "$host" "$R/test/signed:v1"
done
expect unknown-option 2 '' 'usage: pullgate verify' -- "$PG" verify --bogus "$R/test/signed:v1"
expect bad-timeout 2 '' '--timeout wants 1..3600 seconds' -- \
    "$PG" verify --timeout 0 "$R/test/signed:v1"
expect missing-policy 2 '' "no trust policy in $PG_TMP/empty" -- \
    "$PG" verify --notation-dir "$PG_TMP/empty" "$R/test/signed:v1"
printf '{"version": "1.0", "trustPolicies": [' >"$PG_TMP/empty/trustpolicy.json"
expect malformed-policy 2 '' 'not valid JSON' -- \
    "$PG" verify --notation-dir "$PG_TMP/empty" "$R/test/signed:v1"
expect help 0 'usage: pullgate verify' -- "$PG" verify --help

# The demo's notation directory passes the policy check.
expect policy-check-demo 0 'policy is valid' -- "$PG" policy check --notation-dir "$DEMO"
expect policy-check-test 0 'policy is valid' -- "$PG" policy check --notation-dir "$N"

[ "$FAILS" = 0 ] || pg_die "$FAILS verify case(s) failed"
pg_log "all verify cases passed"
