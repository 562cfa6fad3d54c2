#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# `pullgate config check` and the configuration files around it, with the
# real binary: exit 0 with every setting printed for a usable configuration,
# 1 naming the problem for a bad file, policy, CA bundle or upstream
# directory, 2 for bad flags; the output loads back as a file; the shipped
# systemd/pullgate.conf lists every key at its true default; the keys printed,
# documented in docs/configuration.md and listed in pullgate.conf are the
# same. Also `pullgate serve` refusing a missing --config file, and warning
# when its upstream does not answer.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

pg_require_tools "$PG_PULLGATE"
pg_tmpdir

CONF=$PG_SOURCE_DIR/systemd/pullgate.conf
DOC=$PG_SOURCE_DIR/docs/configuration.md
NOTATION=$(pg_notation_skip_dir)
mkdir -p "$PG_TMP/run/containerd"
# Flags that make a valid configuration on any machine.
OK_ARGS=(--notation-dir "$NOTATION" --upstream "$PG_TMP/run/containerd/containerd.sock"
    --listen "$PG_TMP/run/pullgate/pullgate.sock")

# expect NAME CODE STDOUT_PATTERN STDERR_PATTERN -- CMD...: runs CMD and checks
# its exit code and (when not empty) fixed-string patterns.
expect()
{
    local name=$1 code=$2 out_pat=$3 err_pat=$4 rc
    shift 5
    "$@" >"$PG_TMP/$name.out" 2>"$PG_TMP/$name.err"
    rc=$?
    if [ "$rc" != "$code" ] ||
        { [ -n "$out_pat" ] && ! grep -qF -- "$out_pat" "$PG_TMP/$name.out"; } ||
        { [ -n "$err_pat" ] && ! grep -qF -- "$err_pat" "$PG_TMP/$name.err"; }; then
        pg_log "FAIL - $name: exit $rc (want $code), stdout/stderr:"
        sed 's/^/    /' "$PG_TMP/$name.out" "$PG_TMP/$name.err" >&2
        PG_FAILS=$((PG_FAILS + 1))
        return
    fi
    pg_log "ok   - $name"
}

check()
{
    "$PG_PULLGATE" config check "$@"
}

expect valid 0 '# configuration is valid' '' -- check --config /dev/null "${OK_ARGS[@]}"
expect valid-prints-source 0 '# configuration file: /dev/null' '' \
    -- check --config /dev/null "${OK_ARGS[@]}"
expect flags-override 0 'workers = 9' '' -- check --config "$CONF" "${OK_ARGS[@]}" --workers=9
expect listen-dir-note 0 "# note: directory \"$PG_TMP/run/pullgate\" of listen" '' \
    -- check --config /dev/null "${OK_ARGS[@]}"

# Exit 1: the configuration cannot be used.
expect missing-config 1 '' 'cannot open configuration file' \
    -- check --config "$PG_TMP/absent.conf" "${OK_ARGS[@]}"
printf 'workers = 4\nworkers = lots\n' >"$PG_TMP/bad.conf"
expect bad-line 1 '' "bad.conf:2: workers: \"lots\" is not a whole number" \
    -- check --config "$PG_TMP/bad.conf" "${OK_ARGS[@]}"
printf 'colour = blue\n' >"$PG_TMP/unknown.conf"
expect unknown-key 1 '' 'unknown.conf:1: unknown setting "colour"' \
    -- check --config "$PG_TMP/unknown.conf" "${OK_ARGS[@]}"
mkdir -p "$PG_TMP/empty-notation"
expect no-policy 1 '# FAILED: trust policy and trust stores load' 'no trust policy' \
    -- check --config /dev/null "${OK_ARGS[@]}" --notation-dir "$PG_TMP/empty-notation"
mkdir -p "$PG_TMP/nostore"
printf '%s' '{"version":"1.0","trustPolicies":[{"name":"s","registryScopes":["*"],"signatureVerification":{"level":"strict"},"trustStores":["ca:missing"],"trustedIdentities":["*"]}]}' \
    >"$PG_TMP/nostore/trustpolicy.json"
expect missing-store 1 '# configuration is not valid: 1 problem' 'ca:missing' \
    -- check --config /dev/null "${OK_ARGS[@]}" --notation-dir "$PG_TMP/nostore"
printf 'not a certificate\n' >"$PG_TMP/junk.pem"
expect junk-ca 1 '# FAILED: registry CA bundle is readable' 'is not a readable PEM CA bundle' \
    -- check --config /dev/null "${OK_ARGS[@]}" --registry-ca-file "$PG_TMP/junk.pem"
expect absent-ca 1 '' "registry_ca_file \"$PG_TMP/absent.pem\": No such file" \
    -- check --config /dev/null "${OK_ARGS[@]}" --registry-ca-file "$PG_TMP/absent.pem"
CA=$PG_VECTORS/notation/test/e2e/testdata/config/localkeys/e2e.crt
if [ -f "$CA" ]; then
    expect good-ca 0 '# ok: registry CA bundle is readable' '' \
        -- check --config /dev/null "${OK_ARGS[@]}" --registry-ca-file "$CA"
