#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# pullgate enforces the trust policy on PullImage, end to end: a real
# docker-registry (a second one with basic auth over the same storage), a
# real containerd and `pullgate serve` in three configurations (enforce,
# dry-run, and one whose trust policy is missing, then malformed, then valid).
# Signed images are pulled pinned to the verified digest and keep their tag;
# unsigned, untrusted and wrong-digest images are refused with
# SignatureValidationFailed and never reach containerd. Each claim is checked
# on the CRI answer, on pullgate's decision line and on containerd itself.

# The check functions are called through pg_check, out of shellcheck's sight.
# shellcheck disable=SC2317
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/demo-lib.sh
. "$(dirname "$0")/demo-lib.sh"

pg_require containerd docker-registry curl openssl base64 perl "$PG_CRI" "$PG_PUSH" \
    "$PG_TESTSIGN"
pg_pullgate_has_serve || pg_skip "$PG_PULLGATE has no working serve command"
pg_require_alpine
pg_tmpdir
OUT=$PG_TMP/out
mkdir -p "$OUT"

# ---- registries: an open one, and one with basic auth over the same storage ----
pg_start_registry
R=$PG_REGISTRY
AUTH_USER=pg-e2e-user
SECRET=pg-e2e-secret-$RANDOM$RANDOM$RANDOM
pg_start_auth_registry "$AUTH_USER" "$SECRET"
AUTH_R=$PG_AUTH_REGISTRY

pg_start_containerd
pg_containerd_host "$AUTH_R"
DEAD_R=127.0.0.1:$(pg_free_port) # nothing listens there

# ---- images ----
pg_make_ca "$PG_TMP/trusted-ca" "CN=pg e2e signer,O=pullgate,ST=WA,C=US" ||
    pg_die "cannot make the trusted CA"
pg_make_ca "$PG_TMP/untrusted-ca" "CN=pg e2e signer,O=pullgate,ST=WA,C=US" ||
    pg_die "cannot make the untrusted CA"
TRUSTED=$PG_TMP/trusted-ca
UNTRUSTED_CA=$PG_TMP/untrusted-ca

ALPINE=$(pg_publish_alpine test/alpine:v2) || pg_die "cannot publish alpine"
D_SIGNED=$(pg_publish_small test/signed:v1 signed "$TRUSTED") || pg_die "publish signed"
D_UNSIGNED=$(pg_publish_small test/unsigned:v1 unsigned) || pg_die "publish unsigned"
D_UNTRUSTED=$(pg_publish_small test/untrusted:v1 untrusted "$UNTRUSTED_CA") ||
    pg_die "publish untrusted"
D_WRONG=$(pg_publish_small test/wrong:v1 wrong) || pg_die "publish wrong"
pg_attach_signature test/wrong "$D_WRONG" "$PG_ALPINE_SIG" >/dev/null ||
    pg_die "cannot attach alpine's signature to test/wrong"
D_MOVING=$(pg_publish_small test/moving:v1 moving-signed "$TRUSTED") || pg_die "publish moving"
pg_publish_small test/skipped:v1 skipped >/dev/null || pg_die "publish skipped"
pg_publish_small test/dryrun:v1 dryrun >/dev/null || pg_die "publish dryrun"
pg_publish_small test/alpha-signed:v1 alpha-signed "$TRUSTED" >/dev/null ||
    pg_die "publish alpha-signed"
pg_publish_small test/alpha-unsigned:v1 alpha-unsigned >/dev/null || pg_die "publish alpha-unsigned"
D_PRIVATE=$(pg_publish_small test/private:v1 private "$TRUSTED") || pg_die "publish private"
pg_publish_small conc/signed:base conc-signed "$TRUSTED" >/dev/null || pg_die "publish conc"
pg_publish_small conc/unsigned:base conc-unsigned >/dev/null || pg_die "publish conc"
pg_publish_small conc/untrusted:base conc-untrusted "$UNTRUSTED_CA" >/dev/null ||
    pg_die "publish conc"
KINDS=(signed unsigned untrusted)
for ((i = 0; i < 32; i++)); do
    pg_retag "conc/${KINDS[i % 3]}" base "t$i" || pg_die "cannot tag conc/${KINDS[i % 3]}:t$i"
done

