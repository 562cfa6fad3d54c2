#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# COSE signatures (application/cose) through `pullgate verify` against a real
# docker-registry: notation's own COSE signature of the alpine layout and
# envelopes minted by `pg-testsign sign --format cose` verify (exit 0); a
# flipped signature byte, an untrusted signer and a COSE signature of another
# image are refused (exit 1) with the reason. Needs no containerd and no root.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/demo-lib.sh
. "$(dirname "$0")/demo-lib.sh"

PG_COSE_SIG=$PG_VECTORS/notation-go/internal/testdata/cose_signature.sig

pg_require_tools docker-registry curl openssl base64 perl "$PG_PULLGATE" "$PG_PUSH" \
    "$PG_TESTSIGN"
pg_require_alpine
[ -f "$PG_COSE_SIG" ] || pg_skip "no $PG_COSE_SIG"
pg_tmpdir
pg_start_registry
R=$PG_REGISTRY

# sign_cose CADIR REPO DIGEST OUT: a COSE envelope for REPO@DIGEST by the leaf of CADIR.
sign_cose()
{
    local mt size
    mt=$(pg_manifest_media_type "$2" "$3") || return 1
    size=$(pg_manifest_size "$2" "$3") || return 1
    "$PG_TESTSIGN" sign --format cose --key "$1/leaf/key.pem" --chain "$1/leaf/chain.pem" \
        --target-media-type "$mt" --target-digest "$3" --target-size "$size" --out "$4"
}

pg_make_ca "$PG_TMP/trusted" || pg_die "cannot make the trusted CA"
pg_make_ca "$PG_TMP/untrusted" || pg_die "cannot make the untrusted CA"

# notation's COSE signature of the alpine layout, alone on its image.
ALPINE=$("$PG_PUSH" --registry "$R" layout test/alpine-cose:v2 "$PG_ALPINE_LAYOUT") ||
    pg_die "push alpine"
pg_attach_signature test/alpine-cose "$ALPINE" "$PG_COSE_SIG" >/dev/null || pg_die "attach alpine"
pg_envelope_cert "$PG_ALPINE_SIG" "$PG_TMP/alpine-leaf.pem" || pg_die "alpine leaf"

# Minted COSE signatures: good, tampered, untrusted, for another image.
D_GOOD=$(pg_publish_small test/cose:v1 cose-good) || pg_die "publish cose"
sign_cose "$PG_TMP/trusted" test/cose "$D_GOOD" "$PG_TMP/good.cose" || pg_die "sign cose"
pg_attach_signature test/cose "$D_GOOD" "$PG_TMP/good.cose" >/dev/null || pg_die "attach cose"

D_BAD=$(pg_publish_small test/cose-tampered:v1 cose-tampered) || pg_die "publish tampered"
sign_cose "$PG_TMP/trusted" test/cose-tampered "$D_BAD" "$PG_TMP/bad.cose" ||
    pg_die "sign tampered"
perl -0777 -pi -e 'substr($_, -7, 1) ^= "\x01"' "$PG_TMP/bad.cose" || pg_die "tamper"
pg_attach_signature test/cose-tampered "$D_BAD" "$PG_TMP/bad.cose" >/dev/null ||
    pg_die "attach tampered"

D_UNTRUSTED=$(pg_publish_small test/cose-untrusted:v1 cose-untrusted) || pg_die "publish"
sign_cose "$PG_TMP/untrusted" test/cose-untrusted "$D_UNTRUSTED" "$PG_TMP/untrusted.cose" ||
    pg_die "sign untrusted"
pg_attach_signature test/cose-untrusted "$D_UNTRUSTED" "$PG_TMP/untrusted.cose" >/dev/null ||
    pg_die "attach untrusted"

D_OTHER=$(pg_publish_small test/cose-other:v1 cose-other) || pg_die "publish other"
pg_attach_signature test/cose-other "$D_OTHER" "$PG_TMP/good.cose" >/dev/null ||
    pg_die "attach other"

N=$PG_TMP/notation
pg_trust_store "$N" alpine "$PG_TMP/alpine-leaf.pem" || pg_die "store alpine"
pg_trust_store "$N" test "$PG_TMP/trusted/root/cert.pem" || pg_die "store test"
pg_trust_policy "$N" "$(pg_statement all '"*"' '"ca:alpine", "ca:test"' '"*"')" ||
    pg_die "cannot write the policy"

FAILS=0

# expect NAME CODE TEXT CMD...: runs CMD; checks the exit code and that TEXT
# (when not empty) appears in its stdout or stderr.
expect()
{
    local name=$1 code=$2 text=$3 rc
    shift 3
    "$@" >"$PG_TMP/$name.out" 2>&1
    rc=$?
    if [ "$rc" != "$code" ] || { [ -n "$text" ] && ! grep -qF -- "$text" "$PG_TMP/$name.out"; }; then
        pg_log "FAIL: $name: exit $rc (want $code), output lacks or has: $text"
        sed 's/^/    /' "$PG_TMP/$name.out" >&2
        FAILS=$((FAILS + 1))
        return
    fi
    pg_log "ok: $name"
}

V=("$PG_PULLGATE" verify --notation-dir "$N" --plain-http "$R")
expect notation-cose-vector 0 "$R/test/alpine-cose@$ALPINE" "${V[@]}" "$R/test/alpine-cose:v2"
expect minted-cose 0 "$R/test/cose@$D_GOOD" "${V[@]}" "$R/test/cose:v1"
expect tampered-cose 1 "signature_integrity" "${V[@]}" "$R/test/cose-tampered:v1"
expect untrusted-cose 1 "signature_untrusted" "${V[@]}" "$R/test/cose-untrusted:v1"
expect cose-for-another-image 1 "signature_target_mismatch" "${V[@]}" "$R/test/cose-other:v1"

if [ "$FAILS" -ne 0 ]; then
    pg_die "$FAILS check(s) failed"
fi
pg_log "all cose checks passed"
