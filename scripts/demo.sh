#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The pullgate demo, as root on Debian 12: installs the packages, builds into
# build/ when needed, then starts docker-registry, containerd and
# `pullgate serve` in a temporary directory (all removed on exit) and pulls
# four images through pullgate over the CRI:
#
#   signed       alpine, with its real notation signature (notation-go test data)
#   unsigned     a small image with no signature
#   untrusted    a small image signed by a CA the trust store does not hold
#   wrong-digest a small image carrying alpine's signature, which covers another digest
#
# It prints each decision, pullgate's decision log and what containerd holds
# afterwards. Exit 0 only when every outcome is the expected one; Ctrl-C
# stops it, removes everything and exits 130 without the logs a failure shows.
#
#   sudo ./scripts/demo.sh            PG_KEEP_TMP=1 keeps the temporary directory
set -u
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)

if [ "$(id -u)" -ne 0 ]; then
    echo "demo: run as root (containerd needs it): sudo $0" >&2
    exit 1
fi

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# Ctrl-C or SIGTERM is no failure: no log dump, just the cleanup and a word.
build_log=
# shellcheck disable=SC2317 # run by the traps
interrupted()
{
    PG_QUIET_EXIT=1
    [ -z "$build_log" ] || rm -f "$build_log"
    printf '\ndemo: interrupted; cleaning up\n' >&2
    exit "$1"
}
trap 'interrupted 130' INT
trap 'interrupted 143' TERM
run_started=$(date +%s)

say "installing packages (skipped when present)"
./scripts/install-deps.sh || exit 1

say "building pullgate and the test tools into build/"
build_log=$(mktemp /tmp/pg-demo-build.XXXXXX)
if { [ -f build/CMakeCache.txt ] ||
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo; } >"$build_log" 2>&1 &&
    cmake --build build -j"$(nproc)" --target pullgate pg-cri pg-push pg-testsign \
        >>"$build_log" 2>&1; then
    rm -f "$build_log"
    build_log=
else
    tail -n 40 "$build_log" >&2
    rm -f "$build_log"
    echo "demo: the build failed" >&2
    exit 1
fi

export PG_SOURCE_DIR=$root PG_BUILD_DIR=$root/build PG_VECTORS=$root/tests/vectors
# shellcheck source=tests/e2e/lib.sh
. "$root/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/demo-lib.sh
. "$root/tests/e2e/demo-lib.sh"

pg_require containerd docker-registry curl openssl base64 "$PG_CRI" "$PG_PUSH" "$PG_TESTSIGN"
pg_require_alpine
started=$(date +%s)
pg_tmpdir
# pg_tmpdir's traps would dump every log on Ctrl-C, as on a failure.
trap 'interrupted 130' INT
trap 'interrupted 143' TERM

say "starting docker-registry and containerd in $PG_TMP"
pg_start_registry
pg_start_containerd
R=$PG_REGISTRY

say "publishing four images to $R"
SIGNED=$R/demo/signed:v2
UNSIGNED=$R/demo/unsigned:v1
UNTRUSTED=$R/demo/untrusted:v1
WRONG=$R/demo/wrong-digest:v1
D_SIGNED=$(pg_publish_alpine demo/signed:v2) || pg_die "cannot publish $SIGNED"
D_UNSIGNED=$(pg_publish_small demo/unsigned:v1 unsigned) || pg_die "cannot publish $UNSIGNED"
pg_make_ca "$PG_TMP/untrusted-ca" || pg_die "cannot make the untrusted CA"
D_UNTRUSTED=$(pg_publish_small demo/untrusted:v1 untrusted "$PG_TMP/untrusted-ca") ||
    pg_die "cannot publish $UNTRUSTED"
D_WRONG=$(pg_publish_small demo/wrong-digest:v1 wrong) || pg_die "cannot publish $WRONG"
pg_attach_signature demo/wrong-digest "$D_WRONG" "$PG_ALPINE_SIG" >/dev/null ||
    pg_die "cannot attach alpine's signature to $WRONG"
printf '  %-44s %s\n' "$SIGNED" "$D_SIGNED  signed by notation (real envelope)" \
    "$UNSIGNED" "$D_UNSIGNED  no signature" \
    "$UNTRUSTED" "$D_UNTRUSTED  signed by a CA nobody trusts" \
    "$WRONG" "$D_WRONG  carries alpine's signature"

say "notation configuration: trust alpine's signing certificate"
NOTATION=$PG_TMP/notation
SUBJECT=$(pg_demo_notation "$NOTATION") || pg_die "cannot write the notation configuration"
echo "  $NOTATION/trustpolicy.json:"
sed 's/^/    /' "$NOTATION/trustpolicy.json"
echo "  $NOTATION/truststore/x509/ca/demo/: the certificate of $SUBJECT"