# ---- notation directories ----
NOTATION=$PG_TMP/notation
pg_envelope_cert "$PG_ALPINE_SIG" "$PG_TMP/alpine.pem" || pg_die "cannot extract alpine's cert"
pg_trust_store "$NOTATION" alpine "$PG_TMP/alpine.pem" || pg_die "trust store alpine"
pg_trust_store "$NOTATION" e2e "$TRUSTED/root/cert.pem" || pg_die "trust store e2e"
STATEMENTS="$(pg_skip_statement skipped "\"$R/test/skipped\""),
$(pg_statement e2e '"*"' '"ca:alpine", "ca:e2e"' \
    "\"x509.subject:$(pg_cert_subject "$PG_TMP/alpine.pem")\", \
\"x509.subject:$(pg_cert_subject "$TRUSTED/leaf/cert.pem")\"")"
pg_trust_policy "$NOTATION" "$STATEMENTS" || pg_die "cannot write the trust policy"
"$PG_PULLGATE" policy check --notation-dir "$NOTATION" >"$PG_TMP/policy-check.out" 2>&1 || {
    cat "$PG_TMP/policy-check.out" >&2
    pg_die "the test's own trust policy does not pass pullgate policy check"
}
BROKEN=$PG_TMP/notation-broken # no policy yet
mkdir -p "$BROKEN"

# ---- pullgate: enforce (debug logging, to show no secret is logged even there) ----
pg_start_pullgate --notation-dir "$NOTATION" --plain-http "$R" --plain-http "$AUTH_R" \
    --plain-http "$DEAD_R" --log-level debug --registry-timeout-ms 3000
SOCK=$PG_PROXY_SOCK
LOG=$PG_TMP/pullgate.log

# pull NAME IMAGE [pg-cri options]: PullImage through pullgate ($SOCK);
# the answer goes to $OUT/NAME.
pull()
{
    local name=$1
    shift
    "$PG_CRI" --socket "$SOCK" --timeout 60000 "${@:2}" pull "$1" >"$OUT/$name" 2>&1
    return 0
}

# allowed NAME: the pull was answered with an image.
allowed()
{
    grep -q '"image_ref": "sha256:[0-9a-f]\{64\}"' "$OUT/$1" || {
        sed 's/^/    /' "$OUT/$1" >&2
        false
    }
}

# refused NAME TEXT [REASON]: PERMISSION_DENIED, "SignatureValidationFailed:
# REASON: " (any reason name when not given), and TEXT.
refused()
{
    if grep -q "^code=7 message=\"SignatureValidationFailed: ${3:-[a-z_]*}: " "$OUT/$1" &&
        grep -qF -- "$2" "$OUT/$1"; then
        return 0
    fi
    sed 's/^/    /' "$OUT/$1" >&2
    return 1
}

# logged IMAGE DECISION REASON [MODE [LOGFILE]]: exactly one decision line
# for IMAGE, with that decision, reason and mode.
logged()
{
    local file=${5:-$LOG} lines
    lines=$(grep -F "decision=" "$file" | grep -F " image=\"$1\" ")
    if [ "$(printf '%s\n' "$lines" | grep -c .)" -eq 1 ] &&
        grep -q "^<[0-9]>decision=$2 " <<<"$lines" &&
        grep -qF " reason=$3 " <<<"$lines" &&
        grep -qF " mode=${4:-enforce} " <<<"$lines"; then
        return 0
    fi
    printf '    logged: %s\n' "${lines:-nothing}" >&2
    return 1
}

# status IMAGE: ImageStatus asked of containerd directly.
status()
{
    "$PG_CRI" --socket "$PG_CONTAINERD_SOCK" inspecti "$1" 2>&1
}

# present IMAGE [REPO_DIGEST]: containerd has IMAGE (and it carries REPO_DIGEST).
present()
{
    local s
    s=$(status "$1")
    if grep -q '"id": "sha256:' <<<"$s" && { [ -z "${2:-}" ] || grep -qF "\"$2\"" <<<"$s"; }; then
        return 0
    fi
    printf '    %s\n' "$s" >&2
    return 1
}

# absent IMAGE: ImageStatus finds nothing, and ListImages lists neither
# repo@digest (IMAGE by digest) nor anything of the repository (IMAGE by tag).
absent()
{
    local listed=$1
    case $1 in
    *@*) ;;
    *) listed=${1%:*} ;;
    esac
    grep -q '"image": null' <<<"$(status "$1")" &&
        ! "$PG_CRI" --socket "$PG_CONTAINERD_SOCK" images | grep -qF "\"$listed"
}

# upstream_saw REF: containerd logged a PullImage of exactly REF.
upstream_saw()
{
    grep -qF "PullImage \\\"$1\\\"" "$PG_TMP/containerd.log"
}

