#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# What verification adds to a pull: CRI PullImage of one small signed image,
# straight to containerd and through `pullgate serve` (enforce mode), side by
# side in one run:
#
#   first     the image is not on the node (removed before each pull) and
#             pullgate has no cached decision (an instance with the cache off)
#   repeated  the image is on the node; pullgate verifies again (cache off)
#   cached    the image is on the node; pullgate answers from its decision
#             cache (an instance with the default cache settings)
#
# The paths alternate in each iteration, so a change in the machine's load
# hits all of them. Prints the median and p90 of each and what pullgate adds.
#
#   sudo PG_BUILD_DIR=build bench/bench-pull.sh [--iterations N]   (default 25)
#
# Each timing is one pg-cri process (start, connect, call), the same on every
# path. Starts its own docker-registry, containerd and pullgate through
# tests/e2e/lib.sh, all on loopback: registry latency is near zero here, so
# the added time is pullgate's own work plus loopback round trips.
set -u
PG_SOURCE_DIR=${PG_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
PG_VECTORS=${PG_VECTORS:-$PG_SOURCE_DIR/tests/vectors}
# shellcheck source=tests/e2e/lib.sh
. "$PG_SOURCE_DIR/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/demo-lib.sh
. "$PG_SOURCE_DIR/tests/e2e/demo-lib.sh"

iterations=25
while [ $# -gt 0 ]; do
    case $1 in
    --iterations)
        iterations=${2:-}
        shift 2
        ;;
    *)
        echo "usage: $0 [--iterations N]" >&2
        exit 2
        ;;
    esac
done
case $iterations in
'' | *[!0-9]*)
    echo "--iterations wants a number" >&2
    exit 2
    ;;
esac
[ "$iterations" -ge 2 ] || {
    echo "--iterations wants at least 2" >&2
    exit 2
}

pg_require containerd docker-registry curl "$PG_CRI" "$PG_PUSH" "$PG_TESTSIGN"
pg_pullgate_has_serve || pg_skip "$PG_PULLGATE has no working serve command"
pg_tmpdir
pg_start_registry
pg_start_containerd
pg_make_ca "$PG_TMP/ca" || pg_die "cannot make the signing CA"
pg_publish_small bench/hello:v1 bench "$PG_TMP/ca" >/dev/null || pg_die "cannot publish"
N=$PG_TMP/notation
pg_trust_store "$N" bench "$PG_TMP/ca/root/cert.pem" || pg_die "cannot write the store"
pg_trust_policy "$N" "$(pg_statement bench '"*"' '"ca:bench"' '"*"')" || pg_die "policy"
pg_start_pullgate --notation-dir "$N" --plain-http "$PG_REGISTRY" --log-level warning
UNCACHED=$PG_TMP/pullgate-nocache.sock
pg_spawn pullgate-nocache "$PG_PULLGATE" serve --listen "$UNCACHED" \
    --upstream "$PG_CONTAINERD_SOCK" --notation-dir "$N" --plain-http "$PG_REGISTRY" \
    --log-level warning --cache-max-entries 0
UNCACHED_PID=$PG_LAST_PID
pg_wait_proc "$UNCACHED_PID" 30 "pullgate without a cache on $UNCACHED" pg_cri_ready "$UNCACHED"
IMAGE=$PG_REGISTRY/bench/hello:v1
DIRECT=$PG_CONTAINERD_SOCK
CACHED=$PG_PROXY_SOCK

# timed SOCKET: one PullImage of $IMAGE on SOCKET; prints milliseconds (3 decimals).
timed()
{
    local t0 t1
    t0=$EPOCHREALTIME
    "$PG_CRI" --socket "$1" --timeout 60000 pull "$IMAGE" >/dev/null 2>&1 ||
        pg_die "pull of $IMAGE on $1 failed"
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }'
}

remove()
{
    "$PG_CRI" --socket "$DIRECT" rmi "$IMAGE" >/dev/null 2>&1 || pg_die "cannot remove $IMAGE"
}

# Warm-up: one pull each way, so the first sample pays no connection set-up
# that later ones do not.
timed "$DIRECT" >/dev/null
timed "$UNCACHED" >/dev/null
timed "$CACHED" >/dev/null

pg_log "$iterations iterations; containerd $(containerd --version | awk '{print $3}')," \
    "$(nproc) cpus"
for ((i = 0; i < iterations; i++)); do
    remove
    timed "$DIRECT" >>"$PG_TMP/first-direct"
    timed "$DIRECT" >>"$PG_TMP/repeated-direct"
    remove
    timed "$UNCACHED" >>"$PG_TMP/first-proxy"
    timed "$UNCACHED" >>"$PG_TMP/repeated-proxy"
    timed "$CACHED" >>"$PG_TMP/cached-proxy"
done
cp "$PG_TMP/repeated-direct" "$PG_TMP/cached-direct"

# pct FILE P: the P-th percentile (nearest rank) of the numbers in FILE.
pct()
{
    sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END {
        r = int((p / 100) * NR + 0.999999); if (r < 1) r = 1; print v[r] }'
}

printf '\nPullImage of %s (small signed image), %d pulls of each kind, ms\n\n' \
    "bench/hello:v1" "$iterations"
printf '%-22s %17s %17s %17s\n' "" "direct" "pullgate" "added"
printf '%-22s %8s %8s %8s %8s %8s %8s\n' "" p50 p90 p50 p90 p50 p90
for kind in first repeated cached; do
    d50=$(pct "$PG_TMP/$kind-direct" 50)
    d90=$(pct "$PG_TMP/$kind-direct" 90)
    p50=$(pct "$PG_TMP/$kind-proxy" 50)
    p90=$(pct "$PG_TMP/$kind-proxy" 90)
    case $kind in
    first) label="first (not on node)" ;;
    repeated) label="repeated (verified)" ;;
    cached) label="repeated (cached)" ;;
    esac
    awk -v l="$label" -v d50="$d50" -v d90="$d90" -v p50="$p50" -v p90="$p90" 'BEGIN {
        printf "%-22s %8.1f %8.1f %8.1f %8.1f %+8.1f %+8.1f\n",
            l, d50, d90, p50, p90, p50 - d50, p90 - d90 }'
done
echo
for pid in "$PG_PULLGATE_PID" "$UNCACHED_PID"; do
    pg_pid_alive "$pid" || pg_die "pullgate (pid $pid) died during the benchmark"
done
denied=$(cat "$PG_TMP/pullgate.log" "$PG_TMP/pullgate-nocache.log" | grep -c 'decision=deny')
[ "$denied" -eq 0 ] || pg_die "$denied pull(s) were refused; the numbers are not pulls"
exit 0