say "starting pullgate in front of containerd"
pg_start_pullgate --notation-dir "$NOTATION" --plain-http "$R"

# pull NAME IMAGE: PullImage through pullgate; the answer goes to NAME.out.
pull()
{
    "$PG_CRI" --socket "$PG_PROXY_SOCK" --timeout 60000 pull "$2" >"$PG_TMP/$1.out" 2>&1
}

# decision_field IMAGE FIELD: FIELD of the decision line logged for IMAGE.
decision_field()
{
    grep -F "image=\"$1\"" "$PG_TMP/pullgate.log" | grep -F 'decision=' | tail -n 1 |
        sed -e 's/ message=.*//' -e 's/^<[0-9]>//' | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# present IMAGE: containerd itself (not through pullgate) knows IMAGE.
present()
{
    "$PG_CRI" --socket "$PG_CONTAINERD_SOCK" inspecti "$1" 2>/dev/null | grep -q '"id": "sha256:'
}

say "pulling each image through pullgate (CRI PullImage on $PG_PROXY_SOCK)"
fails=0
rows=()
while read -r name image want_outcome want_reason; do
    pull "$name" "$image"
    got_outcome=$(decision_field "$image" decision)
    got_reason=$(decision_field "$image" reason)
    if grep -q '^code=7 message="SignatureValidationFailed: ' "$PG_TMP/$name.out"; then
        answer="PERMISSION_DENIED"
    elif grep -q '"image_ref": "sha256:' "$PG_TMP/$name.out"; then
        answer="pulled"
    else
        answer="$(head -c 60 "$PG_TMP/$name.out")"
    fi
    verdict=ok
    if [ "$got_outcome" != "$want_outcome" ] || [ "$got_reason" != "$want_reason" ]; then
        verdict=UNEXPECTED
    fi
    if [ "$want_outcome" = allow ] && [ "$answer" != pulled ]; then
        verdict=UNEXPECTED
    fi
    if [ "$want_outcome" = deny ] && [ "$answer" != PERMISSION_DENIED ]; then
        verdict=UNEXPECTED
    fi
    [ "$verdict" = ok ] || fails=$((fails + 1))
    rows+=("$(printf '%-24s %-7s %-18s %-26s %s' "${image#"$R"/}" "${got_outcome:--}" \
        "$answer" "${got_reason:--}" "$verdict")")
done <<EOF
signed $SIGNED allow ok
unsigned $UNSIGNED deny no_signature
untrusted $UNTRUSTED deny signature_untrusted
wrong-digest $WRONG deny signature_target_mismatch
EOF

say "decisions"
printf 'registry %s\n\n' "$R"
printf '%-24s %-7s %-18s %-26s %s\n' IMAGE OUTCOME "CRI ANSWER" REASON CHECK
printf '%s\n' "${rows[@]}"
echo
echo "  what kubelet would see for the refused pulls:"
for name in unsigned untrusted wrong-digest; do
    printf '    %s: %s\n' "$name" "$(cat "$PG_TMP/$name.out")"
done

say "pullgate's decision log (one line per pull)"
grep -F 'decision=' "$PG_TMP/pullgate.log" | sed 's/^/  /'

say "containerd afterwards (asked directly, not through pullgate)"
# check_store IMAGE present|absent: ImageStatus of IMAGE, counted when unexpected.
check_store()
{
    local got=absent verdict=ok
    present "$1" && got=present
    if [ "$got" != "$2" ]; then
        verdict=UNEXPECTED
        fails=$((fails + 1))
    fi
    printf '  %-8s %-66s %s\n' "$got" "$1" "$verdict"
}
check_store "$SIGNED" present
check_store "$R/demo/signed@$D_SIGNED" present
check_store "$UNSIGNED" absent
check_store "$R/demo/unsigned@$D_UNSIGNED" absent
check_store "$UNTRUSTED" absent
check_store "$R/demo/untrusted@$D_UNTRUSTED" absent
check_store "$WRONG" absent
check_store "$R/demo/wrong-digest@$D_WRONG" absent
echo "  ListImages (tags and digests):"
"$PG_CRI" --socket "$PG_CONTAINERD_SOCK" images | grep -F "\"$R/" | tr -d ' ",' |
    sed 's/^/    /'
if "$PG_CRI" --socket "$PG_CONTAINERD_SOCK" images |
    grep -qE 'demo/(unsigned|untrusted|wrong-digest)'; then
    echo "  UNEXPECTED: a refused image is listed"
    fails=$((fails + 1))
fi

now=$(date +%s)
timing="demo $((now - started))s, $((now - run_started))s with the install and build"
if [ "$fails" -ne 0 ]; then
    pg_die "$fails outcome(s) were not the expected ones ($timing)"
fi
say "every outcome as expected ($timing); cleaning up"
exit 0