# upstream_never REPO: containerd never heard of a pull from REPO.
upstream_never()
{
    ! grep -F 'PullImage \"' "$PG_TMP/containerd.log" | grep -qF "\"$1"
}

# ---- a signed image: pinned, pulled, tagged ----
pull alpine "$R/test/alpine:v2"
pg_check "signed image (real notation signature) is pulled" allowed alpine
pg_check "its decision line: allow, reason ok" logged "$R/test/alpine:v2" allow ok
pg_check "its decision line names the statement and the digest" \
    grep -qF "digest=$ALPINE reason=ok policy=\"e2e\" mode=enforce" "$LOG"
pg_check "containerd was asked for repository@digest, not the tag" \
    upstream_saw "$R/test/alpine@$ALPINE"
pg_check "ImageStatus by the original tag finds it, with the verified repo digest" \
    present "$R/test/alpine:v2" "$R/test/alpine@$ALPINE"
pg_check "ImageStatus by digest finds it" present "$R/test/alpine@$ALPINE"
pg_check "ListImages shows the tag" eval "\"$PG_CRI\" --socket \"$PG_CONTAINERD_SOCK\" images |
    grep -qF '\"$R/test/alpine:v2\"'"

pull signed-digest "$R/test/signed@$D_SIGNED"
pg_check "image signed by a trusted CA, pulled by digest, is pulled" allowed signed-digest
pg_check "pulled by digest: present by digest" present "$R/test/signed@$D_SIGNED"
pull signed-tag "$R/test/signed:v1"
pg_check "the same image pulled by tag is pulled" allowed signed-tag
pg_check "and is then present by tag" present "$R/test/signed:v1" "$R/test/signed@$D_SIGNED"

# ---- refused images never reach containerd ----
pull unsigned "$R/test/unsigned:v1"
pg_check "unsigned image is refused, naming the digest" \
    refused unsigned "no signature is associated with $R/test/unsigned@$D_UNSIGNED" no_signature
pg_check "unsigned: decision deny, reason no_signature" \
    logged "$R/test/unsigned:v1" deny no_signature
pg_check "unsigned: absent from containerd" absent "$R/test/unsigned:v1"
pg_check "unsigned: absent by digest too" absent "$R/test/unsigned@$D_UNSIGNED"
pg_check "unsigned: containerd never saw the pull" upstream_never "$R/test/unsigned"

pull untrusted "$R/test/untrusted:v1"
pg_check "image signed by an untrusted CA is refused, saying the chain is not trusted" \
    refused untrusted "trust store" signature_untrusted
pg_check "untrusted: decision deny, reason signature_untrusted" \
    logged "$R/test/untrusted:v1" deny signature_untrusted
pg_check "untrusted: absent from containerd" absent "$R/test/untrusted:v1"
pg_check "untrusted: absent by digest too" absent "$R/test/untrusted@$D_UNTRUSTED"
pg_check "untrusted: containerd never saw the pull" upstream_never "$R/test/untrusted"

pull wrong "$R/test/wrong:v1"
pg_check "image carrying a signature of another digest is refused, naming that digest" \
    refused wrong "the signature is for $ALPINE" signature_target_mismatch
pg_check "wrong digest: decision deny, reason signature_target_mismatch" \
    logged "$R/test/wrong:v1" deny signature_target_mismatch
pg_check "wrong digest: absent from containerd" absent "$R/test/wrong@$D_WRONG"
pg_check "wrong digest: containerd never saw the pull" upstream_never "$R/test/wrong"

# ---- a tag moved to an unsigned digest after signing ----
pull moving-1 "$R/test/moving:v1"
pg_check "tag before the move: pulled" allowed moving-1
D_MOVED=$(pg_publish_small test/moving:v1 moved-unsigned) || pg_die "cannot move the tag"
pull moving-2 "$R/test/moving:v1"
pg_check "tag moved to an unsigned digest: refused, naming the new digest" \
    refused moving-2 "no signature is associated with $R/test/moving@$D_MOVED"
pg_check "moved tag: the node keeps the verified image under the tag" \
    present "$R/test/moving:v1" "$R/test/moving@$D_MOVING"
pg_check "moved tag: the unsigned digest is absent" absent "$R/test/moving@$D_MOVED"

# ---- registry down ----
pull dead "$DEAD_R/test/alpine:v2"
pg_check "registry down: refused, naming the registry" refused dead "$DEAD_R"
pg_check "registry down: the message says the connection failed" \
    refused dead "connection failed" io_error