fi
for host in '::1:5000' 'reg.test:99999' 'reg.test:0' '[::1' 'reg..test'; do
    printf 'plain_http = ok.test, %s\n' "$host" >"$PG_TMP/plain.conf"
    expect "plain-http-file-$host" 1 '' \
        "plain.conf:1: plain_http: \"$host\" is not a registry host[:port]" \
        -- check --config "$PG_TMP/plain.conf" "${OK_ARGS[@]}"
    expect "plain-http-flag-$host" 2 '' "plain_http: \"$host\" is not a registry host[:port]" \
        -- check --config /dev/null "${OK_ARGS[@]}" --plain-http "$host"
done
expect plain-http-good 0 'plain_http = [::1]:5000, 127.0.0.1:65535, reg.test, a-b.test:1' '' \
    -- check --config /dev/null "${OK_ARGS[@]}" \
    --plain-http '[::1]:5000, 127.0.0.1:65535, reg.test, a-b.test:1'
expect no-upstream-dir 1 '' "directory \"$PG_TMP/nowhere\" of upstream" \
    -- check --config /dev/null "${OK_ARGS[@]}" --upstream "$PG_TMP/nowhere/c.sock"

# Exit 2: usage.
expect unknown-flag 2 '' 'unknown setting "colour"' -- check "${OK_ARGS[@]}" --colour blue
expect no-value 2 '' '--workers needs a value' -- check "${OK_ARGS[@]}" --workers
expect bad-flag-value 2 '' 'is not a whole number' -- check "${OK_ARGS[@]}" --workers 0
expect stray-arg 2 '' 'unexpected argument "extra"' -- check "${OK_ARGS[@]}" extra
expect no-subcommand 2 '' "expected the subcommand 'check'" -- "$PG_PULLGATE" config
expect help 0 'usage: pullgate config check' '' -- check --help
expect serve-missing-config 2 '' 'cannot open configuration file' \
    -- "$PG_PULLGATE" serve --config "$PG_TMP/absent.conf" "${OK_ARGS[@]}"

# The output is a configuration file that gives the same settings again.
settings()
{
    grep -v '^#' "$1"
}
round_trip()
{
    check --config /dev/null "${OK_ARGS[@]}" --plain-http 'a.test:5000,b.test' --mode dry-run \
        --log-level debug --cache-ttl-ms 1000 >"$PG_TMP/first.conf" 2>/dev/null || return 1
    check --config "$PG_TMP/first.conf" >"$PG_TMP/second.out" 2>/dev/null
    diff <(settings "$PG_TMP/first.conf") <(settings "$PG_TMP/second.out") >&2
}
pg_check "the output of config check loads back to the same settings" round_trip

# The shipped file: every key commented out at its true default.
check --config /dev/null >"$PG_TMP/defaults.out" 2>/dev/null
settings "$PG_TMP/defaults.out" | sed 's/ =.*//' | sort >"$PG_TMP/keys.printed"
sed -n 's/^#\([a-z_]*\) =.*/\1/p' "$CONF" | sort >"$PG_TMP/keys.conf"
sed -n 's/^| `\([a-z_]*\)` |.*/\1/p' "$DOC" | sort >"$PG_TMP/keys.doc"

pg_check "the shipped pullgate.conf sets nothing" \
    sh -c "! grep -vE '^(#|\$)' '$CONF'"
pg_check "the shipped pullgate.conf lists every key printed" \
    diff "$PG_TMP/keys.printed" "$PG_TMP/keys.conf"
pg_check "docs/configuration.md documents every key printed" \
    diff "$PG_TMP/keys.printed" "$PG_TMP/keys.doc"
uncommented_are_defaults()
{
    sed 's/^#\([a-z_]* =\)/\1/' "$CONF" >"$PG_TMP/uncommented.conf"
    check --config "$PG_TMP/uncommented.conf" >"$PG_TMP/uncommented.out" 2>/dev/null
    diff <(settings "$PG_TMP/defaults.out") <(settings "$PG_TMP/uncommented.out") >&2
}
pg_check "every value in the shipped pullgate.conf is the true default" uncommented_are_defaults
doc_defaults_match()
{
    local key value doc
    while IFS= read -r line; do
        key=${line%% =*}
        value=${line#* =}
        value=${value# }
        doc=$(sed -n "s/^| \`$key\` | \`\\([^\`]*\\)\` |.*/\\1/p" "$DOC")
        if [ -n "$value" ] && [ "$doc" != "$value" ]; then
            pg_log "docs give $key the default '$doc', pullgate '$value'"
            return 1
        fi
    done < <(settings "$PG_TMP/defaults.out")
}
pg_check "the defaults in docs/configuration.md are pullgate's" doc_defaults_match

# serve with an upstream nobody answers on starts (the runtime may come
# later) but says so, naming the path.
mkdir -p "$PG_TMP/run/pullgate"
pg_spawn serve-no-upstream "$PG_PULLGATE" serve --config /dev/null "${OK_ARGS[@]}"
serve_pid=$PG_LAST_PID
pg_wait_proc "$serve_pid" 30 "pullgate serve without upstream" \
    test -S "$PG_TMP/run/pullgate/pullgate.sock"
pg_check "serve warns that its upstream does not answer" \
    grep -qF "upstream \"$PG_TMP/run/containerd/containerd.sock\" does not answer" \
    "$PG_TMP/serve-no-upstream.log"
kill -TERM "$serve_pid"
pg_check "serve without upstream exits 0 on SIGTERM" wait "$serve_pid"

pg_finish
