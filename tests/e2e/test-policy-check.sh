#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# `pullgate policy check` on prepared notation directories: exit 0 and a
# summary for valid configurations, 1 naming the statement and the rule for
# an invalid policy or a broken trust store, 2 for usage errors and a missing
# policy. Runs the real binary; needs no registry or containerd.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

pg_require "$PG_PULLGATE"
pg_tmpdir

TP=$PG_VECTORS/notation/test/e2e/testdata/config/trustpolicies
E2E_CRT=$PG_VECTORS/notation/test/e2e/testdata/config/localkeys/e2e.crt
NG_STORES=$PG_VECTORS/notation-go/verifier/testdata/truststore
[ -d "$TP" ] || pg_skip "no notary vectors at $PG_VECTORS"
FAILS=0

# newdir NAME: a notation directory with the N-BASE trust store ca/e2e.
newdir()
{
    local d=$PG_TMP/$1

    mkdir -p "$d/truststore/x509/ca/e2e" || pg_die "cannot create $d"
    cp "$E2E_CRT" "$d/truststore/x509/ca/e2e/" || pg_die "cannot copy e2e.crt"
    printf '%s' "$d"
}

# expect NAME CODE STDOUT_PATTERN STDERR_PATTERN -- ARGS...: runs pullgate
# with ARGS and checks the exit code and (when not empty) fixed-string patterns.
expect()
{
    local name=$1 code=$2 out_pat=$3 err_pat=$4 rc
    shift 5
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
    if [ -n "$err_pat" ] && ! grep -qF -- "$err_pat" "$PG_TMP/$name.err"; then
        pg_log "FAIL: $name: stderr lacks: $err_pat"
        sed 's/^/    /' "$PG_TMP/$name.err" >&2
        FAILS=$((FAILS + 1))
        return
    fi
    pg_log "ok: $name"
}

check()
{
    "$PG_PULLGATE" policy check "$@"
}

# A valid configuration: summary and "policy is valid".
D=$(newdir base)
cp "$TP/trustpolicy.json" "$D/"
expect valid-base 0 'policy is valid' '' -- check --notation-dir "$D"
expect valid-summary 0 'trust store ca:e2e: 1 certificate' '' -- check --notation-dir="$D"
expect valid-level 0 'level: strict (integrity=enforce' '' -- check --notation-dir "$D"

# Overrides are shown as a custom level.
D=$(newdir override)
cp "$TP/override_permissive_trustpolicy.json" "$D/trustpolicy.json"
expect override 0 'level: custom, from permissive (integrity=enforce authenticity=log' '' \
    -- check --notation-dir "$D"

# Skip with the global scope is accepted, as notation accepts it, with a note.
D=$(newdir skip)
cp "$TP/skip_trustpolicy.json" "$D/trustpolicy.json"
expect skip-global 0 'note: level skip with scope "*"' '' -- check --notation-dir "$D"

# Invalid policies: exit 1 naming the statement and the rule.
while IFS='|' read -r file rule; do
    D=$(newdir "bad-${file%.json}")
    cp "$TP/$file" "$D/trustpolicy.json"
    expect "invalid-${file%.json}" 1 '' "$rule" -- check --notation-dir "$D"
done <<'EOF'
wildcard_plus_other_registry_scope_trustpolicy.json|trust policy statement "e2e" : registry scope "*" cannot be combined
malformed_registry_scope_trustpolicy.json|registry scope "localhost:5000\\test-repo" is not of the form registry/repository
malformed_trust_store_trustpolicy.json|trust store "ca:" has the name ""
overlapped_trusted_identity_trustpolicy.json|overlap
missing_state_trusted_identity_trustpolicy.json|mandatory attribute "ST"
multi_statements_with_the_same_registry_scope_trustpolicy.json|statement "e2e2" : registry scope "localhost:5000/test-repo8" is also used by statement "e2e"
override_integrity_for_permissive_trustpolicy.json|cannot change integrity
invalid_format_trustpolicy.json|not valid JSON
EOF

# A store the policy names but that does not exist, or does not load.
D=$(newdir nostore)
cp "$TP/invalid_trust_store_trustpolicy.json" "$D/trustpolicy.json"
expect missing-store 1 'trust store ca:invalid_store: ERROR' \
    'trust policy statement "e2e" : trust store ca:invalid_store' -- check --notation-dir "$D"
D=$(newdir junkstore)
cp "$TP/trustpolicy.json" "$D/"
printf 'not a certificate' >"$D/truststore/x509/ca/e2e/junk.pem"
expect junk-store 1 'policy is not usable: 1 trust store problem' 'trust store ca:e2e' \
    -- check --notation-dir "$D"

# trustpolicy.oci.json wins, even when broken; the legacy name alone works.
D=$(newdir oci)
cp "$TP/trustpolicy.json" "$D/trustpolicy.json"
printf '{"version":"2.0"}' >"$D/trustpolicy.oci.json"
expect oci-wins 1 '' 'trustpolicy.oci.json: trust policy version "2.0" is not supported' \
    -- check --notation-dir "$D"

# Symlinked policy files are refused.
D=$(newdir symlink)
cp "$TP/trustpolicy.json" "$D/real.json"
ln -s "$D/real.json" "$D/trustpolicy.json"
expect symlink 1 '' 'not a regular file' -- check --notation-dir "$D"

# The NG-A setup of notation-go: its policy and its trust stores.
D=$PG_TMP/ng-a
mkdir -p "$D" && cp -R "$NG_STORES" "$D/truststore" || pg_die "cannot copy the NG-A stores"
printf '%s' '{"version":"1.0","trustPolicies":[{"name":"test-statement-name","registryScopes":["registry.acme-rockets.io/software/net-monitor"],"signatureVerification":{"level":"strict"},"trustStores":["ca:valid-trust-store","signingAuthority:valid-trust-store"],"trustedIdentities":["x509.subject:CN=Notation Test Root,O=Notary,L=Seattle,ST=WA,C=US"]}]}' \
    >"$D/trustpolicy.json"
expect ng-a 0 'trusted identities: "x509.subject:CN=Notation Test Root,O=Notary,L=Seattle,ST=WA,C=US"' \
    '' -- check --notation-dir "$D"

# Without --notation-dir: $XDG_CONFIG_HOME/notation, else $HOME/.config/notation.
H=$PG_TMP/home
mkdir -p "$H/.config"
cp -R "$(newdir home-notation)" "$H/.config/notation"
cp "$TP/trustpolicy.json" "$H/.config/notation/"
expect default-home 0 "trust policy: $H/.config/notation/trustpolicy.json" '' \
    -- env -u XDG_CONFIG_HOME HOME="$H" "$PG_PULLGATE" policy check
mkdir -p "$PG_TMP/xdg"
expect default-xdg 2 '' "no trust policy in $PG_TMP/xdg/notation" \
    -- env XDG_CONFIG_HOME="$PG_TMP/xdg" HOME="$H" "$PG_PULLGATE" policy check

# Usage errors and a missing policy exit 2.
expect no-policy 2 '' 'no trust policy in' -- check --notation-dir "$PG_TMP/empty"
expect no-subcommand 2 '' "expected the subcommand 'check'" -- "$PG_PULLGATE" policy
expect bad-option 2 '' "unexpected argument '--bogus'" -- check --bogus
expect no-dir-value 2 '' '--notation-dir needs a directory' -- check --notation-dir
expect help 0 'usage: pullgate policy check' '' -- check --help

[ "$FAILS" = 0 ] || pg_die "$FAILS policy check case(s) failed"
pg_log "all policy check cases passed"
