#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# AWS Signer signatures end to end, verified natively (no plugin binary): an
# image signed the way AWS Signer signs (ES384, a 4-certificate chain under a
# test root in a signingAuthority store, the signing profile and job
# attributes) is pulled through `pullgate serve` into the real containerd
# under the policy AWS documents, with pg-fakeaws answering AWS Signer's
# GetRevocationStatus; once pg-fakeaws reports the signing job revoked the
# same image is refused. The revocation request must be SigV4-signed with the
# node's credentials, and no credential may reach pullgate's log.

# The check functions are called through pg_check, out of shellcheck's sight.
# shellcheck disable=SC2317
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/demo-lib.sh
. "$(dirname "$0")/demo-lib.sh"

PG_FAKEAWS=${PG_FAKEAWS:-$PG_BUILD_DIR/tests/pg-fakeaws}
pg_require containerd docker-registry curl "$PG_CRI" "$PG_PUSH" "$PG_TESTSIGN" "$PG_FAKEAWS"
pg_pullgate_has_serve || pg_skip "$PG_PULLGATE has no working serve command"
pg_tmpdir
OUT=$PG_TMP/out
mkdir -p "$OUT"

ACCOUNT=111122223333
PROFILE="arn:aws:signer:us-east-1:$ACCOUNT:/signing-profiles/onprem"
VERSION="$PROFILE/AbCdEf1234"
JOB="arn:aws:signer:us-east-1:$ACCOUNT:/signing-jobs/5f0c6a57-0000-4000-8000-00000000e2e0"
KEY=AKIDPULLGATEE2E
SECRET=pg-e2e-aws-secret-$RANDOM$RANDOM
TOKEN=pg-e2e-aws-token-$RANDOM$RANDOM

pg_start_registry
R=$PG_REGISTRY
pg_start_containerd

# ---- an AWS-shaped chain and signature ----
AWS=$PG_TMP/aws
mkdir -p "$AWS" || pg_die "cannot make $AWS"
subj()
{
    printf 'CN=%s,OU=Cryptography,O=AWS,ST=WA,C=US' "$1"
}
"$PG_TESTSIGN" ca --out "$AWS/root" --key ec384 \
    --subject "$(subj "AWS Signer Code Signing Root CA G1")" >/dev/null &&
    "$PG_TESTSIGN" cert --ca "$AWS/root" --out "$AWS/int" --ca-cert --key ec384 \
        --subject "$(subj "AWS Signer Code Signing Int CA G1")" >/dev/null &&
    "$PG_TESTSIGN" cert --ca "$AWS/int" --out "$AWS/reg" --ca-cert --key ec384 \
        --subject "$(subj "AWS Signer us-east-1 Code Signing CA G1")" >/dev/null &&
    "$PG_TESTSIGN" cert --ca "$AWS/reg" --out "$AWS/leaf" --key ec384 --days 3 \
        --subject "CN=AWS Signer,OU=AWS Cryptography,O=AWS,L=Seattle,ST=WA,C=US" >/dev/null ||
    pg_die "cannot make the AWS-shaped chain"

DIGEST=$(pg_publish_small aws/app:v1 aws-signed) || pg_die "cannot publish aws/app"
MT=$(pg_manifest_media_type aws/app "$DIGEST") || pg_die "no media type"
SIZE=$(pg_manifest_size aws/app "$DIGEST") || pg_die "no size"
"$PG_TESTSIGN" sign --key "$AWS/leaf/key.pem" --chain "$AWS/leaf/chain.pem" \
    --target-media-type "$MT" --target-digest "$DIGEST" --target-size "$SIZE" --scheme sa \
    --attr io.cncf.notary.verificationPlugin=com.amazonaws.signer.notation.plugin \
    --crit io.cncf.notary.verificationPlugin \
    --attr "com.amazonaws.signer.signingProfileVersion=$VERSION" \
    --crit com.amazonaws.signer.signingProfileVersion \
    --attr "com.amazonaws.signer.signingJob=$JOB" --crit com.amazonaws.signer.signingJob \
    --out "$AWS/sig.jws" >/dev/null || pg_die "cannot sign aws/app"
pg_attach_signature aws/app "$DIGEST" "$AWS/sig.jws" >/dev/null || pg_die "cannot attach"

