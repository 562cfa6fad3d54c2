#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# pullgate's entries in a real journal. A private systemd-journald runs in a
# private mount namespace (fresh /run/systemd, /run/log and
# /var/log/journal), so nothing reaches the host's journal. `pullgate serve`
# runs there with JOURNAL_STREAM set, as systemd sets it for a unit, and gets
# two pulls: one its policy skips, one it refuses because the registry does
# not answer. The journal must hold native entries with SYSLOG_IDENTIFIER=pullgate,
# the right PRIORITY, and the PULLGATE_* fields of each decision.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

JOURNALD=/lib/systemd/systemd-journald
E2E_CRT=$PG_VECTORS/notation/test/e2e/testdata/config/localkeys/e2e.crt
pg_require "$JOURNALD" journalctl unshare "$PG_PULLGATE" "$PG_CRI"
[ -f "$E2E_CRT" ] || pg_skip "no notary vectors at $PG_VECTORS"
pg_tmpdir

N=$PG_TMP/notation
mkdir -p "$N/truststore/x509/ca/e2e" && cp "$E2E_CRT" "$N/truststore/x509/ca/e2e/" ||
    pg_die "cannot prepare $N"
cat >"$N/trustpolicy.json" <<'EOF'
{
  "version": "1.0",
  "trustPolicies": [
    {"name": "skipped", "registryScopes": ["127.0.0.1:1/skipped"],
     "signatureVerification": {"level": "skip"}},
    {"name": "strict", "registryScopes": ["127.0.0.1:1/strict"],
     "signatureVerification": {"level": "strict"},
     "trustStores": ["ca:e2e"], "trustedIdentities": ["*"]}
  ]
}
EOF

# Runs inside the namespace: $1 the temporary directory, $2 pullgate, $3 pg-cri,
# $4 systemd-journald. Leaves the journal's entries as export files.
cat >"$PG_TMP/inner.sh" <<'EOF'
set -eu
T=$1 PULLGATE=$2 CRI=$3 JOURNALD=$4
mount -t tmpfs tmpfs /run/systemd
mkdir -p /run/log /var/log/journal
mount -t tmpfs tmpfs /run/log
mount -t tmpfs tmpfs /var/log/journal
"$JOURNALD" >"$T/journald.log" 2>&1 &
jpid=$!
trap 'kill -TERM $jpid 2>/dev/null; wait $jpid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    [ -S /run/systemd/journal/socket ] && break
    sleep 0.1
done
JOURNAL_STREAM=8:1 "$PULLGATE" serve --listen "$T/pg.sock" --upstream "$T/none/c.sock" \
    --notation-dir "$T/notation" --plain-http 127.0.0.1:1 --registry-timeout-ms 2000 \
    >"$T/serve.log" 2>&1 &
spid=$!
for _ in $(seq 1 100); do
    [ -S "$T/pg.sock" ] && break
    sleep 0.1
done
"$CRI" --socket "$T/pg.sock" --timeout 20000 pull 127.0.0.1:1/skipped:1 >"$T/pull-skip.out" || true
"$CRI" --socket "$T/pg.sock" --timeout 20000 pull 127.0.0.1:1/strict:1 >"$T/pull-deny.out" || true
kill -TERM "$spid"
wait "$spid"
for _ in $(seq 1 50); do
    journalctl -D /run/log/journal -o export SYSLOG_IDENTIFIER=pullgate >"$T/all.export" 2>/dev/null
    grep -q '^MESSAGE=serve: stopped' "$T/all.export" && break
    sleep 0.1
done
journalctl -D /run/log/journal -o export PULLGATE_DECISION=deny >"$T/deny.export"
journalctl -D /run/log/journal -o export PULLGATE_DECISION=skip >"$T/skip.export"
journalctl -D /run/log/journal -o export -t pullgate -p warning >"$T/warning.export"
EOF

unshare -m --propagation private bash "$PG_TMP/inner.sh" "$PG_TMP" "$PG_PULLGATE" "$PG_CRI" \
    "$JOURNALD" >"$PG_TMP/inner.log" 2>&1 || pg_die "the journal run failed"

# count FILE: how many entries an export file holds.
count()
{
    grep -c '^__CURSOR=' "$1"
}
# entry_has FILE FIELD=VALUE...: the (first) entry holds every field exactly.
entry_has()
{
    local file=$1 f
    shift
    for f in "$@"; do
        grep -qxF -- "$f" "$file" || { pg_log "$(basename "$file") lacks $f"; return 1; }
    done
}

pg_check "serve's messages are native entries tagged pullgate" \
    entry_has "$PG_TMP/all.export" '_TRANSPORT=journal' 'SYSLOG_IDENTIFIER=pullgate'
pg_check "the start message is at info" \
    sh -c "grep -B20 '^MESSAGE=serve: listening on' '$PG_TMP/all.export' | grep -qx 'PRIORITY=6'"
pg_check "one skip decision" test "$(count "$PG_TMP/skip.export")" -eq 1
pg_check "the skip decision has its fields, at info" entry_has "$PG_TMP/skip.export" \
    'PRIORITY=6' 'PULLGATE_IMAGE=127.0.0.1:1/skipped:1' 'PULLGATE_POLICY=skipped' \
    'PULLGATE_MODE=enforce' 'PULLGATE_REASON=ok'
pg_check "one deny decision" test "$(count "$PG_TMP/deny.export")" -eq 1
# The reason kubelet is told is the one in the journal.
REASON=$(sed -n 's/.*SignatureValidationFailed: \([a-z_]*\):.*/\1/p' "$PG_TMP/pull-deny.out")
pg_check "the refusal names a reason (${REASON:-none})" test -n "$REASON" -a "$REASON" != ok
pg_check "the deny decision has its fields, at warning" entry_has "$PG_TMP/deny.export" \
    'PRIORITY=4' 'PULLGATE_IMAGE=127.0.0.1:1/strict:1' "PULLGATE_REASON=$REASON" \
    'PULLGATE_POLICY=strict' 'PULLGATE_MODE=enforce' 'SYSLOG_IDENTIFIER=pullgate'
pg_check "the deny decision's message starts decision=deny" \
    grep -q '^MESSAGE=decision=deny image="127.0.0.1:1/strict:1"' "$PG_TMP/deny.export"
pg_check "the duration is a number" grep -qE '^PULLGATE_DURATION_MS=[0-9]+$' "$PG_TMP/deny.export"
pg_check "journalctl -t pullgate -p warning finds the refusal" \
    grep -q '^PULLGATE_DECISION=deny' "$PG_TMP/warning.export"
pg_check "entries carry no source location of the log sink" \
    sh -c "! grep -q '^CODE_FILE=' '$PG_TMP/all.export'"
pg_check "the refused pull was answered PermissionDenied or InvalidArgument" \
    grep -qE 'code=(7|3) ' "$PG_TMP/pull-deny.out"
pg_check "no message fell back to stderr" \
    sh -c "! grep -q '^<' '$PG_TMP/serve.log'"

pg_finish
