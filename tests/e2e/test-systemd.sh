#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The systemd unit systemd/pullgate.service: `systemd-analyze verify` finds
# nothing to complain about, `systemd-analyze security` rates its exposure at
# most 2.0 with no capability left, docs/systemd.md shows the current report,
# and the unit's runtime directory is the directory of the default socket.
# Then the notify protocol of `pullgate serve` against a stand-in for
# systemd's notification socket (tests/tools/pg-notify-listen): READY=1 comes
# from the main process only once the CRI socket accepts connections,
# SIGHUP gives RELOADING=1 then READY=1, SIGTERM gives STOPPING=1 and exit 0.
# Needs no containerd and no running systemd.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

UNIT=$PG_SOURCE_DIR/systemd/pullgate.service
DOC=$PG_SOURCE_DIR/docs/systemd.md
LISTENER=$PG_BUILD_DIR/tests/pg-notify-listen
MAX_EXPOSURE=2.0

pg_require_tools systemd-analyze "$PG_PULLGATE" "$LISTENER"
pg_tmpdir

# The unit with ExecStart= pointing at the built binary, as verify checks
# that the program exists.
sed "s#/usr/bin/pullgate#$(realpath "$PG_PULLGATE")#" "$UNIT" >"$PG_TMP/pullgate.service" ||
    pg_die "cannot copy $UNIT"

verify_is_clean()
{
    systemd-analyze verify "$PG_TMP/pullgate.service" >"$PG_TMP/verify.out" 2>&1 &&
        ! [ -s "$PG_TMP/verify.out" ] || { sed 's/^/    /' "$PG_TMP/verify.out" >&2; return 1; }
}
pg_check "systemd-analyze verify accepts the unit without a warning" verify_is_clean

systemd-analyze security --offline=yes "$UNIT" >"$PG_TMP/security.out" 2>&1
SCORE=$(sed -n 's/.*Overall exposure level for pullgate.service: \([0-9.]*\).*/\1/p' \
    "$PG_TMP/security.out")

score_is_low()
{
    [ -n "$SCORE" ] && awk -v s="$SCORE" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }'
}
pg_check "exposure level $SCORE is at most $MAX_EXPOSURE" score_is_low

no_capability_left()
{
    ! grep -E '^✗ (CapabilityBoundingSet|AmbientCapabilities|NoNewPrivileges)' \
        "$PG_TMP/security.out" &&
        grep -q '^✓ CapabilityBoundingSet=~CAP_SYS_ADMIN' "$PG_TMP/security.out"
}
pg_check "no capability is left in the bounding set" no_capability_left

sandbox_is_on()
{
    local s
    for s in 'ProtectSystem=  *Service has strict read-only' 'ProtectHome=' 'PrivateDevices=' \
        'SystemCallFilter=~@privileged' 'SystemCallFilter=~@resources' 'MemoryDenyWriteExecute=' \
        'RestrictAddressFamilies=~AF_PACKET' 'RestrictAddressFamilies=~AF_NETLINK' 'UMask='; do
        grep -qE "^✓ $s" "$PG_TMP/security.out" || { pg_log "not set: $s"; return 1; }
    done
}
pg_check "the sandbox settings the unit claims are in effect" sandbox_is_on

doc_is_current()
{
    grep -qF "Overall exposure level for pullgate.service: $SCORE" "$DOC"
}
pg_check "docs/systemd.md shows the current security report" doc_is_current

runtime_dir_matches()
{
    local dir listen
    dir=$(sed -n 's/^RuntimeDirectory=//p' "$UNIT")
    listen=$("$PG_PULLGATE" config check --config /dev/null 2>/dev/null | sed -n 's/^listen = //p')
    [ -n "$dir" ] && [ "$(dirname "$listen")" = "/run/$dir" ]
}
pg_check "RuntimeDirectory= is the directory of the default listen socket" runtime_dir_matches

unit_has()
{
    grep -qxF "$1" "$UNIT"
}
pg_check "the unit is Type=notify, main process only" unit_has 'Type=notify'
pg_check "NotifyAccess=main" unit_has 'NotifyAccess=main'
pg_check "ExecStart runs serve from /usr/bin" unit_has 'ExecStart=/usr/bin/pullgate serve'
pg_check "reload is SIGHUP" unit_has 'ExecReload=/bin/kill -HUP $MAINPID'
pg_check "logs are tagged pullgate" unit_has 'SyslogIdentifier=pullgate'

# The notify protocol of the real binary.
NOTIFY=$PG_TMP/notify.sock
LISTEN=$PG_TMP/pullgate.sock
NOTATION=$(pg_notation_skip_dir)
pg_spawn notify "$LISTENER" "$NOTIFY" "$LISTEN"
pg_wait_until 10 "the notify listener" grep -q '^listening' "$PG_TMP/notify.log"
pg_spawn serve env NOTIFY_SOCKET="$NOTIFY" "$PG_PULLGATE" serve --listen "$LISTEN" \
    --upstream "$PG_TMP/no-containerd/containerd.sock" --notation-dir "$NOTATION" --drain-timeout-ms 2000
SERVE_PID=$PG_LAST_PID
pg_wait_until 30 "READY=1" grep -q 'READY=1' "$PG_TMP/notify.log"
sleep 0.2

ready_after_socket()
{
    grep -A1 -m1 'READY=1' "$PG_TMP/notify.log" | tail -n1 | grep -qx 'ready-check connect=ok'
}
pg_check "READY=1 arrives once the CRI socket accepts connections" ready_after_socket

from_main_pid()
{
    ! grep '^msg ' "$PG_TMP/notify.log" | grep -vq "^msg pid=$SERVE_PID "
}
pg_check "notifications come from the main process" from_main_pid

kill -HUP "$SERVE_PID"
pg_wait_until 20 "READY=1 after reload" \
    sh -c "grep '^msg' '$PG_TMP/notify.log' | sed -n '/RELOADING=1/,\$p' | grep -q READY=1"
pg_check "SIGHUP is announced as RELOADING=1, then READY=1" \
    sh -c "grep '^msg' '$PG_TMP/notify.log' | sed 's/^msg pid=[0-9]* //' | tr '\n' ' ' |
           grep -q '^READY=1 RELOADING=1 READY=1 $'"

kill -TERM "$SERVE_PID"
SERVE_RC=0
wait "$SERVE_PID" || SERVE_RC=$?
pg_check "SIGTERM is announced as STOPPING=1" grep -q 'STOPPING=1' "$PG_TMP/notify.log"
pg_check "serve exits 0 after SIGTERM (got $SERVE_RC)" test "$SERVE_RC" -eq 0

pg_finish