# ---- the notation directory of docs/aws-signer.md ----
NOTATION=$PG_TMP/notation
STORE=$NOTATION/truststore/x509/signingAuthority/aws-signer-ts
mkdir -p "$STORE" && cp "$AWS/root/cert.pem" "$STORE/aws-signer-notation-root.crt" ||
    pg_die "cannot fill the trust store"
pg_trust_policy "$NOTATION" "$(pg_statement aws-signer '"*"' '"signingAuthority:aws-signer-ts"' \
    "\"$PROFILE\"")" || pg_die "cannot write the trust policy"

# ---- pg-fakeaws and pullgate with the node's credentials ----
MODE=$PG_TMP/fakeaws.mode
FAKELOG=$PG_TMP/fakeaws.requests
echo ok >"$MODE"
pg_spawn fakeaws "$PG_FAKEAWS" --port-file "$PG_TMP/fakeaws.port" --log "$FAKELOG" \
    --mode-file "$MODE" --access-key "$KEY" --secret "$SECRET"
pg_wait_until 10 "pg-fakeaws" test -s "$PG_TMP/fakeaws.port"
ENDPOINT=http://127.0.0.1:$(cat "$PG_TMP/fakeaws.port")

export AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET AWS_SESSION_TOKEN=$TOKEN
export AWS_EC2_METADATA_DISABLED=true
pg_start_pullgate --notation-dir "$NOTATION" --plain-http "$R" --log-level debug \
    --aws-signer-endpoint "$ENDPOINT" --aws-signer-cache-ttl-s 0 --cache-max-entries 0
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
LOG=$PG_TMP/pullgate.log

pull()
{
    "$PG_CRI" --socket "$PG_PROXY_SOCK" --timeout 60000 pull "$2" >"$OUT/$1" 2>&1
    return 0
}

allowed()
{
    grep -q '"image_ref": "sha256:[0-9a-f]\{64\}"' "$OUT/$1" || {
        sed 's/^/    /' "$OUT/$1" >&2
        false
    }
}

refused_revoked()
{
    grep -q '^code=7 message="SignatureValidationFailed: signature_revoked: ' "$OUT/$1" &&
        grep -qF "revoked by aws signer: $JOB" "$OUT/$1" || {
        sed 's/^/    /' "$OUT/$1" >&2
        false
    }
}

# signed_requests N: N revocation requests so far, each with a valid SigV4
# signature for us-east-1/signer, the session token and the signature's job.
signed_requests()
{
    [ "$(grep -c '"path":"/revocations"' "$FAKELOG")" -eq "$1" ] &&
        [ "$(grep '"path":"/revocations"' "$FAKELOG" | grep -c '"signature_valid":true')" -eq "$1" ] &&
        ! grep '"path":"/revocations"' "$FAKELOG" | grep -qv "Credential=$KEY/[0-9]*/us-east-1/signer/aws4_request" &&
        ! grep '"path":"/revocations"' "$FAKELOG" | grep -qvF "\"security_token\":\"$TOKEN\"" &&
        ! grep '"path":"/revocations"' "$FAKELOG" | grep -qvF "\"jobArn\":[\"$JOB\"]"
}

no_secret_logged()
{
    ! grep -qF -e "$SECRET" -e "$TOKEN" "$LOG" && ! grep -q 'Signature=' "$LOG"
}

pull first "$R/aws/app:v1"
pg_check "an AWS Signer signed image is pulled when its job is not revoked" allowed first
pg_check "the revocation status was asked once, SigV4-signed" signed_requests 1

echo revoked >"$MODE"
pull second "$R/aws/app:v1"
pg_check "the same image is refused once AWS Signer reports its job revoked" \
    refused_revoked second
pg_check "the second revocation request was signed too" signed_requests 2
pg_check "the refusal is logged as one deny decision with reason signature_revoked" \
    grep -q 'decision=deny .*reason=signature_revoked' "$LOG"

echo denied >"$MODE"
pull third "$R/aws/app:v1"
pg_check "access denied by AWS refuses the pull under strict, with AWS's words" \
    grep -qF "AccessDeniedException: User: arn:aws:iam::111122223333:user/node is not authorized" \
    "$OUT/third"
pg_check "no credential reaches pullgate's log" no_secret_logged
pg_finish