pg_check "registry down: reason io_error" logged "$DEAD_R/test/alpine:v2" deny io_error

# ---- level skip ----
pull skipped "$R/test/skipped:v1"
pg_check "unsigned image under a level skip statement is pulled" allowed skipped
pg_check "skip: decision line says skip and names the statement" \
    logged "$R/test/skipped:v1" skip ok
pg_check "skip: the request went to containerd unchanged (by tag)" \
    upstream_saw "$R/test/skipped:v1"
pg_check "skip: present by tag" present "$R/test/skipped:v1"

# ---- v1alpha2 ----
pull alpha-unsigned "$R/test/alpha-unsigned:v1" --api v1alpha2
pg_check "v1alpha2: unsigned image is refused" \
    refused alpha-unsigned "no signature is associated with"
pg_check "v1alpha2: absent" absent "$R/test/alpha-unsigned:v1"
pull alpha-signed "$R/test/alpha-signed:v1" --api v1alpha2
pg_check "v1alpha2: signed image is pulled" allowed alpha-signed
pg_check "v1alpha2: pinned to the digest upstream" \
    grep -qF "PullImage \\\"$R/test/alpha-signed@sha256:" "$PG_TMP/containerd.log"
pg_check "v1alpha2: present by tag" present "$R/test/alpha-signed:v1"

# ---- 32 concurrent pulls of mixed images ----
pids=()
for ((i = 0; i < 32; i++)); do
    pull "conc-$i" "$R/conc/${KINDS[i % 3]}:t$i" &
    pids+=("$!")
done
for pid in "${pids[@]}"; do
    wait "$pid"
done
concurrent_ok()
{
    local i bad=0
    for ((i = 0; i < 32; i++)); do
        case ${KINDS[i % 3]} in
        signed)
            allowed "conc-$i" && logged "$R/conc/signed:t$i" allow ok &&
                present "$R/conc/signed:t$i" || bad=$((bad + 1))
            ;;
        unsigned)
            refused "conc-$i" "no signature is associated with" &&
                logged "$R/conc/unsigned:t$i" deny no_signature || bad=$((bad + 1))
            ;;
        untrusted)
            refused "conc-$i" "no valid signature" &&
                logged "$R/conc/untrusted:t$i" deny signature_untrusted || bad=$((bad + 1))
            ;;
        esac
    done
    [ "$bad" -eq 0 ] || pg_log "    $bad of 32 concurrent pulls got a wrong answer"
    [ "$bad" -eq 0 ]
}
pg_check "32 concurrent pulls: each gets the right answer, decision line and tag" concurrent_ok
pg_check "32 concurrent pulls: exactly 32 decision lines" \
    test "$(grep -F 'decision=' "$LOG" | grep -cF " image=\"$R/conc/")" -eq 32
pg_check "32 concurrent pulls: refused images absent" eval \
    "absent '$R/conc/unsigned:t1' && absent '$R/conc/untrusted:t2'"

# ---- credentials from the pod's AuthConfig ----
pull auth-none "$AUTH_R/test/private:v1"
pg_check "registry with auth, no credentials: refused" \
    refused auth-none "$AUTH_R" registry_auth_failed
pg_check "no credentials: reason registry_auth_failed" \
    grep -q "decision=deny image=\"$AUTH_R/test/private:v1\" .* reason=registry_auth_failed " "$LOG"
pull auth-wrong "$AUTH_R/test/private:v1" --auth-user "$AUTH_USER" --auth-pass "wrong-$SECRET" \
    --server-address "http://$AUTH_R"
pg_check "wrong password: refused" refused auth-wrong "$AUTH_R"
pg_check "credentials and pull refused: absent" absent "$AUTH_R/test/private:v1"
pull auth-ok "$AUTH_R/test/private:v1" --auth-user "$AUTH_USER" --auth-pass "$SECRET" \
    --server-address "http://$AUTH_R"
pg_check "the pod's credentials are used for verification: pulled" allowed auth-ok
pg_check "with credentials: decision allow" \
    grep -q "decision=allow image=\"$AUTH_R/test/private:v1\" digest=$D_PRIVATE reason=ok " "$LOG"
pg_check "with credentials: present by tag" \
    present "$AUTH_R/test/private:v1" "$AUTH_R/test/private@$D_PRIVATE"
pull auth-b64 "$AUTH_R/test/private@$D_PRIVATE" \
    --auth "$(printf '%s:%s' "$AUTH_USER" "$SECRET" | base64 -w0)"
pg_check "credentials as a base64 auth field work too" allowed auth-b64
no_secret_logged()
{
    local b64
    b64=$(printf '%s:%s' "$AUTH_USER" "$SECRET" | base64 -w0)
    ! grep -qF -- "$SECRET" "$LOG" && ! grep -qF -- "$b64" "$LOG"
}
pg_check "the password never appears in pullgate's log (debug level)" no_secret_logged

# ---- dry-run: a second pullgate that forwards everything and logs refusals ----
DRY_SOCK=$PG_TMP/pullgate-dry.sock
pg_spawn pullgate-dry "$PG_PULLGATE" serve --listen "$DRY_SOCK" --upstream "$PG_CONTAINERD_SOCK" \
    --notation-dir "$NOTATION" --plain-http "$R" --mode dry-run
DRY_PID=$PG_LAST_PID
pg_wait_proc "$DRY_PID" 30 "pullgate dry-run on $DRY_SOCK" pg_cri_ready "$DRY_SOCK"
SOCK=$DRY_SOCK
pull dryrun "$R/test/dryrun:v1"
pg_check "dry-run: the unsigned pull is forwarded and succeeds" allowed dryrun
pg_check "dry-run: its refusal is logged with mode=dry-run" \
    logged "$R/test/dryrun:v1" deny no_signature dry-run "$PG_TMP/pullgate-dry.log"
pg_check "dry-run: forwarded unchanged" upstream_saw "$R/test/dryrun:v1"
pg_check "dry-run: present" present "$R/test/dryrun:v1"

# ---- trust policy missing, then malformed, then valid, without a restart ----
BROKEN_SOCK=$PG_TMP/pullgate-broken.sock
pg_spawn pullgate-broken "$PG_PULLGATE" serve --listen "$BROKEN_SOCK" \
    --upstream "$PG_CONTAINERD_SOCK" --notation-dir "$BROKEN" --plain-http "$R"
BROKEN_PID=$PG_LAST_PID
pg_wait_proc "$BROKEN_PID" 30 "pullgate without a policy on $BROKEN_SOCK" \
    pg_cri_ready "$BROKEN_SOCK"
SOCK=$BROKEN_SOCK
BLOG=$PG_TMP/pullgate-broken.log
pull policy-missing "$R/test/signed:v1"
pg_check "policy missing: even a signed image is refused, saying the policy is missing" \
    refused policy-missing "trust policy could not be loaded" policy_missing
pg_check "policy missing: reason policy_missing" \
    grep -q "decision=deny image=\"$R/test/signed:v1\" .* reason=policy_missing " "$BLOG"
cp -R "$NOTATION/truststore" "$BROKEN/"
printf '{"version": "1.0", "trustPolicies": [ {"name": ' >"$BROKEN/trustpolicy.json"
sleep 1.2 # pullgate retries a failed load at most once a second
pull policy-malformed "$R/test/signed:v1"
pg_check "malformed policy: refused, saying so" \
    refused policy-malformed "not valid JSON" policy_invalid
pg_check "malformed policy: reason policy_invalid" \
    grep -q "decision=deny image=\"$R/test/signed:v1\" .* reason=policy_invalid " "$BLOG"
cp "$NOTATION/trustpolicy.json" "$BROKEN/trustpolicy.json"
sleep 1.2
pull policy-fixed "$R/test/signed:v1"
pg_check "policy fixed: the next pull is verified and allowed, no restart needed" \
    allowed policy-fixed

# ---- all three daemons still run and stop cleanly ----
pg_check "pullgate (enforce) is still running" pg_pid_alive "$PG_PULLGATE_PID"
# stops_cleanly PID: SIGTERM, then exit status 0 within 15 s (under ASan, 0
# also means no leak was found).
stops_cleanly()
{
    local i
    kill -TERM "$1" || return 1
    for ((i = 0; i < 150; i++)); do
        pg_pid_alive "$1" || break
        sleep 0.1
    done
    ! pg_pid_alive "$1" && wait "$1"
}
pg_check "pullgate (enforce) exits 0 on SIGTERM" stops_cleanly "$PG_PULLGATE_PID"
pg_check "pullgate (dry-run) exits 0 on SIGTERM" stops_cleanly "$DRY_PID"
pg_check "pullgate (policy loaded late) exits 0 on SIGTERM" stops_cleanly "$BROKEN_PID"
pg_finish
